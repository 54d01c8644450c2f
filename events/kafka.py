"""CloudEvents 1.0 Kafka protocol binding, binary content mode: envelope <-> record.

Encoding puts the JSON data in the value, ``content-type: application/json`` and one
``ce_<attribute>`` header per context attribute (UTF-8), and the project UUID in the
key. Decoding is the trust boundary of the consumer: it returns a fully validated,
typed envelope or raises ``DecodeError`` with a code and a specific, bounded reason.

Why not ``cloudevents.core.bindings.kafka``: its ``KafkaMessage.headers`` is a dict, so
duplicate headers (legal in Kafka) silently collapse instead of being rejected; its
JSON reader falls back to returning text or bytes on invalid JSON, which hides the
error we must report; it parses ``ce_time`` with dateutil (accepts far more than RFC
3339) and defaults unknown spec versions to 1.0; its errors are unrelated exception
types without a reason fit for a header. The binding itself is a dozen lines, so it is
written here; a test checks interoperability with the SDK in both directions.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from pydantic import ValidationError

from events.envelope import (
    MODEL_OF_TYPE,
    PROJECT_EVENT_TYPES,
    SPECVERSION,
    Envelope,
    EventType,
)
from events.errors import DecodeError, EncodeError, describe_validation, quote
from events.fields import UUID_PATTERN
from events.models import AnyEvent, ProjectEvent

MAX_VALUE_BYTES = 64 * 1024
MAX_HEADERS = 64
CONTENT_TYPE = "application/json"
CONTENT_TYPE_HEADER = "content-type"
CE_PREFIX = "ce_"
_ATTRIBUTE_LIMITS = {"id": 256, "source": 1024, "subject": 256}
_UUID_RE = re.compile(UUID_PATTERN)
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:Z|[+-]\d{2}:\d{2})$", re.IGNORECASE
)


@dataclass(frozen=True)
class KafkaRecord:
    """What goes to the producer: key, value and headers, all bytes."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC with a ``Z`` suffix (``2025-01-02T03:04:05.123456Z``)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def to_record(envelope: Envelope[Any]) -> KafkaRecord:
    """Encode an envelope; raises ``EncodeError`` when the value exceeds the limit."""
    value = envelope.data.model_dump_json().encode("utf-8")
    if len(value) > MAX_VALUE_BYTES:
        msg = f"value is {len(value)} bytes, limit {MAX_VALUE_BYTES}"
        raise EncodeError(msg)
    headers = [
        ("ce_specversion", SPECVERSION),
        ("ce_id", envelope.id),
        ("ce_source", envelope.source),
        ("ce_type", envelope.type.value),
        ("ce_time", format_time(envelope.time)),
    ]
    if envelope.subject is not None:
        headers.append(("ce_subject", envelope.subject))
    headers.append((CONTENT_TYPE_HEADER, CONTENT_TYPE))
    try:
        encoded = tuple((name, text.encode("utf-8")) for name, text in headers)
    except UnicodeEncodeError:
        raise EncodeError("an attribute is not encodable as UTF-8") from None
    return KafkaRecord(key=envelope.project_uuid.encode("utf-8"), value=value, headers=encoded)


def from_record(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> Envelope[AnyEvent]:
    """Decode any event of ours; raises ``DecodeError``."""
    return _decode(key, value, headers, frozenset(EventType))


def decode_project_event(
    key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]
) -> Envelope[ProjectEvent]:
    """Decode an input event; a session event type is an ``unexpected-type`` error."""
    return cast("Envelope[ProjectEvent]", _decode(key, value, headers, PROJECT_EVENT_TYPES))


def _decode(
    key: object, value: object, headers: object, allowed: Collection[EventType]
) -> Envelope[AnyEvent]:
    attrs = _read_headers(headers)
    _check_specversion(attrs)
    event_type = _event_type(attrs, allowed)
    _check_content_type(attrs)
    event_id, source = _attribute(attrs, "id"), _attribute(attrs, "source")
    subject = _optional_attribute(attrs, "subject")
    time = _parse_time(attrs)
    payload = _check_value(value)
    record_key = _check_key(key)
    data = _validate_data(MODEL_OF_TYPE[event_type], payload)
    uuid = data.project_uuid
    if record_key != uuid:
        msg = f"record key {quote(record_key)} does not match data.project_uuid '{uuid}'"
        raise DecodeError("key-mismatch", msg)
    if subject is not None and subject != uuid:
        msg = f"ce_subject {quote(subject)} does not match data.project_uuid '{uuid}'"
        raise DecodeError("subject-mismatch", msg)
    try:
        return Envelope(
            id=event_id, source=source, type=event_type, time=time, subject=subject, data=data
        )
    except ValidationError as error:  # defensive: every attribute was checked above
        raise DecodeError("invalid-header", describe_validation(error, "ce")) from None


def _read_headers(headers: object) -> dict[str, str]:
    """The ``ce_*`` and ``content-type`` headers as text; other headers are ignored."""
    if not isinstance(headers, Sequence):
        raise DecodeError("invalid-header", "headers are not a sequence of (name, value) pairs")
    if len(headers) > MAX_HEADERS:
        raise DecodeError("too-many-headers", f"{len(headers)} headers, limit {MAX_HEADERS}")
    attrs: dict[str, str] = {}
    for item in headers:
        if not (isinstance(item, tuple | list) and len(item) == 2 and isinstance(item[0], str)):
            raise DecodeError("invalid-header", "a header is not a (name, value) pair")
        name = item[0].lower()
        if not (name.startswith(CE_PREFIX) or name == CONTENT_TYPE_HEADER):
            continue
        if name in attrs:
            raise DecodeError("duplicate-header", f"header {quote(name)} appears more than once")
        attrs[name] = _header_text(name, item[1])
    return attrs


def _header_text(name: str, raw: object) -> str:
    if not isinstance(raw, bytes):
        raise DecodeError("invalid-header", f"header {quote(name)} has no bytes value")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError("invalid-header", f"header {quote(name)} is not UTF-8") from None


def _required(attrs: Mapping[str, str], header: str) -> str:
    if header not in attrs:
        raise DecodeError("missing-header", f"missing header {header}")
    return attrs[header]


def _check_specversion(attrs: Mapping[str, str]) -> None:
    version = _required(attrs, "ce_specversion")
    if version != SPECVERSION:
        msg = f"ce_specversion {quote(version)} is not supported (expected '{SPECVERSION}')"
        raise DecodeError("bad-specversion", msg)


def _event_type(attrs: Mapping[str, str], allowed: Collection[EventType]) -> EventType:
    raw = _required(attrs, "ce_type")
    try:
        event_type = EventType(raw)
    except ValueError:
        raise DecodeError(
            "unknown-type", f"ce_type {quote(raw)} is not a known event type"
        ) from None
    if event_type not in allowed:
        msg = f"ce_type '{event_type.value}' is not expected on this topic"
        raise DecodeError("unexpected-type", msg)
    return event_type


def _check_content_type(attrs: Mapping[str, str]) -> None:
    raw = _required(attrs, CONTENT_TYPE_HEADER)
    media_type = raw.split(";", 1)[0].strip().lower()
    if media_type != CONTENT_TYPE:
        msg = f"content-type {quote(raw)} is not supported (expected '{CONTENT_TYPE}')"
        raise DecodeError("bad-content-type", msg)


def _check_value(value: object) -> bytes:
    if value is None:
        raise DecodeError("missing-value", "record has no value")
    if not isinstance(value, bytes):
        raise DecodeError("missing-value", "record value is not bytes")
    if len(value) > MAX_VALUE_BYTES:
        raise DecodeError("oversize", f"value is {len(value)} bytes, limit {MAX_VALUE_BYTES}")
    return value


def _check_key(key: object) -> str:
    if key is None:
        raise DecodeError("bad-key", "record has no key (expected the project UUID)")
    if not isinstance(key, bytes):
        raise DecodeError("bad-key", "record key is not bytes")
    text = key.decode("utf-8", "replace")
    if _UUID_RE.fullmatch(text) is None:
        raise DecodeError("bad-key", f"record key {quote(key)} is not a canonical lowercase UUID")
    return text


def _validate_data(model: type[AnyEvent], payload: bytes) -> AnyEvent:
    try:
        return model.model_validate_json(payload)
    except ValidationError as error:
        errors = error.errors(include_input=False)
        if errors and errors[0]["type"] == "json_invalid":
            raise DecodeError("invalid-json", f"value is not JSON: {errors[0]['msg']}") from None
        raise DecodeError("invalid-data", describe_validation(error)) from None


def _optional_attribute(attrs: Mapping[str, str], name: str) -> str | None:
    header = CE_PREFIX + name
    text = attrs.get(header)
    if text is None:
        return None
    limit = _ATTRIBUTE_LIMITS[name]
    if not 1 <= len(text) <= limit:
        msg = f"{header} is {len(text)} characters, expected 1 to {limit}"
        raise DecodeError("invalid-header", msg)
    return text


def _attribute(attrs: Mapping[str, str], name: str) -> str:
    text = _optional_attribute(attrs, name)
    if text is None:
        raise DecodeError("missing-header", f"missing header {CE_PREFIX}{name}")
    return text


def _parse_time(attrs: Mapping[str, str]) -> datetime:
    raw = _required(attrs, "ce_time")
    if _RFC3339_RE.fullmatch(raw) is None:
        raise DecodeError("invalid-header", f"ce_time {quote(raw)} is not an RFC 3339 timestamp")
    try:
        return datetime.fromisoformat(raw.upper())
    except ValueError:
        raise DecodeError("invalid-header", f"ce_time {quote(raw)} is not a valid time") from None

"""CloudEvents Kafka binary codec: round trips, the wire layout, and every bad input
rejected with its code and a specific, bounded reason."""

from __future__ import annotations

import json
from typing import Any

import pytest
from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from events import (
    MAX_VALUE_BYTES,
    AnyEvent,
    ChartOverrides,
    DecodeError,
    EncodeError,
    Envelope,
    ProjectCreated,
    ProjectDeleted,
    SessionReady,
    dead_letter_headers,
    decode_project_event,
    from_record,
    new_envelope,
    to_record,
)
from events.errors import MAX_REASON_CHARS

Headers = list[tuple[str, bytes]]


def _record(data: AnyEvent) -> tuple[bytes, bytes, Headers]:
    record = to_record(new_envelope(data, source="urn:test"))
    return record.key, record.value, list(record.headers)


def _replace(headers: Headers, name: str, value: bytes | None) -> Headers:
    kept = [(n, v) for n, v in headers if n != name]
    return kept if value is None else [*kept, (name, value)]


def _decode_error(key: bytes | None, value: bytes | None, headers: Headers) -> DecodeError:
    with pytest.raises(DecodeError) as caught:
        from_record(key, value, headers)
    return caught.value


def test_every_event_round_trips(all_events: list[AnyEvent]) -> None:
    for data in all_events:
        envelope = new_envelope(data, source="urn:test")
        record = to_record(envelope)
        decoded = from_record(record.key, record.value, record.headers)
        assert decoded == envelope
        assert decoded.data == data
        assert type(decoded.data) is type(data)


def test_wire_layout_is_cloudevents_binary_mode(created: ProjectCreated) -> None:
    envelope = new_envelope(created, source="urn:test", event_id="evt-1")
    record = to_record(envelope)
    assert record.key == created.project_uuid.encode()
    assert dict(record.headers) == {
        "ce_specversion": b"1.0",
        "ce_id": b"evt-1",
        "ce_source": b"urn:test",
        "ce_type": b"io.devsessions.project.created.v1",
        "ce_time": envelope.time.isoformat().replace("+00:00", "Z").encode(),
        "ce_subject": created.project_uuid.encode(),
        "content-type": b"application/json",
    }
    assert json.loads(record.value)["project_uuid"] == created.project_uuid


def test_header_order_other_headers_and_charset_do_not_matter(created: ProjectCreated) -> None:
    key, value, headers = _record(created)
    headers = [("traceparent", b"00-abc-def-01"), *reversed(headers)]
    headers = _replace(headers, "content-type", b"application/json; charset=utf-8")
    assert from_record(key, value, headers).data == created


def test_subject_is_optional(deleted: ProjectDeleted) -> None:
    key, value, headers = _record(deleted)
    decoded = from_record(key, value, _replace(headers, "ce_subject", None))
    assert decoded.subject is None
    assert decoded.data == deleted


def test_decode_project_event_accepts_project_events(
    created: ProjectCreated, deleted: ProjectDeleted
) -> None:
    for data in (created, deleted):
        assert decode_project_event(*_record(data)).data == data


def test_decode_project_event_rejects_session_events(ready: SessionReady) -> None:
    with pytest.raises(DecodeError) as caught:
        decode_project_event(*_record(ready))
    assert caught.value.code == "unexpected-type"
    assert "io.devsessions.session.ready.v1" in caught.value.reason


@pytest.mark.parametrize(
    "header", ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"]
)
def test_missing_headers_are_named(deleted: ProjectDeleted, header: str) -> None:
    key, value, headers = _record(deleted)
    error = _decode_error(key, value, _replace(headers, header, None))
    assert (error.code, error.reason) == ("missing-header", f"missing header {header}")


@pytest.mark.parametrize(
    ("header", "raw", "code", "reason"),
    [
        ("ce_specversion", b"0.3", "bad-specversion", "ce_specversion '0.3' is not supported"),
        ("ce_type", b"x", "unknown-type", "ce_type 'x' is not a known event type"),
        ("ce_type", b"io.devsessions.project.created.v2", "unknown-type", "not a known event"),
        ("content-type", b"text/plain", "bad-content-type", "content-type 'text/plain' is not"),
        ("ce_time", b"2026-01-01T00:00:00", "invalid-header", "is not an RFC 3339 timestamp"),
        ("ce_time", b"yesterday", "invalid-header", "ce_time 'yesterday' is not an RFC 3339"),
        ("ce_time", b"2026-02-30T00:00:00Z", "invalid-header", "is not a valid time"),
        ("ce_id", b"", "invalid-header", "ce_id is 0 characters, expected 1 to 256"),
        ("ce_id", b"i" * 257, "invalid-header", "ce_id is 257 characters, expected 1 to 256"),
        ("ce_source", b"s" * 1025, "invalid-header", "ce_source is 1025 characters"),
        ("ce_type", b"\xff\xfe", "invalid-header", "header 'ce_type' is not UTF-8"),
        ("ce_subject", b"0" * 36, "subject-mismatch", "does not match data.project_uuid"),
    ],
)
def test_bad_headers_are_rejected_with_a_specific_reason(
    deleted: ProjectDeleted, header: str, raw: bytes, code: str, reason: str
) -> None:
    key, value, headers = _record(deleted)
    error = _decode_error(key, value, _replace(headers, header, raw))
    assert error.code == code
    assert reason in error.reason


def test_duplicate_attribute_headers_are_rejected(deleted: ProjectDeleted) -> None:
    key, value, headers = _record(deleted)
    error = _decode_error(key, value, [*headers, ("CE_TYPE", b"io.devsessions.project.deleted.v1")])
    assert (error.code, error.reason) == (
        "duplicate-header",
        "header 'ce_type' appears more than once",
    )


def test_too_many_headers_are_rejected(deleted: ProjectDeleted) -> None:
    key, value, headers = _record(deleted)
    error = _decode_error(key, value, headers + [("x-junk", b"")] * 100)
    assert error.code == "too-many-headers"


def test_oversize_values_are_rejected_with_their_size(deleted: ProjectDeleted) -> None:
    key, _, headers = _record(deleted)
    error = _decode_error(key, b" " * 70000, headers)
    assert (error.code, error.reason) == ("oversize", "value is 70000 bytes, limit 65536")


def test_tombstones_are_rejected(deleted: ProjectDeleted) -> None:
    key, _, headers = _record(deleted)
    assert _decode_error(key, None, headers).code == "missing-value"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        (None, "record has no key (expected the project UUID)"),
        (b"abc", "record key 'abc' is not a canonical lowercase UUID"),
        (b"\xff", "record key '\\xff' is not a canonical lowercase UUID"),
    ],
)
def test_bad_keys_are_rejected(deleted: ProjectDeleted, key: bytes | None, reason: str) -> None:
    _, value, headers = _record(deleted)
    error = _decode_error(key, value, headers)
    assert (error.code, error.reason) == ("bad-key", reason)


def test_uppercase_key_is_a_bad_key(deleted: ProjectDeleted) -> None:
    key, value, headers = _record(deleted)
    assert _decode_error(key.upper(), value, headers).code == "bad-key"


def test_key_must_match_the_project(deleted: ProjectDeleted) -> None:
    _, value, headers = _record(deleted)
    other = "00000000-0000-4000-8000-000000000000"
    error = _decode_error(other.encode(), value, headers)
    assert error.code == "key-mismatch"
    assert error.reason == (
        f"record key '{other}' does not match data.project_uuid '{deleted.project_uuid}'"
    )


@pytest.mark.parametrize(
    ("change", "code", "reason"),
    [
        ({"project_uuid": "0B5C1A2E-3F4D-4E5F-8A9B-0C1D2E3F4A5B"}, "invalid-data",
         "data.project_uuid: must be a canonical lowercase UUID"),
        ({"project_uuid": "not-a-uuid"}, "invalid-data",
         "data.project_uuid: must be a canonical lowercase UUID"),
        ({"project_id": "42"}, "invalid-data", "data.project_id: Input should be a valid integer"),
        ({"user_id": None}, "invalid-data", "data.user_id: Input should be a valid integer"),
        ({"created_at": 0}, "invalid-data", "data.created_at: Input should be a valid datetime"),
        ({"overrides": {"cpu": "1"}}, "invalid-data",
         "data.overrides.cpu: Extra inputs are not permitted"),
        ({"overrides": {"env": {"DEVSESSIONS_DB": "x"}}}, "invalid-data",
         "data.overrides.env.DEVSESSIONS_DB (key): must not start with the reserved prefix"),
    ],
)  # fmt: skip
def test_bad_data_is_rejected_with_the_field_named(
    created: ProjectCreated, change: dict[str, Any], code: str, reason: str
) -> None:
    key, value, headers = _record(created)
    payload = json.loads(value) | change
    error = _decode_error(key, json.dumps(payload).encode(), headers)
    assert error.code == code
    assert error.reason.startswith(reason)


def test_missing_fields_are_named(created: ProjectCreated) -> None:
    key, _, headers = _record(created)
    error = _decode_error(key, b"{}", headers)
    assert error.code == "invalid-data"
    assert error.reason.startswith("data.project_uuid: Field required; data.project_id: Field")
    assert error.reason.endswith("(and 1 more)")


@pytest.mark.parametrize(
    ("value", "code"),
    [(b"{", "invalid-json"), (b"\xff\xfe{}", "invalid-json"), (b"", "invalid-json"),
     (b"[]", "invalid-data"), (b'"text"', "invalid-data"), (b"null", "invalid-data")],
)  # fmt: skip
def test_values_that_are_not_a_json_object(
    deleted: ProjectDeleted, value: bytes, code: str
) -> None:
    key, _, headers = _record(deleted)
    error = _decode_error(key, value, headers)
    assert error.code == code


def test_reasons_are_bounded_single_lines_that_do_not_echo_the_input(
    deleted: ProjectDeleted,
) -> None:
    key, value, headers = _record(deleted)
    hostile = ("\n\x00é" + "x" * 50_000).encode()
    for candidate in (
        _decode_error(key, value, _replace(headers, "ce_type", hostile)),
        _decode_error(hostile, value, headers),
        _decode_error(key, value, _replace(headers, "ce_specversion", hostile)),
    ):
        assert len(candidate.reason) <= MAX_REASON_CHARS
        assert "x" * 100 not in candidate.reason
        assert "\n" not in candidate.reason
        assert "\x00" not in candidate.reason
        candidate.reason.encode("utf-8")


def test_encoding_refuses_values_over_the_limit(project_uuid: str, created: ProjectCreated) -> None:
    big = ChartOverrides(env={f"V{i}": "x" * 4096 for i in range(32)})
    data = ProjectCreated.model_validate(created.model_dump() | {"overrides": big})
    with pytest.raises(EncodeError, match=f"limit {MAX_VALUE_BYTES}"):
        to_record(new_envelope(data, source="urn:test"))


def test_dead_letter_headers_carry_code_reason_and_origin(deleted: ProjectDeleted) -> None:
    error = _decode_error(None, b"{}", _record(deleted)[2])
    headers = dict(
        dead_letter_headers(
            code=error.code, reason=error.reason, topic="in", partition=3, offset=17
        )
    )
    assert headers == {
        "dlq_reason": error.reason.encode(),
        "dlq_code": b"bad-key",
        "dlq_source_topic": b"in",
        "dlq_source_partition": b"3",
        "dlq_source_offset": b"17",
    }


def test_the_cloudevents_sdk_reads_our_records(created: ProjectCreated) -> None:
    envelope = new_envelope(created, source="urn:test")
    record = to_record(envelope)
    message = ce_kafka.KafkaMessage(
        headers=dict(record.headers), key=record.key, value=record.value
    )
    event = ce_kafka.from_binary(message, JSONFormat(), CloudEvent)
    assert event.get_id() == envelope.id
    assert event.get_type() == envelope.type.value
    assert event.get_source() == envelope.source
    assert event.get_time() == envelope.time
    assert event.get_data() == json.loads(record.value)


def test_we_read_records_written_by_the_cloudevents_sdk(deleted: ProjectDeleted) -> None:
    event = CloudEvent(
        attributes={
            "type": "io.devsessions.project.deleted.v1",
            "source": "urn:sdk",
            "subject": deleted.project_uuid,
            "datacontenttype": "application/json",
        },
        data=json.loads(deleted.model_dump_json()),
    )
    message = ce_kafka.to_binary(event, JSONFormat(), key_mapper=lambda e: e.get_subject())
    key = message.key.encode() if isinstance(message.key, str) else message.key
    decoded: Envelope[AnyEvent] = from_record(key, message.value, list(message.headers.items()))
    assert (decoded.id, decoded.source, decoded.data) == (event.get_id(), "urn:sdk", deleted)


def test_headers_as_lists_of_pairs_are_accepted(deleted: ProjectDeleted) -> None:
    key, value, headers = _record(deleted)
    as_lists: Any = [[name, raw] for name, raw in headers]
    assert from_record(key, value, as_lists).data == deleted


@pytest.mark.parametrize("headers", [None, b"ce_id", [("ce_id",)], [(b"ce_id", b"1")]])
def test_malformed_header_containers_are_invalid_headers(
    deleted: ProjectDeleted, headers: Any
) -> None:
    key, value, _ = _record(deleted)
    assert _decode_error(key, value, headers).code == "invalid-header"

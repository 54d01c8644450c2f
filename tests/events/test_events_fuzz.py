"""Property tests: decoding never fails with anything but ``DecodeError`` (whose reason
is always a bounded single line), and valid events always survive the round trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import (
    AnyEvent,
    DecodeError,
    ProjectCreated,
    ProjectDeleted,
    decode_project_event,
    from_record,
    new_envelope,
    to_record,
)
from events.errors import CODES, MAX_REASON_CHARS

UUID = "0b5c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"
VALID = to_record(
    new_envelope(
        ProjectCreated(project_uuid=UUID, project_id=1, user_id=2, created_at=datetime.now(UTC)),
        source="urn:fuzz",
    )
)
ATTRIBUTE_HEADERS = [name for name, _ in VALID.headers]

header_names = st.one_of(st.sampled_from(ATTRIBUTE_HEADERS), st.text(max_size=20))
headers = st.lists(st.tuples(header_names, st.binary(max_size=64)), max_size=12)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=20,
)


def _minutes(count: int) -> timedelta:
    return timedelta(minutes=count)


fast = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _error_of(decode: Callable[..., object], key: Any, value: Any, hdrs: Any) -> DecodeError | None:
    try:
        decode(key, value, hdrs)
    except DecodeError as error:
        return error
    return None


def _decodes_or_explains(key: Any, value: Any, record_headers: Any) -> None:
    for decode in (from_record, decode_project_event):
        error = _error_of(decode, key, value, record_headers)
        if error is not None:
            assert error.code in CODES
            assert 0 < len(error.reason) <= MAX_REASON_CHARS
            assert error.reason.isprintable()
            error.reason.encode("utf-8")


@fast
@given(st.none() | st.binary(max_size=64), st.none() | st.binary(max_size=512), headers)
def test_arbitrary_records_never_raise_anything_else(
    key: bytes | None, value: bytes | None, record_headers: list[tuple[str, bytes]]
) -> None:
    _decodes_or_explains(key, value, record_headers)


@fast
@given(st.binary(max_size=512))
def test_arbitrary_values_with_valid_headers(value: bytes) -> None:
    _decodes_or_explains(VALID.key, value, VALID.headers)


@fast
@given(st.sampled_from(ATTRIBUTE_HEADERS), st.binary(max_size=300))
def test_one_arbitrary_attribute_header(name: str, raw: bytes) -> None:
    mutated = [(n, raw if n == name else v) for n, v in VALID.headers]
    _decodes_or_explains(VALID.key, VALID.value, mutated)


@fast
@given(
    st.sampled_from(["project_uuid", "project_id", "user_id", "overrides", "created_at"]),
    json_values,
)
def test_arbitrary_json_in_one_field(field: str, replacement: Any) -> None:
    payload = json.loads(VALID.value) | {field: replacement}
    _decodes_or_explains(VALID.key, json.dumps(payload).encode(), VALID.headers)


@fast
@given(json_values)
def test_arbitrary_json_documents(document: Any) -> None:
    _decodes_or_explains(VALID.key, json.dumps(document).encode(), VALID.headers)


@fast
@given(
    st.none() | st.integers(min_value=0, max_value=2**63 - 1),
    st.datetimes(
        min_value=datetime(1970, 1, 2),
        max_value=datetime(9999, 12, 30),
        timezones=st.builds(
            timezone, st.integers(min_value=-23 * 60, max_value=23 * 60).map(_minutes)
        ),
    ),
    st.uuids(),
    st.text(min_size=1, max_size=256),
    st.text(min_size=1, max_size=1024),
)
def test_valid_events_always_round_trip(
    number: int | None, moment: datetime, project: Any, event_id: str, source: str
) -> None:
    data: AnyEvent = ProjectDeleted(project_uuid=str(project), deleted_at=moment)
    if number is not None:
        data = ProjectCreated(
            project_uuid=str(project), project_id=number, user_id=number, created_at=moment
        )
    envelope = new_envelope(data, source=source, event_id=event_id, time=moment)
    record = to_record(envelope)
    assert from_record(record.key, record.value, record.headers) == envelope

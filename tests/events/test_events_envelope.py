"""Envelope construction and event identity (uuid4 by default, uuid5 when derived)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from events import (
    AnyEvent,
    Envelope,
    EventType,
    ProjectCreated,
    ProjectDeleted,
    derive_event_id,
    new_envelope,
)

EXPECTED_TYPES = [
    EventType.PROJECT_CREATED,
    EventType.PROJECT_DELETED,
    EventType.SESSION_READY,
    EventType.SESSION_DELETED,
    EventType.SESSION_FAILED,
]


def test_type_names_are_versioned_and_distinct() -> None:
    values = [t.value for t in EventType]
    assert len(set(values)) == len(values) == 5
    assert all(v.startswith("io.devsessions.") and v.endswith(".v1") for v in values)


def test_new_envelope_takes_type_from_data_and_defaults_id_time_subject(
    all_events: list[AnyEvent],
) -> None:
    for data, expected_type in zip(all_events, EXPECTED_TYPES, strict=True):
        before = datetime.now(UTC)
        envelope = new_envelope(data, source="urn:test")
        assert envelope.type is expected_type
        assert uuid.UUID(envelope.id).version == 4
        assert before <= envelope.time <= datetime.now(UTC)
        assert envelope.subject == data.project_uuid == envelope.project_uuid
        assert envelope.specversion == "1.0"


def test_new_envelope_keeps_explicit_id_and_time(deleted: ProjectDeleted) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=5)
    envelope = new_envelope(deleted, source="urn:test", event_id="evt-1", time=moment)
    assert (envelope.id, envelope.time) == ("evt-1", moment)


def test_envelope_rejects_type_that_does_not_match_data(deleted: ProjectDeleted) -> None:
    with pytest.raises(ValidationError, match="does not match data"):
        Envelope(
            id="1",
            source="urn:test",
            type=EventType.PROJECT_CREATED,
            time=datetime.now(UTC),
            data=deleted,
        )


@pytest.mark.parametrize(
    ("field", "value"),
    [("id", ""), ("id", "i" * 257), ("source", ""), ("source", "s" * 1025), ("subject", "")],
)
def test_envelope_attributes_are_bounded(deleted: ProjectDeleted, field: str, value: str) -> None:
    good = new_envelope(deleted, source="urn:test")
    with pytest.raises(ValidationError):
        Envelope.model_validate(good.model_dump() | {field: value, "data": deleted})


def test_envelope_requires_aware_time(deleted: ProjectDeleted) -> None:
    with pytest.raises(ValidationError):
        new_envelope(deleted, source="urn:test", time=datetime(2026, 1, 1))


def test_derived_ids_are_deterministic_uuid5(created: ProjectCreated) -> None:
    cause = new_envelope(created, source="urn:upstream", event_id="evt-7")
    again = new_envelope(created, source="urn:upstream", event_id="evt-7")
    derived = derive_event_id(cause, "session.ready")
    assert derived == derive_event_id(again, "session.ready")
    assert uuid.UUID(derived).version == 5


def test_derived_ids_differ_by_kind_id_and_source(created: ProjectCreated) -> None:
    base = new_envelope(created, source="urn:upstream", event_id="evt-7")
    other_id = new_envelope(created, source="urn:upstream", event_id="evt-8")
    other_source = new_envelope(created, source="urn:elsewhere", event_id="evt-7")
    ids = {
        derive_event_id(base, "session.ready"),
        derive_event_id(base, "session.failed"),
        derive_event_id(other_id, "session.ready"),
        derive_event_id(other_source, "session.ready"),
    }
    assert len(ids) == 4


def test_derived_ids_cannot_collide_by_moving_a_separator(created: ProjectCreated) -> None:
    first = new_envelope(created, source="urn:a\nb", event_id="c")
    second = new_envelope(created, source="urn:a", event_id="b\nc")
    assert derive_event_id(first, "k") != derive_event_id(second, "k")


@dataclass(frozen=True)
class _StoredCause:
    id: str
    source: str


def test_derived_ids_need_only_the_causes_id_and_source(created: ProjectCreated) -> None:
    cause = new_envelope(created, source="urn:upstream", event_id="evt-7")
    stored = _StoredCause(id="evt-7", source="urn:upstream")
    assert derive_event_id(stored, "session.ready") == derive_event_id(cause, "session.ready")


def test_envelope_time_is_kept_in_utc(deleted: ProjectDeleted) -> None:
    local = datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    envelope = new_envelope(deleted, source="urn:test", time=local)
    assert envelope.time == local
    assert envelope.time.utcoffset() == timedelta(0)

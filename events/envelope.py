"""The CloudEvents 1.0 envelope around an event payload, and event identity.

An ``Envelope`` holds the context attributes (id, source, type, time, subject) and the
typed ``data``. The ``type`` is versioned and always agrees with the class of ``data``
(checked on construction). ``source`` + ``id`` identify an event (CloudEvents spec), so
events the service emits in answer to another event get ids *derived* from their
cause: a republished duplicate carries the same id and is recognisable downstream.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Generic, Literal, Protocol, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from events.models import (
    AnyEvent,
    ProjectCreated,
    ProjectDeleted,
    SessionDeleted,
    SessionFailed,
    SessionReady,
)

SPECVERSION: Literal["1.0"] = "1.0"
# Namespace of derived event ids: uuid5(URL, "urn:devsessions:event-id").
EVENT_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:devsessions:event-id")


class EventType(StrEnum):
    """Versioned CloudEvents ``type`` values; a breaking change gets a new version."""

    PROJECT_CREATED = "io.devsessions.project.created.v1"
    PROJECT_DELETED = "io.devsessions.project.deleted.v1"
    SESSION_READY = "io.devsessions.session.ready.v1"
    SESSION_DELETED = "io.devsessions.session.deleted.v1"
    SESSION_FAILED = "io.devsessions.session.failed.v1"


MODEL_OF_TYPE: dict[EventType, type[AnyEvent]] = {
    EventType.PROJECT_CREATED: ProjectCreated,
    EventType.PROJECT_DELETED: ProjectDeleted,
    EventType.SESSION_READY: SessionReady,
    EventType.SESSION_DELETED: SessionDeleted,
    EventType.SESSION_FAILED: SessionFailed,
}
TYPE_OF_MODEL: dict[type[AnyEvent], EventType] = {m: t for t, m in MODEL_OF_TYPE.items()}
PROJECT_EVENT_TYPES = frozenset({EventType.PROJECT_CREATED, EventType.PROJECT_DELETED})
SESSION_EVENT_TYPES = frozenset(MODEL_OF_TYPE) - PROJECT_EVENT_TYPES

E = TypeVar("E", bound=AnyEvent)


class Envelope(BaseModel, Generic[E]):
    """CloudEvents context attributes plus the typed payload."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    specversion: Literal["1.0"] = SPECVERSION
    id: str = Field(min_length=1, max_length=256)
    source: str = Field(min_length=1, max_length=1024)
    type: EventType
    time: AwareDatetime
    subject: str | None = Field(default=None, min_length=1, max_length=256)
    data: E

    @field_validator("time")
    @classmethod
    def _utc(cls, moment: datetime) -> datetime:
        # RFC 3339 offsets have minute resolution; UTC keeps the instant exact on the wire.
        return moment.astimezone(UTC)

    @model_validator(mode="after")
    def _type_matches_data(self) -> Envelope[E]:
        expected = event_type_of(self.data)
        if self.type is not expected:
            msg = f"type {self.type.value} does not match data of type {expected.value}"
            raise ValueError(msg)
        return self

    @property
    def project_uuid(self) -> str:
        """The project the event is about; also the Kafka record key."""
        return self.data.project_uuid


def event_type_of(data: AnyEvent) -> EventType:
    """The CloudEvents type of a payload."""
    return TYPE_OF_MODEL[type(data)]


def new_envelope(
    data: E,
    *,
    source: str,
    event_id: str | None = None,
    time: datetime | None = None,
) -> Envelope[E]:
    """Wrap ``data``: type from its class, a uuid4 id and the current UTC time by default."""
    return Envelope(
        id=event_id if event_id is not None else str(uuid.uuid4()),
        source=source,
        type=event_type_of(data),
        time=time if time is not None else datetime.now(UTC),
        subject=data.project_uuid,
        data=data,
    )


class EventIdentity(Protocol):
    """What identifies an event: an ``Envelope``, or a stored (id, source) of one."""

    @property
    def id(self) -> str: ...

    @property
    def source(self) -> str: ...


def derive_event_id(cause: EventIdentity, kind: str) -> str:
    """Deterministic id of the event of ``kind`` caused by ``cause`` (an envelope, or
    anything else with its ``id`` and ``source``, e.g. a row remembering them).

    uuid5 over the JSON array ``[cause.source, cause.id, kind]`` (JSON, so no choice of
    separator can make two different triples collide).
    """
    name = json.dumps([cause.source, cause.id, kind], ensure_ascii=True)
    return str(uuid.uuid5(EVENT_ID_NAMESPACE, name))

"""The session aggregate as the domain sees it: states, positions in the log, endpoints.

``SessionState`` is an immutable snapshot of one row of the ``sessions`` table; decisions
return new snapshots (via ``dataclasses.replace``) and the ``Sessions`` repository
persists them.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime
from typing import Any


class Status(enum.StrEnum):
    """Where a session stands; ``running`` is the design's ready state."""

    PENDING = "pending"
    PROVISIONING = "provisioning"
    RUNNING = "running"
    DELETING = "deleting"
    DELETED = "deleted"
    FAILED = "failed"


# A session in one of these, at its current generation, has nothing left to do.
CONVERGED_STATUSES = frozenset({Status.RUNNING, Status.DELETED, Status.FAILED})


class Desired(enum.StrEnum):
    """What the log asks for: the project exists, or it was deleted."""

    PRESENT = "present"
    ABSENT = "absent"


class EndReason(enum.StrEnum):
    """Why a session is wanted absent: the project was deleted, or its expiry passed
    without renewal. ``SessionDeleted`` says which (its ``reason``)."""

    DELETED = "deleted"
    EXPIRED = "expired"


@dataclasses.dataclass(frozen=True, order=True)
class LogPosition:
    """Where an event sits in the input log: topic incarnation, partition, offset.

    ``topic_id`` is Kafka's id of the topic the record was read from (None when it is
    not known, e.g. marks written before ids were recorded).
    """

    partition: int
    offset: int
    topic_id: str | None = None

    def is_after(self, other: LogPosition | None, *, home: int | None = None) -> bool:
        """True when this event comes later in the log than ``other`` (the high-water mark).

        The rules (docs/architecture.md, "The high-water mark and log epochs"):

        - another topic id is a new epoch of the log (the topic was deleted and created
          again; its offsets started over): the event is newer, the mark moves to it;
        - within one epoch and one partition, offsets compare;
        - within one epoch but another partition, partitions were added and the project's
          key moved: ``home`` is the partition the key maps to now. An event outside the
          home partition, while the mark already is in it, is older (left behind in the
          old partition); any other case is taken as newer. Without ``home`` (unknown
          partition count) the event is taken as newer, as the log is the source of
          truth and refusing it could wedge the project.
        """
        if other is None:
            return True
        if self.topic_id and other.topic_id and self.topic_id != other.topic_id:
            return True
        if other.partition == self.partition:
            return self.offset > other.offset
        if home is None:
            return True
        return not (other.partition == home and self.partition != home)


@dataclasses.dataclass(frozen=True)
class TopicEpoch:
    """Which incarnation of a topic a record was read from, and how many partitions it has.

    ``topic_id`` is the id Kafka gave the topic at creation (None when unknown); deleting
    and re-creating the topic gives a new one, and its offsets start over.
    """

    topic_id: str | None
    partitions: int


@dataclasses.dataclass(frozen=True)
class Cause:
    """The input event that last changed what is desired; output ids derive from it.

    ``id`` and ``source`` are the CloudEvents attributes, unique together by spec.
    """

    id: str
    source: str


@dataclasses.dataclass(frozen=True)
class Endpoints:
    """Where a running session is reached, as published in ``SessionReady``."""

    ip_address: str
    preview_url: str
    preview_path: str
    chat_url: str
    chat_path: str
    vscode_url: str
    vscode_path: str
    preview_internal_url: str
    chat_internal_url: str
    vscode_internal_url: str


ENDPOINT_FIELDS = tuple(field.name for field in dataclasses.fields(Endpoints))
"""The endpoint field names, in order: the one definition that columns, rows, views and
``SessionReady`` are built from (the wire model in ``events`` is checked against it)."""


def endpoint_values(endpoints: Endpoints | None) -> dict[str, str | None]:
    """Every endpoint field by name; all None for a session without endpoints."""
    return {name: getattr(endpoints, name) if endpoints else None for name in ENDPOINT_FIELDS}


# The fields the reconciler writes; intake owns the rest. Writes of these are
# conditional on the generation they were decided for (see ``Sessions.save_outcome``).
RECONCILER_FIELDS = (
    "status",
    "observed_generation",
    "endpoints",
    "ready_at",
    "deleted_at",
    "expires_at",
    "attempts",
    "retries",
    "last_error",
    "next_attempt_at",
    "updated_at",
)


@dataclasses.dataclass(frozen=True)
class SessionState:
    """One project's session: desired state, observed state and bookkeeping."""

    project_uuid: str
    project_id: int
    user_id: int
    namespace: str
    release_name: str
    status: Status
    desired: Desired
    generation: int
    observed_generation: int
    high_water: LogPosition | None
    cause: Cause
    overrides: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    expires_at: datetime
    endpoints: Endpoints | None = None
    ready_at: datetime | None = None
    deleted_at: datetime | None = None
    attempts: int = 0
    retries: int = 0  # manual retries of a failed session (``devsessions sessions retry``)
    last_error: str | None = None
    next_attempt_at: datetime | None = None
    end_reason: EndReason | None = None  # set while ``desired`` is absent
    id: int | None = None

    @property
    def converged(self) -> bool:
        """True when nothing is left to do for this session."""
        if self.observed_generation < self.generation:
            return False
        return self.status in CONVERGED_STATUSES

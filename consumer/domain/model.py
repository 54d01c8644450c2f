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


class Desired(enum.StrEnum):
    """What the log asks for: the project exists, or it was deleted."""

    PRESENT = "present"
    ABSENT = "absent"


@dataclasses.dataclass(frozen=True, order=True)
class LogPosition:
    """Where an event sits in the input log; order within one partition is log order."""

    partition: int
    offset: int

    def is_after(self, other: LogPosition | None) -> bool:
        """True when this event comes later in the log than ``other``.

        A project's events share a partition (the record key is the project UUID), so
        offsets compare. Should the partition differ (the topic was re-partitioned), the
        positions are not comparable and the event is taken as newer: the log is the
        source of truth and refusing it would wedge the project forever.
        """
        if other is None or other.partition != self.partition:
            return True
        return self.offset > other.offset


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
    id: int | None = None

    @property
    def converged(self) -> bool:
        """True when nothing is left to do for this session."""
        if self.observed_generation < self.generation:
            return False
        return self.status in (Status.RUNNING, Status.DELETED, Status.FAILED)

"""Narrow interfaces the HTTP API needs: session reads, change notifications, intents.

Kept apart from ``consumer.ports`` (the service layer's ports) because the API reads
sessions and publishes intent but never writes session state, with one exception: the
owner opening a session is evidence that the project lives, which renews its expiry
(``SessionRenewals``, one column, never pulled in). Adapters: PostgreSQL
reads and LISTEN/NOTIFY in ``consumer.adapters.db``, the input-topic publisher in
``consumer.adapters.kafka_intents``; unit tests use fakes. Only ``consumer.bootstrap``
chooses implementations.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Protocol

from consumer.domain.model import SessionState, Status
from events import ProjectCreated, ProjectDeleted


class SessionReads(Protocol):
    """Sessions as the API shows them (read-only)."""

    async def by_project(self, project_uuid: str) -> SessionState | None: ...

    async def by_id(self, session_id: int) -> SessionState | None: ...

    async def page(
        self, *, status: Status | None, after_id: int, limit: int
    ) -> list[SessionState]: ...


class Watch(Protocol):
    """One subscriber's view of a project's change notifications."""

    async def changed(self, timeout: float) -> bool:
        """True when the project may have changed (re-read it), False on timeout."""
        ...


class SessionChanges(Protocol):
    """Change notifications from PostgreSQL, whichever replica made the change."""

    def watch(self, project_uuid: str) -> contextlib.AbstractAsyncContextManager[Watch]: ...


class IntentLog(Protocol):
    """Publishes project events to the input topic; raises ``LogUnavailable`` if it cannot."""

    async def publish(self, data: ProjectCreated | ProjectDeleted, *, event_id: str) -> None: ...


class SessionRenewals(Protocol):
    """Pushes out a live session's expiry (evidence of life seen by the API)."""

    async def renew(self, project_uuid: str, *, until: datetime) -> bool:
        """Expiry becomes at least ``until`` if the session is still wanted present;
        False when it is not (deleted, expired meanwhile, unknown)."""
        ...

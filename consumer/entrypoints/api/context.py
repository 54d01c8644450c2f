"""What the API's routes work with: ports, policy, tokens, and the publishing helper.

``Intents`` makes one request's publish everyone's: concurrent requests for the same
event id share one send, and an id published moments ago is not sent again (the inbox
would drop it anyway; this keeps the input topic free of needless duplicates).
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime, timedelta

from fastapi import Request

from consumer.api_ports import IntentLog, SessionChanges, SessionReads, SessionRenewals
from consumer.domain.intents import check_uuid
from consumer.entrypoints.api.access_keys import AccessKeys
from consumer.entrypoints.api.auth import Tokens
from events import ProjectCreated, ProjectDeleted


class Intents:
    """Single-flight, recently-sent-aware publishing of derived event ids."""

    def __init__(self, log: IntentLog, *, remember_seconds: float = 60, size: int = 10_000):
        self._log = log
        self._inflight: dict[str, asyncio.Task[None]] = {}
        self._recent: OrderedDict[str, float] = OrderedDict()
        self._remember, self._size = remember_seconds, size
        self.sent = 0

    async def publish(self, data: ProjectCreated | ProjectDeleted, event_id: str) -> None:
        now = time.monotonic()
        if self._recent.get(event_id, 0.0) > now:
            return
        task = self._inflight.get(event_id)
        if task is None:
            task = asyncio.create_task(self._send(data, event_id))
            self._inflight[event_id] = task
        await asyncio.shield(task)

    async def _send(self, data: ProjectCreated | ProjectDeleted, event_id: str) -> None:
        try:
            await self._log.publish(data, event_id=event_id)
            self.sent += 1
            self._recent[event_id] = time.monotonic() + self._remember
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
        finally:
            del self._inflight[event_id]


@dataclasses.dataclass(frozen=True)
class ApiContext:
    """Everything a route needs, built by the composition root."""

    reads: SessionReads
    changes: SessionChanges
    intents: Intents
    tokens: Tokens
    now: Callable[[], datetime]
    auth_reads: bool = False
    max_wait_seconds: float = 60.0
    # Session access (forward-auth): signing keys, token lifetime, the public URL template.
    access_keys: AccessKeys = dataclasses.field(default_factory=lambda: AccessKeys(None))
    access_ttl: timedelta = timedelta(minutes=10)
    public_url_template: str = "https://{project_uuid}.dev.example.com{path}"
    # Expiry renewal when the owner opens a session (None: opening renews nothing).
    renewals: SessionRenewals | None = None
    session_lifetime: timedelta = timedelta(days=365)

    def require_write(self, request: Request) -> None:
        self.tokens.require(request.headers.get("authorization"))

    def require_read(self, request: Request) -> None:
        if self.auth_reads:
            self.tokens.require(request.headers.get("authorization"))


def context(request: Request) -> ApiContext:
    """The context of the app serving ``request`` (a FastAPI dependency)."""
    ctx: ApiContext = request.app.state.api
    return ctx


def canonical_project(project_uuid: str) -> str:
    """The path's project UUID, refused (400) unless canonical lowercase."""
    return check_uuid(project_uuid)


def reader(request: Request) -> None:
    """Refuse a read without a token when reads are protected (a FastAPI dependency)."""
    context(request).require_read(request)


def writer(request: Request) -> None:
    """Refuse a write without an accepted token (a FastAPI dependency)."""
    context(request).require_write(request)

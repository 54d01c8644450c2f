"""In-memory fakes of the session API's ports (``consumer.api_ports``) and an app over them."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections import defaultdict
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from consumer.domain import naming
from consumer.domain.intents import LogUnavailable
from consumer.domain.model import Cause, Desired, Endpoints, SessionState, Status
from consumer.entrypoints.api import auth, factory
from consumer.entrypoints.api.access_keys import AccessKeys
from consumer.entrypoints.api.context import ApiContext, Intents
from events import ProjectCreated, ProjectDeleted

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def session(project: str, status: Status = Status.RUNNING, **kw: object) -> SessionState:
    desired = Desired.ABSENT if status in (Status.DELETING, Status.DELETED) else Desired.PRESENT
    endpoints = None
    if status is Status.RUNNING:
        endpoints = Endpoints(
            ip_address="10.96.0.1",
            preview_url="http://10.96.0.1/preview",
            preview_path="/preview",
            chat_url="http://10.96.0.1/chat",
            chat_path="/chat",
            vscode_url="http://10.96.0.1/vscode",
            vscode_path="/vscode",
            preview_internal_url="http://preview/preview",
            chat_internal_url="http://chat/chat",
            vscode_internal_url="http://vscode/vscode",
        )
    base = SessionState(
        project_uuid=project,
        project_id=456,
        user_id=123,
        namespace=naming.namespace_for(project),
        release_name=naming.release_for(project),
        status=status,
        desired=desired,
        generation=1,
        observed_generation=1 if status is Status.RUNNING else 0,
        high_water=None,
        cause=Cause(id="e1", source="urn:test"),
        overrides={},
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW + timedelta(days=365),
        endpoints=endpoints,
        id=1,
    )
    return dataclasses.replace(base, **kw)


class FakeReads:
    def __init__(self) -> None:
        self.rows: dict[str, SessionState] = {}

    def put(self, state: SessionState) -> None:
        self.rows[state.project_uuid] = state

    async def by_project(self, project_uuid: str) -> SessionState | None:
        return self.rows.get(project_uuid)

    async def by_id(self, session_id: int) -> SessionState | None:
        return next((s for s in self.rows.values() if s.id == session_id), None)

    async def page(self, *, status: Status | None, after_id: int, limit: int) -> list[SessionState]:
        rows = sorted(self.rows.values(), key=lambda s: s.id or 0)
        rows = [s for s in rows if (s.id or 0) > after_id and status in (None, s.status)]
        return rows[:limit]


class FakeRenewals:
    """Renews the expiry of sessions in ``reads`` that are wanted present, like the SQL."""

    def __init__(self, reads: FakeReads) -> None:
        self.reads = reads
        self.calls: list[tuple[str, datetime]] = []

    async def renew(self, project_uuid: str, *, until: datetime) -> bool:
        self.calls.append((project_uuid, until))
        current = self.reads.rows.get(project_uuid)
        if current is None or current.desired is not Desired.PRESENT:
            return False
        until = max(current.expires_at, until)
        self.reads.put(dataclasses.replace(current, expires_at=until))
        return True


class _Watch:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def changed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True


class FakeChanges:
    def __init__(self) -> None:
        self.watches: dict[str, set[_Watch]] = defaultdict(set)

    @contextlib.asynccontextmanager
    async def watch(self, project_uuid: str) -> AsyncIterator[_Watch]:
        w = _Watch()
        self.watches[project_uuid].add(w)
        try:
            yield w
        finally:
            self.watches[project_uuid].discard(w)

    def notify(self, project_uuid: str) -> None:
        for w in self.watches[project_uuid]:
            w.event.set()


class FakeIntentLog:
    def __init__(self) -> None:
        self.published: list[tuple[str, ProjectCreated | ProjectDeleted]] = []
        self.down = False
        self.delay = 0.0

    async def publish(self, data: ProjectCreated | ProjectDeleted, *, event_id: str) -> None:
        await asyncio.sleep(self.delay)
        if self.down:
            raise LogUnavailable("Kafka did not take the event: KafkaTimeoutError")
        self.published.append((event_id, data))


@dataclasses.dataclass
class Api:
    reads: FakeReads
    changes: FakeChanges
    log: FakeIntentLog
    client: httpx.AsyncClient
    renewals: FakeRenewals


@contextlib.asynccontextmanager
async def api(
    tokens: Path | None = None,
    *,
    auth_reads: bool = False,
    max_body: int = 16 * 1024,
    access_keys: Path | None = None,
    template: str = "https://{project_uuid}.dev.example.com{path}",
) -> AsyncIterator[Api]:
    reads, changes, log = FakeReads(), FakeChanges(), FakeIntentLog()
    renewals = FakeRenewals(reads)
    ctx = ApiContext(
        reads=reads,
        changes=changes,
        intents=Intents(log),
        tokens=auth.Tokens(tokens),
        now=lambda: NOW,
        auth_reads=auth_reads,
        max_wait_seconds=5,
        access_keys=AccessKeys(access_keys),
        public_url_template=template,
        renewals=renewals,
        session_lifetime=timedelta(days=365),
    )
    app = factory.create_app(ctx, max_body_bytes=max_body)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(reads, changes, log, client, renewals)

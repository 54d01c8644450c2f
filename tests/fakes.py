"""In-memory fakes of the service's ports, for fast unit tests of the real service code.

They keep the same contracts as the adapters (transactions are atomic, ``save`` is
conditional on generation and lease, the inbox dedupes), so the tests exercise intake,
reconciler and relay exactly as production wires them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from consumer.domain.endpoints import Observed, Route
from consumer.domain.errors import TransientError
from consumer.domain.model import RECONCILER_FIELDS, LogPosition, SessionState, Status
from consumer.ports import (
    InboxKey,
    IntakeFn,
    IntakeResult,
    OutboxMessage,
    OutboxRow,
    Record,
    ReleaseInfo,
    ReleaseState,
    SendFn,
)


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclasses.dataclass
class _Row:
    state: SessionState
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None


class FakeStore:
    """The ``Store`` port in memory."""

    def __init__(self) -> None:
        self.rows: dict[str, _Row] = {}
        self.inbox: set[tuple[str, str, str]] = set()
        self.outbox: list[OutboxRow] = []
        self.sent: set[int] = set()
        self._ids = 0

    async def apply_intake(
        self, key: InboxKey, position: LogPosition, project_uuid: str, fn: IntakeFn
    ) -> IntakeResult:
        ident = (key.consumer, key.source, key.event_id)
        if ident in self.inbox:
            return IntakeResult(duplicate=True, changed=False, reconcile=False)
        row = self.rows.get(project_uuid)
        new, messages, reconcile = fn(row.state if row else None)
        self.inbox.add(ident)
        if new is not None:
            if row is None:
                self._ids += 1
                self.rows[project_uuid] = _Row(dataclasses.replace(new, id=self._ids))
            else:
                row.state = dataclasses.replace(new, id=row.state.id)
        self._add(messages)
        return IntakeResult(duplicate=False, changed=new is not None, reconcile=reconcile)

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {i for i in ids if (consumer, *i) in self.inbox}

    async def get(self, project_uuid: str) -> SessionState | None:
        row = self.rows.get(project_uuid)
        return row.state if row else None

    async def list_sessions(self, *, limit: int = 1000) -> list[SessionState]:
        return [r.state for r in self.rows.values()][:limit]

    async def claim(
        self, project_uuid: str, owner: str, now: datetime, lease_seconds: float
    ) -> SessionState | None:
        row = self.rows.get(project_uuid)
        if row is None:
            return None
        free = row.lease_owner in (None, owner) or (
            row.lease_expires_at is not None and row.lease_expires_at < now
        )
        if not free:
            return None
        row.lease_owner, row.lease_expires_at = owner, now + timedelta(seconds=lease_seconds)
        return row.state

    async def save(
        self,
        session: SessionState,
        *,
        owner: str,
        outbox: Sequence[OutboxMessage] = (),
        release: bool = False,
    ) -> bool:
        row = self.rows.get(session.project_uuid)
        if row is None or row.state.generation != session.generation or row.lease_owner != owner:
            return False
        row.state = dataclasses.replace(
            row.state, **{f: getattr(session, f) for f in RECONCILER_FIELDS}
        )
        if release:
            row.lease_owner = row.lease_expires_at = None
        self._add(outbox)
        return True

    async def release(self, project_uuid: str, owner: str) -> None:
        row = self.rows.get(project_uuid)
        if row is not None and row.lease_owner == owner:
            row.lease_owner = row.lease_expires_at = None

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]:
        out = []
        for uuid, row in self.rows.items():
            s = row.state
            working = s.observed_generation < s.generation or s.status in (
                Status.PENDING,
                Status.PROVISIONING,
                Status.DELETING,
            )
            if not working or s.status is Status.FAILED:
                continue
            if s.next_attempt_at is not None and s.next_attempt_at > now:
                continue
            if row.lease_owner is not None and (row.lease_expires_at or now) >= now:
                continue
            out.append(uuid)
        return out[:limit]

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int:
        return 0

    async def prune(self, before: datetime) -> int:
        return 0

    async def running_projects(self) -> list[str]:
        return [
            u
            for u, r in self.rows.items()
            if r.state.status is Status.RUNNING and r.state.desired.value == "present"
        ]

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int:
        count = 0
        for uuid in project_uuids:
            row = self.rows.get(uuid)
            if row and row.state.status is Status.RUNNING and row.lease_owner is None:
                row.state = dataclasses.replace(
                    row.state, status=Status.PENDING, retries=row.state.retries + 1, updated_at=now
                )
                count += 1
        return count

    async def relay_batch(self, *, limit: int, send: SendFn, now: datetime) -> int:
        batch = [r for r in self.outbox if r.id not in self.sent][:limit]
        if not batch:
            return 0
        await send(batch)
        self.sent.update(r.id for r in batch)
        return len(batch)

    def _add(self, messages: Sequence[OutboxMessage]) -> None:
        known = {r.message.event_id for r in self.outbox}
        for m in messages:
            if m.event_id not in known:
                self.outbox.append(OutboxRow(id=len(self.outbox) + 1, message=m))
                known.add(m.event_id)

    def outbox_types(self, project_uuid: str | None = None) -> list[str]:
        return [
            r.message.event_type
            for r in self.outbox
            if project_uuid is None or r.message.project_uuid == project_uuid
        ]


@dataclasses.dataclass
class _Release:
    values: dict[str, Any]
    status: str = "deployed"
    revision: int = 1


class FakeHelm:
    """Helm releases in memory; counts every call like the CLI adapter's metric does."""

    def __init__(self) -> None:
        self.releases: dict[tuple[str, str], _Release] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail_next: list[Exception] = []

    def _call(self, verb: str, release: str) -> None:
        self.calls.append((verb, release))
        if self.fail_next:
            raise self.fail_next.pop(0)

    async def status(self, release: str, namespace: str) -> ReleaseInfo:
        self._call("status", release)
        rel = self.releases.get((namespace, release))
        if rel is None:
            return ReleaseInfo(ReleaseState.ABSENT)
        state = ReleaseState.PENDING if rel.status.startswith("pending") else ReleaseState.DEPLOYED
        return ReleaseInfo(state, rel.status, rel.revision)

    async def get_values(self, release: str, namespace: str) -> dict[str, Any]:
        self._call("get values", release)
        return self.releases[(namespace, release)].values

    async def upgrade_install(self, release: str, namespace: str, values: dict[str, Any]) -> None:
        self._call("upgrade", release)
        old = self.releases.get((namespace, release))
        self.releases[(namespace, release)] = _Release(
            values, revision=(old.revision + 1 if old else 1)
        )

    async def rollback(self, release: str, namespace: str) -> None:
        self._call("rollback", release)
        self.releases[(namespace, release)].status = "deployed"

    async def uninstall(self, release: str, namespace: str) -> None:
        self._call("uninstall", release)
        self.releases.pop((namespace, release), None)

    def mutating_calls(self) -> list[tuple[str, str]]:
        return [c for c in self.calls if c[0] in ("upgrade", "uninstall", "rollback")]


class FakeCluster:
    """Namespaces and release readiness in memory."""

    def __init__(self, helm: FakeHelm) -> None:
        self.helm = helm
        self.namespaces: dict[str, dict[str, str]] = {}
        self.never_ready: set[str] = set()

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> None:
        self.namespaces[name] = dict(labels)

    async def namespace_exists(self, name: str) -> bool:
        return name in self.namespaces

    async def delete_namespace(self, name: str) -> None:
        self.namespaces.pop(name, None)
        for key in [k for k in self.helm.releases if k[0] == name]:
            del self.helm.releases[key]

    async def wait_namespace_gone(self, name: str, timeout: float) -> None:
        assert name not in self.namespaces

    async def wait_deployment_available(self, namespace: str, release: str, timeout: float) -> None:
        if namespace in self.never_ready or (namespace, release) not in self.helm.releases:
            raise TransientError("wait for deployment available", "not available")

    async def managed_namespaces(self) -> set[str]:
        return set(self.namespaces)

    async def observe(self, namespace: str, release: str) -> Observed:
        routes = {
            "preview": Route("preview", 3000, "/preview"),
            "chat": Route("chat", 3001, "/chat"),
            "vscode": Route("vscode", 8080, "/vscode"),
        }
        return Observed(cluster_ip="10.96.0.10", routes=routes)


class FakePublisher:
    """Collects sent records."""

    def __init__(self) -> None:
        self.sent: list[Record] = []

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        self.sent.append((topic, key, value, list(headers)))

    async def send_many(self, records: Sequence[Record]) -> None:
        self.sent.extend(records)

"""In-memory fakes of the service's ports, for fast unit tests of the real service code.

They keep the same contracts as the adapters (a unit of work is atomic and changes
nothing until it commits, ``save_outcome`` is conditional on generation and lease, the
inbox dedupes, pruning and expiry renewal touch the same rows), so the tests exercise
intake, reconciler and relay exactly as production wires them. Failure knobs
(``FakeDatabase.down``, ``fail_begin``, ``fail_commit``, ``FakeHelm.fail_next``) stand in
for outages, instead of tests overwriting methods.
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Self

from consumer.domain import naming
from consumer.domain.endpoints import Observed, Route
from consumer.domain.errors import PermanentError, TransientError
from consumer.domain.model import (
    RECONCILER_FIELDS,
    Desired,
    LogPosition,
    SessionState,
    Status,
    TopicEpoch,
)
from consumer.domain.release import ReleaseInfo, ReleaseState
from consumer.domain.retention import LogStart
from consumer.ports import InboxEntry, InboxKey, OutboxMessage, OutboxRow

Sent = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]


class FakeClock:
    """A clock that only moves when told."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


@dataclasses.dataclass
class FakeRow:
    """A session row with its lease columns."""

    state: SessionState
    lease_owner: str | None = None
    lease_expires_at: datetime | None = None

    def leased(self, now: datetime) -> bool:
        """A live lease: an owner whose lease has not run out (an expired one is free)."""
        return self.lease_owner is not None and (
            self.lease_expires_at is None or self.lease_expires_at >= now
        )

    def orphaned(self, held: dict[str, Any]) -> bool:
        """A lock holder's lease whose project lock nobody holds: its owner died."""
        return (
            self.lease_owner is not None
            and self.lease_owner.endswith(naming.LOCK_HOLDER)
            and naming.project_lock(self.state.project_uuid) not in held
        )


@dataclasses.dataclass
class FakeOutboxRow:
    """An outbox row with the columns the relay and pruning look at."""

    row: OutboxRow
    sent_at: datetime | None = None


class FakeDatabase:
    """The database behind ``FakeUnitOfWork``: committed state, a clock, failure knobs.

    Calling it opens a unit of work (it is a ``UnitOfWorkFactory``). Knobs: ``down``
    makes every unit fail on entry (an outage); ``fail_begin`` / ``fail_commit`` hold
    exceptions raised by the next entries / commits, one each; ``poison`` maps a project
    to the error every write of its session raises (data the database refuses).
    ``units`` lists every unit opened, to check what was committed.
    """

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.rows: dict[str, FakeRow] = {}
        self.inbox: dict[tuple[str, str, str], datetime] = {}
        self.inbox_projects: dict[tuple[str, str, str], str] = {}  # the project of each id
        self.outbox: list[FakeOutboxRow] = []
        self.down: Exception | None = None
        self.fail_begin: list[Exception] = []
        self.fail_commit: list[Exception] = []
        self.poison: dict[str, Exception] = {}  # project -> error every write of it raises
        self.units: list[FakeUnitOfWork] = []
        self.relay_lock: FakeUnitOfWork | None = None
        self.locks = FakeLocks(self)
        self.open_units = 0  # units entered and not left: open transactions
        self._ids = itertools.count(1)
        self._outbox_ids = itertools.count(1)

    def __call__(self) -> FakeUnitOfWork:
        unit = FakeUnitOfWork(self)
        self.units.append(unit)
        return unit

    def clear(self) -> None:
        """Forget everything (an empty database; the knobs stay)."""
        self.rows.clear()
        self.inbox.clear()
        self.inbox_projects.clear()
        self.outbox.clear()

    def next_id(self) -> int:
        return next(self._ids)

    def apply(self, unit: FakeUnitOfWork) -> None:
        """Make ``unit``'s staged changes the committed state."""
        self.rows.update(unit.staged_rows)
        for uuid in unit.forgotten_rows:
            self.rows.pop(uuid, None)
        for key in unit.pruned_inbox:
            self.inbox.pop(key, None)
            self.inbox_projects.pop(key, None)
        self.inbox.update(unit.staged_inbox)
        self.inbox_projects.update(unit.staged_inbox_projects)
        pruned = {id(r) for r in unit.pruned_outbox}
        self.outbox = [r for r in self.outbox if id(r) not in pruned]
        known = {r.row.message.event_id for r in self.outbox}
        for message in unit.staged_outbox:
            if message.event_id not in known:
                row = OutboxRow(next(self._outbox_ids), message, self.clock.now())
                sent_at = unit.staged_sent_ids.get(message.event_id)
                self.outbox.append(FakeOutboxRow(row, sent_at))
                known.add(message.event_id)
        for r in self.outbox:
            if r.row.id in unit.staged_sent:
                r.sent_at = unit.staged_sent[r.row.id]

    def outbox_types(self, project_uuid: str | None = None) -> list[str]:
        return [
            r.row.message.event_type
            for r in self.outbox
            if project_uuid is None or r.row.message.project_uuid == project_uuid
        ]

    def outbox_rows(self) -> list[OutboxRow]:
        return [r.row for r in self.outbox]


class FakeHeld:
    """A lock attempt's outcome: true when taken; alive until its holder is "killed"."""

    def __init__(self, locks: FakeLocks, name: str, got: bool) -> None:
        self._locks, self._name, self._got = locks, name, got

    def __bool__(self) -> bool:
        return self._got

    async def alive(self) -> bool:
        return self._got and self._locks.held.get(self._name) is self


class FakeLocks:
    """Session-level locks in memory: held by name until the block ends or the holder
    "dies" (``kill``), like an advisory lock whose connection closed."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.held: dict[str, FakeHeld] = {}

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[FakeHeld]:
        if self.db.down is not None:
            raise self.db.down
        got = name not in self.held
        handle = FakeHeld(self, name, got)
        if got:
            self.held[name] = handle
        try:
            yield handle
        finally:
            if got and self.held.get(name) is handle:
                del self.held[name]

    def kill(self, name: str) -> None:
        """The holder's connection is gone: the lock is free, whatever the holder thinks."""
        self.held.pop(name, None)


class FakeUnitOfWork:
    """One transaction in memory: changes are staged and applied only on ``commit``."""

    def __init__(self, db: FakeDatabase) -> None:
        self.db = db
        self.committed = False
        self.staged_rows: dict[str, FakeRow] = {}
        self.staged_inbox: dict[tuple[str, str, str], datetime] = {}
        self.staged_inbox_projects: dict[tuple[str, str, str], str] = {}
        self.staged_outbox: list[OutboxMessage] = []
        self.staged_sent: dict[int, datetime] = {}
        self.staged_sent_ids: dict[str, datetime] = {}  # added as already published
        self.pruned_inbox: set[tuple[str, str, str]] = set()
        self.pruned_outbox: list[FakeOutboxRow] = []
        self.forgotten_rows: set[str] = set()  # session rows deleted by retention
        self.locked: list[list[str]] = []  # the projects of each lock_many, as locked
        self.sessions = FakeSessions(self)
        self.leases = FakeLeases(self)
        self.schedule = FakeSchedule(self)
        self.inbox = FakeInbox(self)
        self.outbox = FakeOutbox(self)

    async def __aenter__(self) -> Self:
        if self.db.down is not None:
            raise self.db.down
        if self.db.fail_begin:
            raise self.db.fail_begin.pop(0)
        self.db.open_units += 1
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.db.open_units -= 1
        if self.db.relay_lock is self:
            self.db.relay_lock = None

    async def commit(self) -> None:
        if self.db.fail_commit:
            raise self.db.fail_commit.pop(0)
        self.db.apply(self)
        self.committed = True

    def row(self, project_uuid: str) -> FakeRow | None:
        """The row as this transaction sees it (its own writes first)."""
        if project_uuid in self.forgotten_rows:
            return None
        return self.staged_rows.get(project_uuid) or self.db.rows.get(project_uuid)

    def write(self, project_uuid: str) -> FakeRow | None:
        """A private copy of the row to change (copy on write)."""
        if project_uuid not in self.staged_rows:
            row = self.db.rows.get(project_uuid)
            if row is None:
                return None
            self.staged_rows[project_uuid] = dataclasses.replace(row)
        return self.staged_rows[project_uuid]

    def all_rows(self) -> dict[str, FakeRow]:
        rows = self.db.rows | self.staged_rows
        return {u: r for u, r in rows.items() if u not in self.forgotten_rows}


class FakeSessions:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def lock(self, project_uuid: str) -> None:
        return None  # one event loop, and no await between lock and commit in a unit

    async def lock_many(self, project_uuids: Sequence[str]) -> None:
        self._uow.locked.append(sorted(set(project_uuids)))

    async def get_many(
        self, project_uuids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, SessionState]:
        found = {p: self._uow.row(p) for p in project_uuids}
        return {p: row.state for p, row in found.items() if row is not None}

    async def put_many(self, sessions: Sequence[SessionState]) -> None:
        assert len({s.project_uuid for s in sessions}) == len(sessions), "one row per project"
        for session in sessions:
            await self.put(session)

    async def get(self, project_uuid: str, *, for_update: bool = False) -> SessionState | None:
        row = self._uow.row(project_uuid)
        return row.state if row else None

    async def list(self, *, limit: int = 1000) -> list[SessionState]:
        return sorted((r.state for r in self._uow.all_rows().values()), key=lambda s: s.id or 0)[
            :limit
        ]

    async def unconverged(self, *, limit: int = 1_000_000) -> Sequence[str]:
        return [
            s.project_uuid
            for s in await self.list(limit=len(self._uow.all_rows()))
            if not s.converged
        ][:limit]

    async def put(self, session: SessionState) -> None:
        if session.project_uuid in self._uow.db.poison:
            raise self._uow.db.poison[session.project_uuid]
        row = self._uow.write(session.project_uuid)
        if row is None:
            fresh = dataclasses.replace(session, id=self._uow.db.next_id())
            self._uow.staged_rows[session.project_uuid] = FakeRow(fresh)
        else:
            row.state = dataclasses.replace(session, id=row.state.id)

    async def save_outcome(self, session: SessionState, *, owner: str) -> bool:
        current = self._uow.row(session.project_uuid)
        if (
            current is None
            or current.state.generation != session.generation
            or current.lease_owner != owner
        ):
            return False
        row = self._uow.write(session.project_uuid)
        assert row is not None
        row.state = dataclasses.replace(
            row.state, **{f: getattr(session, f) for f in RECONCILER_FIELDS}
        )
        return True


class FakeLeases:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def claim(
        self, project_uuid: str, owner: str, lease_seconds: float, *, take_over: bool = False
    ) -> SessionState | None:
        current = self._uow.row(project_uuid)
        now = self._uow.db.clock.now()
        if current is None:
            return None
        taken = (
            take_over
            and current.lease_owner is not None
            and (current.lease_owner.endswith(naming.LOCK_HOLDER))
        )
        if current.lease_owner != owner and current.leased(now) and not taken:
            return None
        row = self._uow.write(project_uuid)
        assert row is not None
        row.lease_owner, row.lease_expires_at = owner, now + timedelta(seconds=lease_seconds)
        return row.state

    async def release(self, project_uuid: str, owner: str) -> None:
        current = self._uow.row(project_uuid)
        if current is not None and current.lease_owner == owner:
            row = self._uow.write(project_uuid)
            assert row is not None
            row.lease_owner = row.lease_expires_at = None


class FakeSchedule:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]:
        db_now = self._uow.db.clock.now()
        out = []
        for uuid, row in self._uow.all_rows().items():
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
            if row.leased(db_now) and not row.orphaned(self._uow.db.locks.held):
                continue
            out.append((s.updated_at, uuid))
        return [uuid for _, uuid in sorted(out)][:limit]

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int:
        lifetime = timedelta(seconds=lifetime_seconds)
        count = 0
        for uuid, current in self._uow.all_rows().items():
            s = current.state
            if s.status is Status.RUNNING and s.expires_at < now + lifetime - timedelta(days=1):
                row = self._uow.write(uuid)
                assert row is not None
                row.state = dataclasses.replace(s, expires_at=now + lifetime)
                count += 1
        return count

    async def lapsed(self, now: datetime, *, limit: int = 500) -> list[str]:
        found = [
            (r.state.expires_at, u)
            for u, r in self._uow.all_rows().items()
            if r.state.desired is Desired.PRESENT and r.state.expires_at <= now
        ]
        return [u for _, u in sorted(found)][:limit]

    async def ended(self, before: datetime, *, limit: int = 1000) -> list[SessionState]:
        db_now = self._uow.db.clock.now()
        found = [
            r.state
            for r in self._uow.all_rows().values()
            if r.state.status in (Status.DELETED, Status.FAILED)
            and r.state.updated_at < before
            and not r.leased(db_now)
        ]
        return sorted(found, key=lambda s: s.updated_at)[:limit]

    async def forget(self, sessions: Sequence[SessionState]) -> list[str]:
        gone = []
        for seen in sessions:
            row = self._uow.row(seen.project_uuid)
            if (
                row is None
                or row.state.updated_at != seen.updated_at
                or row.state.status not in (Status.DELETED, Status.FAILED)
                or row.leased(self._uow.db.clock.now())
            ):
                continue
            self._uow.staged_rows.pop(seen.project_uuid, None)
            self._uow.forgotten_rows.add(seen.project_uuid)
            gone.append(seen.project_uuid)
        return gone

    async def running(self) -> list[str]:
        return [
            u
            for u, r in self._uow.all_rows().items()
            if r.state.status is Status.RUNNING and r.state.desired is Desired.PRESENT
        ]

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int:
        count = 0
        for uuid in project_uuids:
            current = self._uow.row(uuid)
            if (
                current is None
                or current.state.status is not Status.RUNNING
                or current.state.desired is not Desired.PRESENT
                or current.leased(self._uow.db.clock.now())
            ):
                continue
            row = self._uow.write(uuid)
            assert row is not None
            row.state = dataclasses.replace(
                row.state, status=Status.PENDING, retries=row.state.retries + 1, updated_at=now
            )
            count += 1
        return count


class FakeInbox:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, key: InboxKey, project_uuid: str, position: LogPosition) -> bool:
        ident = (key.consumer, key.source, key.event_id)
        if ident in self._uow.db.inbox or ident in self._uow.staged_inbox:
            return False
        self._uow.staged_inbox[ident] = self._uow.db.clock.now()
        self._uow.staged_inbox_projects[ident] = project_uuid
        return True

    async def add_many(self, entries: Sequence[InboxEntry]) -> set[InboxKey]:
        assert len({e.key for e in entries}) == len(entries), "keys distinct"
        return {e.key for e in entries if await self.add(e.key, e.project_uuid, e.position)}

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        return {i for i in ids if (consumer, *i) in self._uow.db.inbox}

    async def projects_seen(self, project_uuids: Sequence[str]) -> set[str]:
        pruned = self._uow.pruned_inbox
        known = {p for k, p in self._uow.db.inbox_projects.items() if k not in pruned}
        return (known | set(self._uow.staged_inbox_projects.values())) & set(project_uuids)

    async def prune(self, before: datetime) -> int:
        old = {k for k, received in self._uow.db.inbox.items() if received < before}
        self._uow.pruned_inbox |= old
        return len(old)


class FakeOutbox:
    def __init__(self, uow: FakeUnitOfWork) -> None:
        self._uow = uow

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        self._uow.staged_outbox.extend(messages)

    async def holding(self, event_ids: Sequence[str]) -> set[str]:
        held = {r.row.message.event_id for r in self._uow.db.outbox}
        return held & set(event_ids)

    async def add_sent(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        self._uow.staged_outbox.extend(messages)
        self._uow.staged_sent_ids.update(dict.fromkeys((m.event_id for m in messages), now))

    async def claim_batch(self, limit: int) -> list[OutboxRow]:
        db = self._uow.db
        if db.relay_lock is not None and db.relay_lock is not self._uow:
            return []
        db.relay_lock = self._uow
        return [r.row for r in db.outbox if r.sent_at is None][:limit]

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        self._uow.staged_sent.update(dict.fromkeys(ids, now))

    async def prune(self, before: datetime) -> int:
        old = [r for r in self._uow.db.outbox if r.sent_at is not None and r.sent_at < before]
        self._uow.pruned_outbox.extend(old)
        return len(old)


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
        self.stuck: set[str] = set()  # releases a rollback leaves pending
        self.refuse: dict[str, Exception] = {}  # verb -> error every such call raises
        self.clusters: list[FakeCluster] = []  # the clusters this Helm installs into

    def _call(self, verb: str, release: str) -> None:
        self.calls.append((verb, release))
        if verb in self.refuse:
            raise self.refuse[verb]
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
        for cluster in self.clusters:  # an upgrade puts the chart's replicas back
            cluster.scaled_down.discard((namespace, release))

    async def rollback(self, release: str, namespace: str) -> None:
        self._call("rollback", release)
        if release not in self.stuck:
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
        helm.clusters.append(self)
        self.namespaces: dict[str, dict[str, str]] = {}
        self.never_ready: set[str] = set()
        # Knobs: something that happens while a provision waits for readiness (a newer
        # event, a lost lease), and errors the next observations raise.
        self.during_wait: Callable[[str, str], Awaitable[object]] | None = None
        self.fail_observe: list[Exception] = []
        self.scaled_down: set[tuple[str, str]] = set()  # (namespace, release) by hand

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> bool:
        created = name not in self.namespaces
        self.namespaces[name] = dict(labels)
        return created

    async def namespace_exists(self, name: str) -> bool:
        return name in self.namespaces

    async def namespace_labels(self, name: str) -> dict[str, str] | None:
        labels = self.namespaces.get(name)
        return None if labels is None else dict(labels)

    async def delete_namespace(self, name: str) -> None:
        labels = self.namespaces.get(name)
        if labels is not None and labels.get("app.kubernetes.io/managed-by") != "devsessions":
            raise PermanentError("delete namespace", f"refusing to delete namespace {name}")
        self.namespaces.pop(name, None)
        for key in [k for k in self.helm.releases if k[0] == name]:
            del self.helm.releases[key]

    async def wait_namespace_gone(self, name: str, timeout: float) -> None:
        assert name not in self.namespaces

    async def wait_ready(self, namespace: str, release: str, timeout: float) -> Observed:
        if self.during_wait is not None:
            await self.during_wait(namespace, release)
        if namespace in self.never_ready or (namespace, release) not in self.helm.releases:
            raise TransientError("wait for deployment available", "not available")
        return await self.observe(namespace, release)

    async def managed_namespaces(self) -> set[str]:
        return set(self.namespaces)

    async def managed_namespace_labels(self) -> dict[str, dict[str, str]]:
        """Like the adapter: only namespaces with our ownership label (the drift check's
        ``managed_namespaces`` above keeps counting every one, as it always has)."""
        return {
            name: dict(labels)
            for name, labels in self.namespaces.items()
            if labels.get(naming.MANAGED_BY_LABEL) == naming.MANAGER
        }

    async def workload_present(self, namespace: str, release: str) -> bool:
        key = (namespace, release)
        return key in self.helm.releases and key not in self.scaled_down

    async def observe(self, namespace: str, release: str) -> Observed:
        if self.fail_observe:
            raise self.fail_observe.pop(0)
        routes = {
            "preview": Route("preview", 3000, "/preview"),
            "chat": Route("chat", 3001, "/chat"),
            "vscode": Route("vscode", 8080, "/vscode"),
        }
        return Observed(cluster_ip="10.96.0.10", routes=routes)


class FakeTopics:
    """Topic ids and partition counts, with a cache like the Kafka adapter's: an answer
    up to a minute old is served unless the caller asks for a fresher one."""

    def __init__(self) -> None:
        self.current: dict[str, TopicEpoch] = {}
        self.cached: dict[str, TopicEpoch] = {}
        self.lookups = 0

    async def epoch(self, topic: str, *, max_age: float) -> TopicEpoch:
        if max_age >= 60 and topic in self.cached:
            return self.cached[topic]
        self.lookups += 1
        self.cached[topic] = self.current.get(topic, TopicEpoch(None, 0))
        return self.cached[topic]


class FakeLogProgress:
    """Whether the consumer group has read the input topic to its end: set by the test."""

    def __init__(self, caught_up: bool = True) -> None:
        self.caught = caught_up
        self.asked: list[tuple[str, str]] = []

    async def caught_up(self, group: str, topic: str) -> bool:
        self.asked.append((group, topic))
        return self.caught


class FakeLogStarts:
    """The input topic's start as the test sets it (``start``); ``fail`` makes lookups
    raise, as when Kafka does not answer."""

    def __init__(self, start: LogStart | None = None) -> None:
        self.start = start or LogStart(topic_id=None, earliest={})
        self.fail: Exception | None = None
        self.lookups = 0

    async def log_start(self, topic: str) -> LogStart:
        self.lookups += 1
        if self.fail is not None:
            raise self.fail
        return self.start


class FakePublisher:
    """Collects sent records."""

    def __init__(self) -> None:
        self.sent: list[Sent] = []  # (topic, key, value, headers), in send order

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        self.sent.append((topic, key, value, list(headers)))

    async def send_many(self, messages: Sequence[OutboxMessage]) -> None:
        self.sent.extend((m.topic, m.key, m.value, list(m.headers)) for m in messages)

    async def send_each(self, records: Sequence[Sent]) -> None:
        for topic, key, value, headers in records:
            await self.send(topic, key, value, headers)

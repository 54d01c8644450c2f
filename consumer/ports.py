"""Narrow interfaces between the service layer and the outside world.

Adapters (PostgreSQL, Helm CLI, Kubernetes client, Kafka producer) implement these;
unit tests use the in-memory fakes in ``tests/fakes.py``. Only ``consumer.bootstrap``
(and the CLI, through it) chooses implementations.

The database is reached through a unit of work (as in cosmicpython): ``async with uow:``
opens one transaction and exposes narrow repositories; nothing is durable until
``await uow.commit()``, and leaving the block without committing rolls back. The service
layer holds a ``UnitOfWorkFactory`` and opens one unit per transaction it needs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from types import TracebackType
from typing import Any, Protocol, Self

from consumer.domain.endpoints import Observed
from consumer.domain.model import LogPosition, SessionState, TopicEpoch
from consumer.domain.release import ReleaseInfo
from consumer.domain.retention import LogStart


class Helm(Protocol):
    """The Helm operations the service uses (all idempotent where Helm allows)."""

    async def status(self, release: str, namespace: str) -> ReleaseInfo: ...

    async def get_values(self, release: str, namespace: str) -> dict[str, Any]: ...

    async def upgrade_install(
        self, release: str, namespace: str, values: dict[str, Any]
    ) -> None: ...

    async def rollback(self, release: str, namespace: str) -> None: ...

    async def uninstall(self, release: str, namespace: str) -> None: ...


class Cluster(Protocol):
    """The Kubernetes operations the service uses."""

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> bool:
        """Create or adopt the namespace; True when this call created it (then nothing of
        ours, a Helm release included, can be inside it yet)."""

    async def namespace_exists(self, name: str) -> bool: ...

    async def namespace_labels(self, name: str) -> dict[str, str] | None:
        """The namespace's labels; None when it does not exist."""

    async def delete_namespace(self, name: str) -> None: ...

    async def wait_namespace_gone(self, name: str, timeout: float) -> None: ...

    async def wait_ready(self, namespace: str, release: str, timeout: float) -> Observed:
        """Until the Deployment is Available and each routed Service has a ready endpoint;
        then what the cluster shows (as ``observe``), from what the wait read already."""

    async def observe(self, namespace: str, release: str) -> Observed:
        """What the cluster shows for a ready release (ClusterIP, routes)."""

    async def managed_namespaces(self) -> set[str]: ...

    async def managed_namespace_labels(self) -> dict[str, dict[str, str]]:
        """Live (not terminating) namespaces carrying our ownership label, with labels."""

    async def workload_present(self, namespace: str, release: str) -> bool:
        """Whether the release's Deployment exists and asks for a replica (not deleted
        or scaled to zero by hand)."""


@dataclasses.dataclass(frozen=True)
class OutboxMessage:
    """One encoded event waiting to be published (key, value, headers as on the wire)."""

    event_id: str
    project_uuid: str
    event_type: str
    topic: str
    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...]


@dataclasses.dataclass(frozen=True)
class OutboxRow:
    """An outbox message with its row id (publish order)."""

    id: int
    message: OutboxMessage
    created_at: datetime | None = None


@dataclasses.dataclass(frozen=True)
class InboxKey:
    """Identity of a consumed event: CloudEvents ``source`` + ``id`` is unique by spec."""

    consumer: str
    source: str
    event_id: str


@dataclasses.dataclass(frozen=True)
class InboxEntry:
    """An event to record in the inbox: its identity, project and log position."""

    key: InboxKey
    project_uuid: str
    position: LogPosition


class DatabaseUnavailable(Exception):
    """The database cannot serve right now (down, starting, overloaded, failed over).

    The database adapter raises it (with the driver's error as ``__cause__``) for
    failures that say nothing about the data: retrying later can succeed. Any other
    exception from a unit of work is the statement's or the data's fault.
    """


class Sessions(Protocol):
    """Session rows: intake's writes of desire, the reconciler's writes of outcomes."""

    async def lock(self, project_uuid: str) -> None:
        """Serialise writers of one project until the end of the transaction.

        Works before the project's row exists (``for_update`` locks nothing then).
        """

    async def lock_many(self, project_uuids: Sequence[str]) -> None:
        """``lock`` for every project of a batch, taken in one global order (no deadlock
        between replicas whose batches share projects); same locks as ``lock``."""

    async def get(self, project_uuid: str, *, for_update: bool = False) -> SessionState | None: ...

    async def get_many(
        self, project_uuids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, SessionState]:
        """The sessions of ``project_uuids`` that exist, by project (one query)."""

    async def list(self, *, limit: int = 1000) -> list[SessionState]: ...

    async def unconverged(self, *, limit: int = 1_000_000) -> Sequence[str]:
        """Projects whose session is not ``converged`` (``SessionState.converged``)."""

    async def put(self, session: SessionState) -> None:
        """Insert or replace the session (every column but identity and lease)."""

    async def put_many(self, sessions: Sequence[SessionState]) -> None:
        """``put`` for several sessions, one per project."""

    async def save_outcome(self, session: SessionState, *, owner: str) -> bool:
        """Write the reconciler-owned fields, only while ``owner`` holds the lease and
        ``session.generation`` is still current; False when that no longer holds."""


class Leases(Protocol):
    """Who works on a project right now (one owner, on the database's clock)."""

    async def claim(
        self, project_uuid: str, owner: str, lease_seconds: float, *, take_over: bool = False
    ) -> SessionState | None:
        """Take or renew the lease; None when another owner holds a live one.

        ``take_over`` (the caller holds the project's lock, ``naming.project_lock``): a
        lease of a lock-holding owner (``naming.LOCK_HOLDER`` suffix) counts as free too,
        since that owner cannot hold the lock any more; except within one lease period
        after the database started, when an owner may not yet know its lock is gone.
        """

    async def release(self, project_uuid: str, owner: str) -> None: ...


class Schedule(Protocol):
    """Queries and bulk updates of the periodic resync."""

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Projects with work to do, no live lease and no backoff pending.

        A lease is not live when it expired, nor when its owner is a lock holder
        (``naming.LOCK_HOLDER``) whose project lock nobody holds: that owner died.
        """

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int:
        """Push out the expiry of running sessions that would expire within a day
        (``SESSION_RENEWAL=always``: sessions never expire)."""

    async def lapsed(self, now: datetime, *, limit: int = 500) -> list[str]:
        """Projects wanted present whose expiry passed (``domain.expiry.lapsed``)."""

    async def ended(self, before: datetime, *, limit: int = 1000) -> list[SessionState]:
        """Unleased ``deleted`` and ``failed`` sessions last changed before ``before``,
        oldest first: the candidates of retention (``domain.retention`` decides)."""

    async def forget(self, sessions: Sequence[SessionState]) -> list[str]:
        """Delete the rows of ``sessions`` that are unchanged since read (same
        ``updated_at``) and unleased; the projects whose rows went."""

    async def running(self) -> list[str]:
        """Projects whose session is running and wanted."""

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int:
        """Running, unleased sessions among ``project_uuids`` go back to ``pending``."""


class Inbox(Protocol):
    """Consumed event ids (idempotent intake)."""

    async def add(self, key: InboxKey, project_uuid: str, position: LogPosition) -> bool:
        """Record ``key``; False when it was recorded before (a duplicate)."""

    async def add_many(self, entries: Sequence[InboxEntry]) -> set[InboxKey]:
        """Record every entry (keys distinct); the keys that were new (not duplicates)."""

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    async def prune(self, before: datetime) -> int: ...

    async def projects_seen(self, project_uuids: Sequence[str]) -> set[str]:
        """The projects among ``project_uuids`` that any recorded event belongs to."""


class Outbox(Protocol):
    """Events committed with the change that caused them, waiting to be published."""

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        """Queue ``messages``; an event id already queued is skipped."""

    async def holding(self, event_ids: Sequence[str]) -> set[str]:
        """Which of ``event_ids`` the outbox holds (sent or not)."""

    async def add_sent(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        """Record ``messages`` as published at ``now`` (they are on the output topic
        already); an event id already queued is skipped."""

    async def claim_batch(self, limit: int) -> list[OutboxRow]:
        """The oldest unsent rows, for this transaction's holder only.

        Empty when another relay is publishing (one publisher at a time keeps order).
        """

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None: ...

    async def prune(self, before: datetime) -> int:
        """Forget rows published before ``before`` (unsent rows are kept)."""


class UnitOfWork(Protocol):
    """One database transaction and the repositories that work inside it."""

    @property
    def sessions(self) -> Sessions: ...

    @property
    def leases(self) -> Leases: ...

    @property
    def schedule(self) -> Schedule: ...

    @property
    def inbox(self) -> Inbox: ...

    @property
    def outbox(self) -> Outbox: ...

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back unless committed, and give the connection back."""

    async def commit(self) -> None: ...


UnitOfWorkFactory = Callable[[], UnitOfWork]
"""Opens a fresh unit of work (one per transaction; units are not shared)."""


class HeldLock(Protocol):
    """The outcome of ``Locks.hold``: true when the lock was taken."""

    def __bool__(self) -> bool: ...

    async def alive(self) -> bool:
        """True while the lock is still held (its connection still answers)."""


class Locks(Protocol):
    """Named locks held by a database connection outside any transaction.

    ``async with locks.hold(name) as held:`` tries to take ``name`` (``held`` is falsy when
    another holder has it) and keeps it for the block, however long the block waits on
    other systems, without an open transaction. A holder that dies (process killed,
    connection cut) loses its locks at once, on the database's side.
    """

    def hold(self, name: str) -> AbstractAsyncContextManager[HeldLock]: ...


WireRecord = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]
"""A record as sent: topic, key, value, headers."""


class Publisher(Protocol):
    """Sends encoded records with an idempotent producer.

    ``send`` forwards one record as given (the dead-letter copy of an input record);
    ``send_many`` publishes outbox messages, in order, waiting for every acknowledgement.
    """

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None: ...

    async def send_many(self, messages: Sequence[OutboxMessage]) -> None: ...

    async def send_each(self, records: Sequence[WireRecord]) -> None:
        """Send records as given (dead-letter copies), pipelined in order, waiting for
        every acknowledgement: one round trip for a batch of bad records, not one each."""


class TopicIdentity(Protocol):
    """A topic's current incarnation (Kafka's topic id) and partition count."""

    async def epoch(self, topic: str, *, max_age: float) -> TopicEpoch:
        """The answer, asked of the cluster unless one no older than ``max_age`` s is known."""


class LogProgress(Protocol):
    """How far a consumer group has read a topic."""

    async def caught_up(self, group: str, topic: str) -> bool:
        """True when ``group`` has committed the end of every partition of ``topic`` (no
        lag anywhere); False when it lags, or when that cannot be told."""


class LogStarts(Protocol):
    """Where the input topic begins now (Kafka deletes old records by its retention)."""

    async def log_start(self, topic: str) -> LogStart:
        """The topic's id and each partition's earliest offset still delivered."""


class Clock(Protocol):
    """Wall-clock time, injected so decisions are testable."""

    def now(self) -> datetime: ...


class ClusterProbe(Protocol):
    """Whether the Kubernetes API server answers now (cheap, cached by the adapter)."""

    async def reachable(self) -> bool: ...

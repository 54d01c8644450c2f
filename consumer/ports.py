"""Narrow interfaces between the service layer and the outside world.

Adapters (PostgreSQL, Helm CLI, Kubernetes client, Kafka producer) implement these;
unit tests use the in-memory fakes in ``tests/fakes.py``. Only ``consumer.bootstrap``
chooses implementations.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from consumer.domain.endpoints import Observed
from consumer.domain.model import LogPosition, SessionState


class ReleaseState(enum.StrEnum):
    """A Helm release's state, as far as the reconciler cares."""

    ABSENT = "absent"
    DEPLOYED = "deployed"
    PENDING = "pending"  # pending-install/-upgrade/-rollback: an interrupted operation
    FAILED = "failed"
    OTHER = "other"  # uninstalling, superseded, unknown


@dataclasses.dataclass(frozen=True)
class ReleaseInfo:
    """What ``helm status`` says of a release."""

    state: ReleaseState
    raw_status: str = ""
    revision: int = 0


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

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> None: ...

    async def namespace_exists(self, name: str) -> bool: ...

    async def delete_namespace(self, name: str) -> None: ...

    async def wait_namespace_gone(self, name: str, timeout: float) -> None: ...

    async def wait_deployment_available(
        self, namespace: str, release: str, timeout: float
    ) -> None: ...

    async def observe(self, namespace: str, release: str) -> Observed: ...

    async def managed_namespaces(self) -> set[str]: ...


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


IntakeFn = Callable[
    [SessionState | None], "tuple[SessionState | None, Sequence[OutboxMessage], bool]"
]


SendFn = Callable[[Sequence[OutboxRow]], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class IntakeResult:
    """What a stored intake did: ``duplicate`` when the inbox had the event already."""

    duplicate: bool
    changed: bool
    reconcile: bool


class Store(Protocol):
    """Durable session state, inbox and outbox; every method is one transaction."""

    async def apply_intake(
        self, key: InboxKey, position: LogPosition, project_uuid: str, fn: IntakeFn
    ) -> IntakeResult: ...

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]: ...

    async def get(self, project_uuid: str) -> SessionState | None: ...

    async def list_sessions(self, *, limit: int = 1000) -> list[SessionState]: ...

    async def claim(
        self, project_uuid: str, owner: str, now: datetime, lease_seconds: float
    ) -> SessionState | None: ...

    async def save(
        self,
        session: SessionState,
        *,
        owner: str,
        outbox: Sequence[OutboxMessage] = (),
        release: bool = False,
    ) -> bool: ...

    async def release(self, project_uuid: str, owner: str) -> None: ...

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]: ...

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int: ...

    async def prune(self, before: datetime) -> int: ...

    async def running_projects(self) -> list[str]: ...

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int: ...

    async def relay_batch(self, *, limit: int, send: SendFn, now: datetime) -> int: ...


Record = tuple[str, bytes | None, bytes | None, Sequence[tuple[str, bytes]]]
"""(topic, key, value, headers) of one record to send."""


class Publisher(Protocol):
    """Sends encoded records with an idempotent producer."""

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None: ...

    async def send_many(self, records: Sequence[Record]) -> None: ...


class Clock(Protocol):
    """Wall-clock time, injected so decisions are testable."""

    def now(self) -> datetime: ...


class ClusterProbe(Protocol):
    """Whether the Kubernetes API server answers now (cheap, cached by the adapter)."""

    async def reachable(self) -> bool: ...

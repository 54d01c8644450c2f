"""Composition root: builds the service's parts from settings and wires them together.

The only module that imports adapters. Everything is built here at run time (nothing at
import time), so tests and the CLI can build a service against any stack.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import random
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.adapters.db.locks import SqlLocks
from consumer.adapters.db.notify import PgSessionChanges
from consumer.adapters.db.session_reads import SqlSessionReads
from consumer.adapters.db.session_renewals import SqlSessionRenewals
from consumer.adapters.helm_cli import HelmCli
from consumer.adapters.kafka_in import Follower, read_log, read_tail, topic_partitions
from consumer.adapters.kafka_intents import KafkaIntentLog
from consumer.adapters.kafka_log_start import KafkaLogStarts
from consumer.adapters.kafka_out import KafkaPublisher
from consumer.adapters.kafka_progress import KafkaLogProgress
from consumer.adapters.kafka_topics import KafkaTopicIdentity
from consumer.adapters.kube_lazy import LazyCluster
from consumer.adapters.project_grant import Grant
from consumer.domain.backoff import RetryPolicy
from consumer.domain.images import ImagePolicy
from consumer.domain.orphans import Limits
from consumer.ports import (
    Clock,
    Cluster,
    ClusterProbe,
    Helm,
    Locks,
    LogProgress,
    LogStarts,
    Publisher,
    TopicIdentity,
    UnitOfWorkFactory,
)
from consumer.service.actions.provision import ProvisionConfig
from consumer.service.cluster_gate import gated
from consumer.service.expiry import Expiry
from consumer.service.health import Probe
from consumer.service.intake import Intake
from consumer.service.messages import MessageFactory
from consumer.service.orphans import OrphanSweep, SweepConfig
from consumer.service.queries import SessionQueries
from consumer.service.reconciler import ReconcileConfig, Reconciler
from consumer.service.records import Consumed
from consumer.service.relay import OutboxRelay
from consumer.service.retention import Retention
from consumer.service.scheduler import Resync
from consumer.service.workers import KeyedWorkers
from consumer.settings import Settings


class SystemClock:
    """UTC wall clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclasses.dataclass
class Service:
    """Every long-lived part of a running service."""

    settings: Settings
    engine: AsyncEngine
    uow: UnitOfWorkFactory
    sessions: SessionQueries
    publisher: KafkaPublisher
    cluster: LazyCluster | None
    intake: Intake
    reconciler: Reconciler
    workers: KeyedWorkers
    relay: OutboxRelay
    resync: Resync
    session_reads: SqlSessionReads
    session_renewals: SqlSessionRenewals
    session_changes: PgSessionChanges
    intent_log: KafkaIntentLog
    topics: KafkaTopicIdentity | None = None
    log_starts: KafkaLogStarts | None = None
    helm: HelmCli | None = None
    tasks: list[asyncio.Task[None]] = dataclasses.field(default_factory=list)

    def probes(self) -> dict[str, Probe]:
        """Readiness probes of the dependencies this process built (Kafka's consumer side
        is the broker's: the entrypoint adds it)."""

        async def postgresql() -> None:
            async with self.engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))

        probes: dict[str, Probe] = {"postgresql": postgresql}
        if self.cluster is not None:
            probes["kubernetes"] = self.cluster.ping
        if self.helm is not None:
            probes["helm"] = self.helm.ping
        return probes

    async def start(self) -> None:
        """Migrate, connect, and start workers, relay and resync (not the consumer)."""
        if self.settings.migrate_on_start:
            await upgrade(self.settings.database_url)
        await self.publisher.start()
        await self.intent_log.start()
        await self.session_changes.start()
        self.workers.start()
        self.tasks = [
            asyncio.create_task(self.relay.run(), name="outbox-relay"),
            asyncio.create_task(self.resync.run(), name="resync"),
            asyncio.create_task(
                self.resync.run_takeover(self.settings.takeover_check_seconds), name="takeover"
            ),
        ]

    async def stop(self) -> None:
        """Drain in-flight work (bounded), flush the outbox, close connections."""
        await self.workers.stop(timeout=self.settings.shutdown_drain_seconds)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.relay.drain(self.settings.shutdown_flush_seconds)
        await self.publisher.stop()
        await self.intent_log.stop()
        await self.session_changes.stop()
        if self.log_starts is not None:
            with contextlib.suppress(Exception):
                await self.log_starts.close()
        if self.topics is not None:
            with contextlib.suppress(Exception):
                await self.topics.close()
        if self.cluster is not None:
            self.cluster.close()
        await self.engine.dispose()


async def migrate(settings: Settings, revision: str = "head") -> None:
    """Apply database migrations."""
    await upgrade(settings.database_url, revision)


@contextlib.asynccontextmanager
async def open_database(settings: Settings) -> AsyncIterator[UnitOfWorkFactory]:
    """Units of work on their own small pool, for CLI commands."""
    engine = make_engine(settings.database_url, pool_size=2)
    try:
        yield sql_uow.factory(engine)
    finally:
        await engine.dispose()


def input_log(
    settings: Settings, on_total: Callable[[int], None]
) -> AsyncIterator[Sequence[Consumed]]:
    """The input topic from its beginning to its current end, a poll at a time."""
    return read_log(settings.kafka_bootstrap_servers, settings.input_topic, on_total=on_total)


async def output_partitions(settings: Settings) -> list[int]:
    """The output topic's partition ids (asked of the cluster), for ``output_tail`` and
    ``output_log`` to share one look-up."""
    return await topic_partitions(settings.kafka_bootstrap_servers, settings.output_topic)


def output_log(
    settings: Settings,
    on_total: Callable[[int], None],
    partitions: Sequence[int] | None = None,
) -> AsyncIterator[Sequence[Consumed]]:
    """The output topic from its beginning to its current end, a poll at a time."""
    return read_log(
        settings.kafka_bootstrap_servers,
        settings.output_topic,
        on_total=on_total,
        partitions=partitions,
    )


async def output_tail(
    settings: Settings, partitions: Sequence[int] | None = None
) -> list[Consumed]:
    """The last record of each partition of the output topic."""
    return await read_tail(
        settings.kafka_bootstrap_servers, settings.output_topic, partitions=partitions
    )


def dead_letter_log(settings: Settings) -> AsyncIterator[Sequence[Consumed]]:
    """The dead-letter topic from its beginning to its current end, a poll at a time."""
    return read_log(settings.kafka_bootstrap_servers, settings.dead_letter_topic)


@contextlib.asynccontextmanager
async def publisher(settings: Settings) -> AsyncIterator[Publisher]:
    """The idempotent producer, started and stopped around the block (for CLI commands)."""
    producer = KafkaPublisher(settings.kafka_bootstrap_servers)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


def follow_output(settings: Settings) -> Follower:
    """Records published to the output topic from now on (for the demo)."""
    return Follower(settings.kafka_bootstrap_servers, settings.output_topic)


def _base_values(path: Path | None) -> dict[str, Any]:
    """The operator's values file for every release (``DEVSESSIONS_CHART_VALUES_FILE``)."""
    if path is None:
        return {}
    loaded = yaml.safe_load(path.read_text())
    if not isinstance(loaded, dict):
        raise TypeError(f"{path}: a chart values file must hold a mapping")
    return loaded


def owner_id() -> str:
    """This process's identity on leases: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclasses.dataclass(frozen=True)
class Parts:
    """The service layer, wired: what both production and the in-memory tests run."""

    intake: Intake
    reconciler: Reconciler
    workers: KeyedWorkers
    relay: OutboxRelay
    resync: Resync


def wire(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    locks: Locks,
    publisher: Publisher,
    helm: Helm,
    cluster: Cluster,
    clock: Clock,
    owner: str | None = None,
    rng: random.Random | None = None,
    on_work: Callable[[str], None] | None = None,
    probe: ClusterProbe | None = None,
    topics: TopicIdentity | None = None,
    progress: LogProgress | None = None,
    log_starts: LogStarts | None = None,
) -> Parts:
    """Connect intake, reconciler, workers, relay and resync over the given ports.

    ``on_work`` replaces what intake calls for a project with work (by default: submit it
    to the workers); in-memory tests pass a hook and reconcile by hand. With ``progress``
    (and a non-zero interval) the resync also sweeps orphans.
    """
    lifetime = timedelta(days=settings.session_lifetime_days)
    images = ImagePolicy.parse(settings.image_allow_list)
    messages = MessageFactory(source=settings.event_source, topic=settings.output_topic)
    relay = OutboxRelay(
        uow=uow,
        locks=locks,
        publisher=publisher,
        clock=clock,
        batch_size=settings.relay_batch_size,
        poll_seconds=settings.relay_poll_seconds,
        send_timeout=settings.relay_send_timeout_seconds,
    )
    config = ReconcileConfig(
        provision=ProvisionConfig(
            url_template=settings.public_url_template,
            ready_timeout=settings.ready_timeout_seconds,
            base_values=_base_values(settings.chart_values_file),
            images=images,
        ),
        namespace_timeout=settings.namespace_delete_timeout_seconds,
        lease_seconds=settings.lease_seconds,
        lifetime=lifetime,
        retry=RetryPolicy(
            max_attempts=settings.max_attempts,
            base_seconds=settings.backoff_base_seconds,
            max_seconds=settings.backoff_max_seconds,
        ),
    )
    reconciler = Reconciler(
        uow=uow,
        locks=locks,
        helm=helm,
        cluster=cluster,
        clock=clock,
        messages=messages,
        config=config,
        owner=owner or owner_id(),
        on_outbox=relay.wake,
        rng=rng,
    )
    # While the cluster is away, work is held (not failed) and resync offers it again.
    work = gated(reconciler.reconcile, probe) if probe else reconciler.reconcile
    workers = KeyedWorkers(work, settings.worker_concurrency)
    intake = Intake(
        uow=uow,
        publisher=publisher,
        clock=clock,
        messages=messages,
        consumer_name=settings.consumer_group,
        dead_letter_topic=settings.dead_letter_topic,
        lifetime=lifetime,
        on_work=on_work or workers.submit,
        on_outbox=relay.wake,
        images=images,
        topics=topics,
    )
    expiry = None
    if settings.session_renewal == "evidence":
        expiry = Expiry(uow=uow, clock=clock, on_work=on_work or workers.submit)
    resync = Resync(
        uow=uow,
        workers=workers,
        clock=clock,
        interval=settings.resync_interval_seconds,
        lifetime=lifetime,
        inbox_retention=timedelta(days=settings.inbox_retention_days),
        cluster=cluster,
        drift_interval=timedelta(seconds=settings.drift_check_interval_seconds),
        orphans=(
            orphan_sweep(
                settings, uow=uow, locks=locks, helm=helm, cluster=cluster, progress=progress
            )
            if progress is not None and settings.orphan_sweep_interval_seconds > 0
            else None
        ),
        orphan_interval=timedelta(seconds=settings.orphan_sweep_interval_seconds),
        expiry=expiry,
        retention=Retention(
            uow=uow,
            log_starts=log_starts,
            topic=settings.input_topic,
            keep=timedelta(days=settings.session_retention_days),
        ),
    )
    return Parts(intake, reconciler, workers, relay, resync)


def orphan_sweep(
    settings: Settings,
    *,
    uow: UnitOfWorkFactory,
    locks: Locks,
    helm: Helm,
    cluster: Cluster,
    progress: LogProgress,
) -> OrphanSweep:
    """The orphan sweep over the given ports, with the configured caps."""
    return OrphanSweep(
        uow=uow,
        locks=locks,
        helm=helm,
        cluster=cluster,
        progress=progress,
        config=SweepConfig(
            group=settings.consumer_group,
            topic=settings.input_topic,
            limits=Limits(
                max_removals=settings.orphan_max_removals_per_sweep,
                max_share=settings.orphan_max_share,
            ),
        ),
    )


@contextlib.asynccontextmanager
async def open_orphan_sweep(settings: Settings) -> AsyncIterator[OrphanSweep]:
    """An orphan sweep on real adapters, for ``devsessions reconcile`` (closed after)."""
    engine = make_engine(settings.database_url, pool_size=2)
    kube = LazyCluster(
        settings.kubeconfig,
        terminating_wait=settings.namespace_delete_timeout_seconds,
        grant=project_grant(settings),
    )
    helm = HelmCli(
        binary=settings.helm_binary,
        chart=settings.chart_path,
        timeout_seconds=settings.helm_timeout_seconds,
        kubeconfig=settings.kubeconfig,
    )
    try:
        yield orphan_sweep(
            settings,
            uow=sql_uow.factory(engine),
            locks=SqlLocks(engine),
            helm=helm,
            cluster=kube,
            progress=KafkaLogProgress(settings.kafka_bootstrap_servers),
        )
    finally:
        kube.close()
        await engine.dispose()


def project_grant(settings: Settings) -> Grant | None:
    """The per-project RoleBinding to make, when a per-project ClusterRole is configured."""
    if not settings.project_cluster_role:
        return None
    if not (settings.service_account_name and settings.service_account_namespace):
        raise ValueError(
            "DEVSESSIONS_PROJECT_CLUSTER_ROLE needs DEVSESSIONS_SERVICE_ACCOUNT_NAME and"
            " DEVSESSIONS_SERVICE_ACCOUNT_NAMESPACE (the service's own ServiceAccount)"
        )
    return Grant(
        settings.project_cluster_role,
        settings.service_account_name,
        settings.service_account_namespace,
    )


def build(
    settings: Settings,
    *,
    helm: Helm | None = None,
    cluster: Cluster | None = None,
    clock: Clock | None = None,
) -> Service:
    """Build a service; ``helm``/``cluster``/``clock`` may be swapped (tests, benchmarks)."""
    clock = clock or SystemClock()
    # Each busy worker holds one connection for its project's lock, the relay leader one.
    pool = settings.db_pool_size + settings.worker_concurrency + 1
    engine = make_engine(settings.database_url, pool_size=pool)
    uow = sql_uow.factory(engine)
    publisher = KafkaPublisher(settings.kafka_bootstrap_servers)
    kube: LazyCluster | None = None
    if cluster is None:  # connects once the cluster answers: starting without one works
        kube = LazyCluster(
            settings.kubeconfig,
            threads=settings.worker_concurrency * 2 + 4,
            terminating_wait=settings.namespace_delete_timeout_seconds,
            grant=project_grant(settings),
        )
        cluster = kube
    cli: HelmCli | None = None
    if helm is None:
        helm = cli = HelmCli(
            binary=settings.helm_binary,
            chart=settings.chart_path,
            timeout_seconds=settings.helm_timeout_seconds,
            kubeconfig=settings.kubeconfig,
            openapi_validation=settings.helm_openapi_validation,
        )
    topics = KafkaTopicIdentity(settings.kafka_bootstrap_servers)
    log_starts = KafkaLogStarts(settings.kafka_bootstrap_servers, topics)
    parts = wire(
        settings,
        uow=uow,
        locks=SqlLocks(engine),
        topics=topics,
        log_starts=log_starts,
        publisher=publisher,
        helm=helm,
        cluster=cluster,
        clock=clock,
        probe=kube,
        progress=KafkaLogProgress(settings.kafka_bootstrap_servers),
    )
    return Service(
        settings=settings,
        engine=engine,
        uow=uow,
        sessions=SessionQueries(uow),
        publisher=publisher,
        cluster=kube,
        intake=parts.intake,
        reconciler=parts.reconciler,
        workers=parts.workers,
        relay=parts.relay,
        resync=parts.resync,
        session_reads=SqlSessionReads(engine),
        session_renewals=SqlSessionRenewals(engine),
        session_changes=PgSessionChanges(settings.database_url),
        intent_log=KafkaIntentLog(
            settings.kafka_bootstrap_servers,
            topic=settings.input_topic,
            source=settings.api_event_source,
            timeout_seconds=settings.api_publish_timeout_seconds,
        ),
        topics=topics,
        log_starts=log_starts,
        helm=cli,
    )

"""Periodic resync: hands due sessions to the workers, repairs drift, expires lapsed
sessions (or, with blanket renewal, renews every running one), prunes the inbox,
published outbox rows and, where replay safety allows, ended sessions, and sweeps
orphans at its own interval.

Events wake the workers directly; this loop is the safety net that makes the system
converge anyway: after a restart or a crash mid-action (sessions left ``provisioning``
or ``deleting``), when a retry's backoff expires, or when another replica's lease lapsed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from consumer.domain import naming
from consumer.observability import metrics
from consumer.ports import Clock, Cluster, UnitOfWorkFactory
from consumer.service.expiry import Expiry
from consumer.service.loops import run_periodically
from consumer.service.orphans import OrphanSweep
from consumer.service.retention import Retention
from consumer.service.workers import KeyedWorkers

log = structlog.get_logger(__name__)
DRIFT_READS = 8  # Deployment reads of one drift check in flight at once


class Resync:
    """Finds sessions that need work and submits them."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        workers: KeyedWorkers,
        clock: Clock,
        interval: float,
        lifetime: timedelta,
        inbox_retention: timedelta = timedelta(days=30),
        cluster: Cluster | None = None,
        drift_interval: timedelta = timedelta(minutes=5),
        orphans: OrphanSweep | None = None,
        orphan_interval: timedelta = timedelta(minutes=10),
        expiry: Expiry | None = None,
        retention: Retention | None = None,
    ) -> None:
        """``expiry`` None means blanket renewal: running sessions are renewed on every
        pass and nothing expires (``SESSION_RENEWAL=always``)."""
        self._uow, self._workers, self._clock = uow, workers, clock
        self._interval, self._lifetime = interval, lifetime
        self._retention = inbox_retention
        self._expiry, self._sessions_retention = expiry, retention
        self._cluster, self._drift_interval = cluster, drift_interval
        self._last_prune: datetime | None = None
        self._last_drift_check: datetime | None = None
        self._orphans, self._orphan_interval = orphans, orphan_interval
        self._last_orphan_sweep: datetime | None = None

    async def check_drift(self) -> int:
        """Send running sessions whose namespace vanished, or whose release's Deployment
        is gone or scaled to zero (a release uninstalled or edited by hand), back to
        provisioning.

        One namespace list per check, then one Deployment list per running session in a
        namespace that is there (``DRIFT_READS`` at a time; a read that fails counts as
        no drift). Absence only ever leads to re-creating what the log says should
        exist, never to deleting anything.
        """
        if self._cluster is None:
            return 0
        async with self._uow() as uow:
            running = await uow.schedule.running()
        if not running:
            return 0
        present = await self._cluster.managed_namespaces()
        missing = [p for p in running if p not in present]
        missing += await self._without_workload([p for p in running if p in present])
        drifted = 0
        if missing:
            async with self._uow() as uow:
                drifted = await uow.schedule.mark_drifted(missing, self._clock.now())
                await uow.commit()
        if drifted:
            metrics.DRIFTED.inc(drifted)
            log.warning(
                "sessions drifted: namespace or workload gone, provisioning again",
                projects=missing[:20],
                count=drifted,
            )
        return drifted

    async def _without_workload(self, projects: list[str]) -> list[str]:
        cluster = self._cluster
        assert cluster is not None
        gate = asyncio.Semaphore(DRIFT_READS)

        async def gone(project: str) -> bool:
            async with gate:
                ns, name = naming.namespace_for(project), naming.release_for(project)
                try:
                    return not await cluster.workload_present(ns, name)
                except Exception as exc:  # one unreadable namespace must not stop the check
                    log.warning("drift check: workload not read", project=project, error=repr(exc))
                    return False

        verdicts = await asyncio.gather(*(gone(p) for p in projects))
        return [p for p, is_gone in zip(projects, verdicts, strict=True) if is_gone]

    async def once(self) -> int:
        """Submit every due session now; returns how many."""
        now = self._clock.now()
        if self._last_drift_check is None or now - self._last_drift_check >= self._drift_interval:
            self._last_drift_check = now
            await self.check_drift()
        due = await self._submit_due(now)
        renewed = expired = 0
        if self._expiry is None:
            async with self._uow() as uow:
                renewed = await uow.schedule.renew_expiry(now, self._lifetime.total_seconds())
                await uow.commit()
        else:
            expired = await self._expiry.sweep()
        pruned = 0
        if self._last_prune is None or now - self._last_prune > timedelta(hours=1):
            pruned = await self._prune(now - self._retention)
            if self._sessions_retention is not None:
                pruned += await self._sessions_retention.prune(now)
            self._last_prune = now
        if due or renewed or expired or pruned:
            log.info("resync", due=len(due), renewed=renewed, expired=expired, pruned=pruned)
        await self._maybe_sweep_orphans(now)
        return len(due)

    async def _maybe_sweep_orphans(self, now: datetime) -> None:
        """Sweep orphans once per orphan interval, the first one interval after start.

        Not at once: right after a start (or inside ``devsessions replay``, which calls
        ``once``) the database may be catching up with the log. A failed sweep is logged
        and waits for its next turn; it never holds up the rest of the resync.
        """
        if self._orphans is None:
            return
        if self._last_orphan_sweep is None:
            self._last_orphan_sweep = now
            return
        if now - self._last_orphan_sweep < self._orphan_interval:
            return
        self._last_orphan_sweep = now
        try:
            await self._orphans.sweep()
        except Exception as exc:  # CancelledError is not an Exception: it propagates
            log.warning("orphan sweep failed; next one in an interval", error=repr(exc)[:300])

    async def takeover(self) -> int:
        """Submit due work only (a cheap query): run often, it is what hands a dead
        replica's projects to live workers within seconds (their project locks are free)."""
        return len(await self._submit_due(self._clock.now()))

    async def _submit_due(self, now: datetime) -> list[str]:
        async with self._uow() as uow:
            due = await uow.schedule.due(now)
        for project_uuid in due:
            self._workers.submit(project_uuid)
        return due

    async def _prune(self, before: datetime) -> int:
        """Forget consumed event ids and published outbox rows from before ``before``.

        Order and idempotency of old events rest on each project's high-water mark; the
        inbox only has to catch redeliveries, which come soon. Unsent rows are kept.
        """
        async with self._uow() as uow:
            pruned = await uow.inbox.prune(before) + await uow.outbox.prune(before)
            await uow.commit()
        return pruned

    async def run(self) -> None:
        """Resync forever."""
        await run_periodically(self.once, interval=self._interval, name="resync")

    async def run_takeover(self, interval: float) -> None:
        """Check for due work every ``interval`` seconds, forever."""
        await run_periodically(self.takeover, interval=interval, name="takeover")

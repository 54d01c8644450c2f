"""Periodic resync: hands due sessions to the workers, repairs drift, expires lapsed
sessions (or, with blanket renewal, renews every running one), prunes the inbox,
published outbox rows and, where replay safety allows, ended sessions.

Events wake the workers directly; this loop is the safety net that makes the system
converge anyway: after a restart or a crash mid-action (sessions left ``provisioning``
or ``deleting``), when a retry's backoff expires, or when another replica's lease lapsed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import structlog

from consumer.observability import metrics
from consumer.ports import Clock, Cluster, UnitOfWorkFactory
from consumer.service.expiry import Expiry
from consumer.service.loops import run_periodically
from consumer.service.retention import Retention
from consumer.service.workers import KeyedWorkers

log = structlog.get_logger(__name__)


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

    async def check_drift(self) -> int:
        """Send running sessions whose namespace vanished back to provisioning.

        One namespace list per check. Absence only ever leads to re-creating what the
        log says should exist, never to deleting anything.
        """
        if self._cluster is None:
            return 0
        async with self._uow() as uow:
            running = await uow.schedule.running()
        if not running:
            return 0
        present = await self._cluster.managed_namespaces()
        missing = [p for p in running if p not in present]
        drifted = 0
        if missing:
            async with self._uow() as uow:
                drifted = await uow.schedule.mark_drifted(missing, self._clock.now())
                await uow.commit()
        if drifted:
            metrics.DRIFTED.inc(drifted)
            log.warning(
                "sessions drifted: namespace gone, provisioning again",
                projects=missing[:20],
                count=drifted,
            )
        return drifted

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
        return len(due)

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

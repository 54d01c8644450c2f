"""Periodic resync: hands due sessions to the workers, repairs drift, renews expiries,
prunes the inbox and published outbox rows.

Events wake the workers directly; this loop is the safety net that makes the system
converge anyway: after a restart or a crash mid-action (sessions left ``provisioning``
or ``deleting``), when a retry's backoff expires, or when another replica's lease lapsed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import structlog

from consumer.observability import metrics
from consumer.ports import Clock, Cluster, Store
from consumer.service.workers import KeyedWorkers

log = structlog.get_logger(__name__)


class Resync:
    """Finds sessions that need work and submits them."""

    def __init__(
        self,
        *,
        store: Store,
        workers: KeyedWorkers,
        clock: Clock,
        interval: float,
        lifetime: timedelta,
        inbox_retention: timedelta = timedelta(days=30),
        cluster: Cluster | None = None,
        drift_interval: timedelta = timedelta(minutes=5),
    ) -> None:
        self._store, self._workers, self._clock = store, workers, clock
        self._interval, self._lifetime = interval, lifetime
        self._retention = inbox_retention
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
        running = await self._store.running_projects()
        if not running:
            return 0
        present = await self._cluster.managed_namespaces()
        missing = [p for p in running if p not in present]
        drifted = await self._store.mark_drifted(missing, self._clock.now()) if missing else 0
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
        due = await self._store.due(now)
        for project_uuid in due:
            self._workers.submit(project_uuid)
        renewed = await self._store.renew_expiry(now, self._lifetime.total_seconds())
        pruned = 0
        if self._last_prune is None or now - self._last_prune > timedelta(hours=1):
            pruned = await self._store.prune(now - self._retention)
            self._last_prune = now
        if due or renewed or pruned:
            log.info("resync", due=len(due), renewed=renewed, pruned=pruned)
        return len(due)

    async def run(self) -> None:
        """Resync forever."""
        while True:
            try:
                await self.once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("resync failed; retrying")
            await asyncio.sleep(self._interval)

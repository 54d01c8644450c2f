"""Periodic resync: hands due sessions to the workers and renews expiries.

Events wake the workers directly; this loop is the safety net that makes the system
converge anyway: after a restart or a crash mid-action (sessions left ``provisioning``
or ``deleting``), when a retry's backoff expires, or when another replica's lease lapsed.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import structlog

from consumer.ports import Clock, Store
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
    ) -> None:
        self._store, self._workers, self._clock = store, workers, clock
        self._interval, self._lifetime = interval, lifetime

    async def once(self) -> int:
        """Submit every due session now; returns how many."""
        due = await self._store.due(self._clock.now())
        for project_uuid in due:
            self._workers.submit(project_uuid)
        renewed = await self._store.renew_expiry(self._clock.now(), self._lifetime.total_seconds())
        if due or renewed:
            log.info("resync", due=len(due), renewed=renewed)
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

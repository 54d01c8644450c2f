"""Expiry sweep: sessions whose expiry passed without renewal are wanted absent.

Resync calls ``sweep`` on every pass. Each lapsed session is decided like an intake
event (project lock, row lock, pure ``domain.expiry.expire``), so a ``ProjectCreated``
applied meanwhile (which renews) wins; the reconciler then tears the session down and
publishes ``SessionDeleted`` with ``reason: expired``.
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from consumer.domain import expiry
from consumer.observability import metrics
from consumer.ports import Clock, UnitOfWorkFactory

log = structlog.get_logger(__name__)


class Expiry:
    """Turns lapsed sessions into teardowns."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        on_work: Callable[[str], None],
        batch: int = 500,
    ) -> None:
        self._uow, self._clock, self._on_work, self._batch = uow, clock, on_work, batch

    async def sweep(self) -> int:
        """Expire every lapsed session (up to one batch); returns how many."""
        now = self._clock.now()
        async with self._uow() as uow:
            lapsed = await uow.schedule.lapsed(now, limit=self._batch)
        if not lapsed:
            return 0
        async with self._uow() as uow:
            await uow.sessions.lock_many(lapsed)
            current = await uow.sessions.get_many(lapsed, for_update=True)
            doomed = [
                (was, gone)
                for was in current.values()
                if (gone := expiry.expire(was, now)) is not None
            ]
            await uow.sessions.put_many([gone for _, gone in doomed])
            await uow.commit()
        for was, gone in doomed:
            log.info(
                "session expired: tearing down",
                project_uuid=gone.project_uuid,
                expires_at=was.expires_at.isoformat(),
                status=was.status.value,
                generation=gone.generation,
            )
            self._on_work(gone.project_uuid)
        metrics.EXPIRED.inc(len(doomed))
        return len(doomed)

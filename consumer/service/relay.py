"""The outbox relay: publishes committed outbox rows with the idempotent producer.

Woken at once by this process after it commits outbox rows, and by a poll otherwise (to
pick up rows written by other replicas or left by a crash). One relay publishes at a
time, so rows go out in id order: the leader holds a session-level lock (``ports.Locks``,
freed by the database the moment a leader dies) for the whole flush. No transaction is
open while it waits for Kafka's acknowledgements: a batch is read in one short unit of
work, sent (bounded by a timeout), then marked sent in another. A failed or timed-out
send marks nothing, and a crash between sending and marking republishes the same
records with the same event ids, which downstream recognises. The shutdown flush
(``drain``) is bounded too.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from consumer.observability import metrics
from consumer.ports import Clock, Locks, OutboxRow, Publisher, UnitOfWorkFactory
from consumer.service.loops import run_periodically

log = structlog.get_logger(__name__)
LEADER_LOCK = "devsessions.outbox-relay"


class OutboxRelay:
    """Moves outbox rows to Kafka in id order."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        locks: Locks,
        publisher: Publisher,
        clock: Clock,
        batch_size: int,
        poll_seconds: float,
        send_timeout: float = 30.0,
    ) -> None:
        self._uow, self._locks, self._publisher, self._clock = uow, locks, publisher, clock
        self._batch, self._poll, self._send_timeout = batch_size, poll_seconds, send_timeout
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed to the outbox: publish soon."""
        self._wake.set()

    async def flush(self) -> int:
        """Publish everything pending now; returns how many records went out (0 when
        another relay leads)."""
        async with self._locks.hold(LEADER_LOCK) as leading:
            if not leading:
                return 0
            total = 0
            while sent := await self._publish_batch():
                total += sent
            return total

    async def drain(self, timeout: float) -> int:
        """``flush`` for shutdown: gives up after ``timeout`` seconds (what is left stays
        in the outbox for the next leader) and never raises."""
        try:
            return await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.warning("outbox flush cut off at shutdown", timeout=timeout)
        except Exception as exc:
            log.warning("outbox flush failed at shutdown", error=repr(exc))
        return 0

    async def _publish_batch(self) -> int:
        """Read a batch, send it, mark it sent; 0 when nothing is pending."""
        async with self._uow() as uow:
            batch = await uow.outbox.claim_batch(self._batch)
        if not batch:
            return 0
        await asyncio.wait_for(self._send(batch), self._send_timeout)
        async with self._uow() as uow:
            await uow.outbox.mark_sent([row.id for row in batch], self._clock.now())
            await uow.commit()
        return len(batch)

    async def run(self) -> None:
        """Publish forever; failures are logged and retried on the next poll."""
        await run_periodically(
            self.flush, interval=self._poll, name="outbox-relay", wake=self._wake
        )

    async def _send(self, rows: Sequence[OutboxRow]) -> None:
        await self._publisher.send_many([row.message for row in rows])
        now = self._clock.now()
        for row in rows:
            metrics.OUTBOX_PUBLISHED.labels(type=row.message.event_type).inc()
            if row.created_at is not None:
                metrics.OUTBOX_LAG.observe(max(0.0, (now - row.created_at).total_seconds()))
        log.debug("outbox published", count=len(rows))

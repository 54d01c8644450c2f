"""The outbox relay: publishes committed outbox rows with the idempotent producer.

Woken at once by this process after it commits outbox rows, and by a poll otherwise (to
pick up rows written by other replicas or left by a crash). One batch is one unit of
work: claim the oldest unsent rows, send them, mark them sent, commit. A failed send
rolls back, and a crash between sending and committing republishes the same records
with the same event ids, which downstream recognises.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import structlog

from consumer.observability import metrics
from consumer.ports import Clock, OutboxRow, Publisher, UnitOfWorkFactory
from consumer.service.loops import run_periodically

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Moves outbox rows to Kafka in id order."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        publisher: Publisher,
        clock: Clock,
        batch_size: int,
        poll_seconds: float,
    ) -> None:
        self._uow, self._publisher, self._clock = uow, publisher, clock
        self._batch, self._poll = batch_size, poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed to the outbox: publish soon."""
        self._wake.set()

    async def flush(self) -> int:
        """Publish everything pending now; returns how many records went out."""
        total = 0
        while sent := await self.publish_batch():
            total += sent
        return total

    async def publish_batch(self) -> int:
        """Claim a batch, send it, mark it sent; 0 when nothing is pending (or another
        relay is publishing)."""
        async with self._uow() as uow:
            batch = await uow.outbox.claim_batch(self._batch)
            if not batch:
                return 0
            await self._send(batch)
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

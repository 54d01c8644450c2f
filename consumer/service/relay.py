"""The outbox relay: publishes committed outbox rows with the idempotent producer.

Woken at once by this process after it commits outbox rows, and by a poll otherwise (to
pick up rows written by other replicas or left by a crash). Publishing and marking sent
happen in one transaction; a crash between the two republishes the same records with the
same event ids, which downstream recognises.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import structlog

from consumer.observability import metrics
from consumer.ports import Clock, OutboxRow, Publisher, Store

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Moves outbox rows to Kafka in id order."""

    def __init__(
        self,
        *,
        store: Store,
        publisher: Publisher,
        clock: Clock,
        batch_size: int,
        poll_seconds: float,
    ) -> None:
        self._store, self._publisher, self._clock = store, publisher, clock
        self._batch, self._poll = batch_size, poll_seconds
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something was committed to the outbox: publish soon."""
        self._wake.set()

    async def flush(self) -> int:
        """Publish everything pending now; returns how many records went out."""
        total = 0
        while sent := await self._store.relay_batch(
            limit=self._batch, send=self._send, now=self._clock.now()
        ):
            total += sent
        return total

    async def run(self) -> None:
        """Publish forever; failures are logged and retried on the next wake or poll."""
        while True:
            self._wake.clear()
            try:
                await self.flush()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("outbox relay failed; retrying")
                await asyncio.sleep(self._poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    async def _send(self, rows: Sequence[OutboxRow]) -> None:
        await self._publisher.send_many(
            [(r.message.topic, r.message.key, r.message.value, r.message.headers) for r in rows]
        )
        now = self._clock.now()
        for row in rows:
            metrics.OUTBOX_PUBLISHED.labels(type=row.message.event_type).inc()
            if row.created_at is not None:
                metrics.OUTBOX_LAG.observe(max(0.0, (now - row.created_at).total_seconds()))
        log.debug("outbox published", count=len(rows), at=now.isoformat())

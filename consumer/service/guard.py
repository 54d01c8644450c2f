"""Delivery guard around intake: decides when a record may be acknowledged.

The subscriber commits an offset only after this returns. Database trouble (the store is
unreachable) is retried with backoff, then the record is handed back to Kafka
(``retry_later``) so the consumer keeps polling and never trips ``max.poll.interval.ms``;
nothing passes an unapplied event. Any other failure is a poison record: after a few
attempts it is dead-lettered with the error, so one bad record never blocks its
partition.
"""

from __future__ import annotations

import asyncio
import enum
import time

import structlog
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from consumer.service.intake import Intake, RawRecord

log = structlog.get_logger(__name__)

_UNAVAILABLE = (OperationalError, InterfaceError, ConnectionError, OSError, TimeoutError)


class Verdict(enum.StrEnum):
    """What the subscriber does with the record's offset."""

    ACK = "ack"
    RETRY_LATER = "retry_later"


def _unavailable(exc: BaseException) -> bool:
    if isinstance(exc, _UNAVAILABLE):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


class DeliveryGuard:
    """Runs intake for one record with bounded retries."""

    def __init__(
        self,
        intake: Intake,
        *,
        max_attempts: int,
        budget_seconds: float,
        base_delay: float = 0.5,
        max_delay: float = 10.0,
    ) -> None:
        self._intake = intake
        self._max_attempts = max_attempts
        self._budget = budget_seconds
        self._base, self._max = base_delay, max_delay

    async def process(self, record: RawRecord) -> Verdict:
        """Apply ``record``; ACK once durable or dead-lettered, RETRY_LATER to re-read."""
        deadline = time.monotonic() + self._budget
        failures = 0
        while True:
            try:
                await self._intake.handle(record)
                return Verdict.ACK
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                if not _unavailable(exc) and failures >= self._max_attempts:
                    return await self._poison(record, exc, failures)
                delay = min(self._max, self._base * 2 ** (failures - 1))
                log.warning(
                    "intake failed; retrying",
                    error=repr(exc),
                    attempt=failures,
                    partition=record.partition,
                    offset=record.offset,
                )
                if time.monotonic() + delay > deadline:
                    return Verdict.RETRY_LATER
                await asyncio.sleep(delay)

    async def _poison(self, record: RawRecord, exc: Exception, failures: int) -> Verdict:
        reason = f"processing failed {failures} times: {type(exc).__name__}: {exc}"[:1000]
        try:
            await self._intake.dead_letter(record, "processing-failed", reason)
        except Exception:
            log.exception("dead-letter publish failed; will re-read the record")
            return Verdict.RETRY_LATER
        return Verdict.ACK

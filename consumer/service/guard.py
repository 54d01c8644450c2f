"""Delivery guard around intake: decides when a batch of records may be acknowledged.

The subscriber commits offsets only after this returns. A batch is applied in one unit
of work. Database trouble (the database is unreachable) is retried with backoff, then
the batch is handed back to Kafka (``retry_later``) so the consumer keeps polling and
never trips ``max.poll.interval.ms``; nothing passes an unapplied event. Any other
failure of a batch falls back to its records one by one, so a poison record is found
and, after a few attempts, dead-lettered with the error, while its neighbours are
applied: one bad record never blocks its partition or takes its batch with it.

The per-record failure counts are kept only for partitions this consumer still reads:
a rebalance that takes a partition away forgets its counts (``forget``; another
consumer owns the record now, and a stale count would dead-letter it early should the
partition come back), and a record read past supersedes the counts of its partition.
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections.abc import Iterable, Sequence

import structlog

from consumer.ports import DatabaseUnavailable
from consumer.service.intake import Intake, RawRecord

log = structlog.get_logger(__name__)

# The database adapter says which of its failures are the database's state (connection,
# starting up, too many clients, read-only standby, serialization, lock timeouts, ...):
# ``DatabaseUnavailable``. Raw network errors and timeouts count as that too.
_UNAVAILABLE = (DatabaseUnavailable, ConnectionError, OSError, TimeoutError)


class Verdict(enum.StrEnum):
    """What the subscriber does with the record's offset."""

    ACK = "ack"
    RETRY_LATER = "retry_later"


def unavailable(exc: BaseException) -> bool:
    """True when the failure is the database's state: retry, never dead-letter."""
    return isinstance(exc, _UNAVAILABLE)


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
        # Failures per record survive a hand-back to Kafka, so a poison record whose
        # attempts are slow still reaches the dead-letter topic instead of looping.
        self._failures: dict[tuple[str, int, int], int] = {}

    def forget(self, partitions: Iterable[tuple[str, int]]) -> None:
        """Drop the failure counts of ``partitions`` (revoked: another consumer reads them)."""
        gone = set(partitions)
        for where in [w for w in self._failures if (w[0], w[1]) in gone]:
            del self._failures[where]

    def pending_failures(self) -> int:
        """How many records have failure counts held (for tests and metrics)."""
        return len(self._failures)

    async def process_batch(self, records: Sequence[RawRecord]) -> Verdict:
        """Apply ``records`` together; ACK once all are durable or dead-lettered.

        RETRY_LATER: re-read the batch (what was applied of it comes back as duplicates).
        """
        deadline = time.monotonic() + self._budget
        outages = 0
        while True:
            try:
                await self._intake.handle_batch(records)
                for record in records:  # applied: counts of earlier attempts are history
                    self._failures.pop((record.topic, record.partition, record.offset), None)
                return Verdict.ACK
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if not unavailable(exc):
                    log.warning(
                        "batch failed; applying its records one by one",
                        error=repr(exc),
                        records=len(records),
                    )
                    return await self._one_by_one(records, deadline)
                outages += 1
                delay = min(self._max, self._base * 2 ** (outages - 1))
                log.warning("intake of a batch failed; retrying", error=repr(exc), attempt=outages)
                if time.monotonic() + delay > deadline:
                    return Verdict.RETRY_LATER
                await asyncio.sleep(delay)

    async def _one_by_one(self, records: Sequence[RawRecord], deadline: float) -> Verdict:
        for record in records:
            if await self.process(record, deadline=deadline) is Verdict.RETRY_LATER:
                return Verdict.RETRY_LATER
        return Verdict.ACK

    async def process(self, record: RawRecord, *, deadline: float | None = None) -> Verdict:
        """Apply ``record``; ACK once durable or dead-lettered, RETRY_LATER to re-read."""
        deadline = deadline or time.monotonic() + self._budget
        where = (record.topic, record.partition, record.offset)
        self._supersede(where)
        while True:
            try:
                await self._intake.handle(record)
                self._failures.pop(where, None)
                return Verdict.ACK
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures = self._failures[where] = self._failures.get(where, 0) + 1
                if not unavailable(exc) and failures >= self._max_attempts:
                    verdict = await self._poison(record, exc, failures)
                    if verdict is Verdict.ACK:
                        self._failures.pop(where, None)
                    return verdict
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

    def _supersede(self, where: tuple[str, int, int]) -> None:
        """Another offset of the same partition is being read: the old count is history
        (at most one count per partition is ever held)."""
        for old in [w for w in self._failures if w[:2] == where[:2] and w != where]:
            del self._failures[old]

    async def _poison(self, record: RawRecord, exc: Exception, failures: int) -> Verdict:
        reason = f"processing failed {failures} times: {type(exc).__name__}: {exc}"[:1000]
        try:
            await self._intake.dead_letter(record, "processing-failed", reason)
        except Exception:
            log.exception("dead-letter publish failed; will re-read the record")
            return Verdict.RETRY_LATER
        return Verdict.ACK

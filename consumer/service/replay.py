"""Replay: converge PostgreSQL and the cluster to the input log's final state.

First the output topic's events are recorded as already sent (``announced``: a rebuilt
database announces again only what was never announced). Then two phases, so the
cluster never sees a transient state of the log (a create that a later delete cancels
is never installed):
1. read the whole input topic and apply every event to PostgreSQL (inbox and per-project
   high-water marks make already-applied events no-ops: a replay onto a complete database
   changes nothing and calls Helm zero times);
2. reconcile every session that is not converged (on an empty database this adopts the
   releases that already exist, instead of reinstalling them), then flush the outbox.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import structlog

from consumer.service.guard import unavailable
from consumer.service.intake import Intake
from consumer.service.queries import SessionQueries
from consumer.service.records import Consumed
from consumer.service.relay import OutboxRelay
from consumer.service.scheduler import Resync
from consumer.service.workers import KeyedWorkers

log = structlog.get_logger(__name__)

BATCH = 2000
AHEAD = 4  # batches whose inbox check may run at once


@dataclasses.dataclass
class ReplayReport:
    """What a replay did."""

    records: int = 0
    outcomes: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    reconciled: int = 0
    unconverged: list[str] = dataclasses.field(default_factory=list)
    published: int = 0
    announced: int = 0  # events already on the output topic, recorded as sent


@dataclasses.dataclass(frozen=True)
class Progress:
    """Callbacks for a progress display."""

    total: Callable[[str, int], None] = lambda _phase, _n: None
    advance: Callable[[str, int], None] = lambda _phase, _n: None


async def apply_log(
    log: AsyncIterator[Sequence[Consumed]], intake: Intake, *, progress: Progress = Progress()
) -> collections.Counter[str]:
    """Phase 1: apply every record of ``log`` (polls of records) to PostgreSQL, in batches
    of at least ``BATCH``; the outcomes.

    Reading runs ahead of applying: the inbox check of up to ``AHEAD`` batches runs
    while the log is read further (the checks only read), and the batches are applied
    strictly in log order, each after the one before it.
    """
    outcomes: collections.Counter[str] = collections.Counter()
    pending: collections.deque[tuple[list[Consumed], asyncio.Task[list[bool]]]]
    pending = collections.deque()

    async def apply_oldest() -> None:
        batch, check = pending.popleft()
        outcomes.update(await _apply(intake, batch, await check))
        progress.advance("read", len(batch))

    batch: list[Consumed] = []
    try:
        async for polled in log:
            batch.extend(polled)
            if len(batch) >= BATCH:
                pending.append((batch, asyncio.create_task(intake.known(batch))))
                batch = []
                if len(pending) >= AHEAD:
                    await apply_oldest()
        if batch:
            pending.append((batch, asyncio.create_task(intake.known(batch))))
        while pending:
            await apply_oldest()
    finally:
        for _, check in pending:
            check.cancel()
    return outcomes


async def _apply(intake: Intake, batch: list[Consumed], known: list[bool]) -> dict[str, int]:
    """Outcomes of one batch. A batch that fails (not an outage) is applied again record by
    record, and a record that cannot be applied is counted as ``failed`` and skipped, as
    the consumer dead-letters it: one poison record does not stop a replay."""
    try:
        applied = await intake.handle_many(batch, dead_letter=False, known=known)
        return {o.value: n for o, n in collections.Counter(applied).items()}
    except Exception as exc:
        if unavailable(exc):
            raise
        log.warning("replay batch failed; applying its records one by one", error=repr(exc))
    outcomes: collections.Counter[str] = collections.Counter()
    for record, old in zip(batch, known, strict=True):
        try:
            [outcome] = await intake.handle_many([record], dead_letter=False, known=[old])
        except Exception as exc:
            if unavailable(exc):
                raise
            log.warning(
                "replay skipped a record that cannot be applied",
                error=repr(exc),
                partition=record.partition,
                offset=record.offset,
            )
            outcomes["failed"] += 1
        else:
            outcomes[outcome.value] += 1
    return outcomes


async def replay(
    log: AsyncIterator[Sequence[Consumed]],
    *,
    intake: Intake,
    sessions: SessionQueries,
    workers: KeyedWorkers,
    resync: Resync,
    relay: OutboxRelay,
    timeout: float,
    progress: Progress = Progress(),
    announced: Callable[[], Awaitable[int]] | None = None,
) -> ReplayReport:
    """Run both phases; ``workers`` must not be started yet (phase 1 only queues).
    ``announced``: records the output topic's events as sent, first (see ``announced``)."""
    report = ReplayReport()
    if announced is not None:
        report.announced = await announced()
    report.outcomes = await apply_log(log, intake, progress=progress)
    report.records = sum(report.outcomes.values())
    unconverged = list(await sessions.unconverged())
    progress.total("reconcile", len(unconverged))
    report.reconciled = len(unconverged)
    workers.start()
    deadline = time.monotonic() + timeout
    while unconverged and time.monotonic() < deadline:
        await resync.once()
        await workers.wait_idle()
        still = list(await sessions.unconverged())
        progress.advance("reconcile", len(unconverged) - len(still))
        unconverged = still
        if unconverged:
            await asyncio.sleep(1.0)
    report.unconverged = unconverged
    report.published = await relay.flush()
    return report

"""Retention of ended sessions: forget ``deleted`` and ``failed`` rows past the retention,
but only those whose high-water mark the input log can no longer contradict.

The rule is ``domain.retention.prunable``; the log's start comes from ``ports.LogStarts``.
A row that is past retention but still guarded by the log is kept and counted
(``devsessions_prune_kept_for_replay_total``); it goes on a later pass once Kafka's own
retention moved the partition's start past its mark.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import structlog

from consumer.domain import retention
from consumer.observability import metrics
from consumer.ports import LogStarts, UnitOfWorkFactory

log = structlog.get_logger(__name__)


class Retention:
    """Prunes ended session rows where replay safety allows."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        log_starts: LogStarts | None,
        topic: str,
        keep: timedelta,
        batch: int = 1000,
    ) -> None:
        self._uow, self._log_starts, self._topic = uow, log_starts, topic
        self._keep, self._batch = keep, batch

    async def prune(self, now: datetime) -> int:
        """Forget what may go (up to one batch of candidates); returns how many rows."""
        before = now - self._keep
        async with self._uow() as uow:
            candidates = await uow.schedule.ended(before, limit=self._batch)
        if not candidates or self._log_starts is None:
            return 0
        try:
            start = await self._log_starts.log_start(self._topic)
        except Exception as exc:  # unknown log start: keep everything this time
            log.warning("retention skipped: input log start unknown", error=str(exc))
            return 0
        chosen = [s for s in candidates if retention.prunable(s, before=before, log=start)]
        forgotten: list[str] = []
        if chosen:
            async with self._uow() as uow:
                forgotten = await uow.schedule.forget(chosen)
                await uow.commit()
        gone = set(forgotten)
        by_status = Counter(s.status.value for s in chosen if s.project_uuid in gone)
        for status, count in by_status.items():
            metrics.PRUNED_SESSIONS.labels(status=status).inc(count)
        kept = sum(1 for s in candidates if not retention.mark_released(s.high_water, start))
        metrics.PRUNE_KEPT.inc(kept)
        if gone or kept:
            log.info(
                "retention of ended sessions",
                pruned=len(gone),
                kept_for_replay=kept,
                by_status=dict(by_status),
                projects=sorted(gone)[:20],
            )
        return len(gone)

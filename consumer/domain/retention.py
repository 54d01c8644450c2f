"""Retention of ended sessions (pure): which ``deleted`` / ``failed`` rows may be forgotten.

A deleted session's row is a tombstone: its high-water mark is what makes a replayed old
``ProjectCreated`` stale instead of a resurrection. So a row may go only when it ended
long enough ago (the retention) *and* the input log can no longer deliver any event at or
before its mark: the mark's partition now starts past the mark's offset (records were
deleted by Kafka's retention or ``DeleteRecords``), or the topic was re-created (another
topic id: the old log is gone). When in doubt (log start unknown, partition unknown) the
row stays. A failed teardown stays too: its namespace may still exist, and an operator
has to see it (``devsessions sessions retry``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime

from consumer.domain.model import Desired, LogPosition, SessionState, Status


@dataclasses.dataclass(frozen=True)
class LogStart:
    """Where the input topic begins now: its id and each partition's log-start offset
    (the earliest offset Kafka can still deliver)."""

    topic_id: str | None
    earliest: Mapping[int, int]


def mark_released(mark: LogPosition | None, log: LogStart) -> bool:
    """True when ``log`` can no longer deliver an event at or before ``mark``."""
    if mark is None:  # nothing was applied from the log: nothing to hold back
        return True
    if mark.topic_id and log.topic_id and mark.topic_id != log.topic_id:
        return True  # the topic was re-created: the mark's log is gone
    start = log.earliest.get(mark.partition)
    return start is not None and start > mark.offset


def ended_at(session: SessionState) -> datetime | None:
    """When the session ended for retention's purpose; None while it is not prunable."""
    # The last change counts: a duplicate delete answered since means the log still
    # speaks of the project.
    if session.status is Status.DELETED or (
        session.status is Status.FAILED and session.desired is Desired.PRESENT
    ):
        return session.updated_at
    return None  # live, in progress, or a failed teardown (resources may remain)


def prunable(session: SessionState, *, before: datetime, log: LogStart) -> bool:
    """True when ``session``'s row may be deleted: ended before ``before``, converged,
    and its high-water mark released by the log."""
    ended = ended_at(session)
    if ended is None or ended >= before or not session.converged:
        return False
    return mark_released(session.high_water, log)

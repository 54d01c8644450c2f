"""Retry bookkeeping lives in ``domain.backoff``: a failure counts and schedules, a fresh
start clears; the decisions that start afresh all go through it."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from consumer.domain import backoff, reconcile
from consumer.domain.model import Status
from tests.unit.test_values import session

NOW = datetime(2026, 1, 2, tzinfo=UTC)


def test_failed_attempts_count_and_a_fresh_start_clears_them() -> None:
    once = backoff.failed_attempt(session({}), "boom", retry_at=NOW + timedelta(seconds=4))
    twice = backoff.failed_attempt(once, "boom again", retry_at=None, status=Status.FAILED)
    assert (once.attempts, once.last_error, once.next_attempt_at) == (
        1,
        "boom",
        NOW + timedelta(seconds=4),
    )
    assert (twice.attempts, twice.last_error, twice.next_attempt_at) == (2, "boom again", None)
    assert twice.status is Status.FAILED
    cleared = backoff.fresh_start(twice, status=Status.PENDING)
    assert (cleared.attempts, cleared.last_error, cleared.next_attempt_at) == (0, None, None)


def test_a_manual_retry_starts_afresh_and_counts_the_retry() -> None:
    failed = backoff.failed_attempt(
        dataclasses.replace(session({}), status=Status.FAILED), "x", retry_at=None
    )
    revived = reconcile.retried(failed, NOW)
    assert (revived.attempts, revived.last_error, revived.retries) == (0, None, 1)
    assert revived.status is Status.PENDING and revived.updated_at == NOW

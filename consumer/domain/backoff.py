"""Retrying Helm and Kubernetes work: exponential backoff with jitter, and the retry
bookkeeping on a session (``attempts``, ``last_error``, ``next_attempt_at``), kept here
so every decision that starts afresh or counts a failure does it the same way."""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime
from typing import Any

from consumer.domain.model import SessionState


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing action is retried."""

    max_attempts: int = 5
    base_seconds: float = 2.0
    max_seconds: float = 300.0

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        "Equal jitter": half the exponential step is kept, half is random, so retries of
        many projects that failed together spread out but never retry immediately.
        """
        step = min(self.max_seconds, self.base_seconds * 2 ** max(0, attempt - 1))
        return float(step / 2 + rng.uniform(0, step / 2))


def fresh_start(session: SessionState, **changes: Any) -> SessionState:
    """``session`` with its retry bookkeeping cleared (and ``changes`` applied).

    The one place that resets ``attempts``, ``last_error`` and ``next_attempt_at``: when
    the log asks for something new, when an action succeeds, when an operator retries.
    """
    return dataclasses.replace(
        session, attempts=0, last_error=None, next_attempt_at=None, **changes
    )


def failed_attempt(
    session: SessionState, reason: str, *, retry_at: datetime | None, **changes: Any
) -> SessionState:
    """``session`` after one more failed attempt: counted, with why and when to retry."""
    return dataclasses.replace(
        session,
        attempts=session.attempts + 1,
        last_error=reason,
        next_attempt_at=retry_at,
        **changes,
    )

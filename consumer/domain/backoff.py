"""Exponential backoff with jitter for retrying Helm and Kubernetes work."""

from __future__ import annotations

import dataclasses
import random


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

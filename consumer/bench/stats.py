"""Pure arithmetic of the benchmarks: percentiles, rates, ratios, stage splits, tables.

No I/O, so the figures the scenarios print can be checked by unit tests.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation; NaN when empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclasses.dataclass(frozen=True)
class Latencies:
    """Summary of one side's per-item latencies (seconds) and its total time."""

    count: int
    total_seconds: float
    p50: float
    p95: float
    p99: float

    @property
    def rate(self) -> float:
        return self.count / self.total_seconds if self.total_seconds > 0 else math.nan


def summarize(latencies: Sequence[float], total_seconds: float) -> Latencies:
    return Latencies(
        count=len(latencies),
        total_seconds=total_seconds,
        p50=percentile(latencies, 50),
        p95=percentile(latencies, 95),
        p99=percentile(latencies, 99),
    )


def ratio(baseline: float, ours: float) -> float:
    """``baseline / ours``: above 1 means ours took less (time) or did more (rate)."""
    return baseline / ours if ours > 0 else math.nan


# Stages of one provision, in order: each is the span between two adjacent marks.
STAGES = ("intake", "queued+namespace", "helm", "pods ready", "outbox to kafka")
MARKS = ("published", "recorded", "helm_start", "helm_end", "ready", "announced")


def stage_split(marks: Mapping[str, float]) -> dict[str, float]:
    """Seconds per stage for one project from its absolute marks (epoch seconds).

    A missing mark merges its stage into the next one's span (the split stays additive).
    """
    split: dict[str, float] = {}
    present = [m for m in MARKS if m in marks]
    for before, after in itertools.pairwise(present):
        stage = STAGES[MARKS.index(after) - 1]
        split[stage] = max(0.0, marks[after] - marks[before])
    return split


def mean_split(splits: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Mean seconds per stage over projects (stages absent for a project count as 0)."""
    if not splits:
        return {}
    return {s: sum(x.get(s, 0.0) for x in splits) / len(splits) for s in STAGES}


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table, numbers right-aligned with sensible precision."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            if math.isnan(value):
                return "-"
            return f"{value:.0f}" if abs(value) >= 1000 else f"{value:.3g}"
        return str(value)

    text = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in text)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for r in text:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)

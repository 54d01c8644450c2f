"""Scenario ``sweep``: the burst at several worker limits, and what bounds it.

For each limit the burst runs without the loop baseline; the figures are releases per
second and the CPU each part used while the burst ran: Helm (processes the service
started), the service's Python, and the stack's components found in /proc. ``ratio`` is
the best rate over the rate with the first limit (the same run); a limit whose burst
fails (the shared cluster filled up meanwhile) is reported, not fatal. The bottleneck is named by a
pure rule: when the machine was nearly saturated, the biggest CPU user; otherwise waiting
(the pipeline was latency-bound, not CPU-bound).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from consumer.bench import burst
from consumer.bench.topology import Topology

LIMITS = (1, 2, 4, 8, 16)
SATURATED = 0.85


def bottleneck(cpu: Mapping[str, float], busy: float, seconds: float, cores: int) -> str:
    """Name what bounds a run from the CPU seconds each part used during it."""
    if seconds <= 0 or not cpu:
        return "unknown"
    load = busy / (seconds * cores)
    top = max(cpu, key=lambda k: cpu[k])
    share = cpu[top] / busy if busy > 0 else 0.0
    if load >= SATURATED:
        return f"CPU saturated ({load:.0%} of {cores} cores); biggest user {top} ({share:.0%})"
    return f"not CPU-bound ({load:.0%} of {cores} cores busy): waits; biggest user {top}"


def row(run: burst.BurstRun, cores: int) -> dict[str, Any]:
    seconds = run.create.total
    cpu = dict(run.components)
    cpu["helm"] = run.create.cpu["helm_per_session"] * run.n
    cpu["service (python)"] = run.create.cpu["service_per_session"] * run.n
    return {
        "workers": run.workers,
        "rate": run.create.summary.rate,
        "seconds": seconds,
        "p95": run.create.summary.p95,
        "cpu_seconds": cpu,
        "machine_busy_cpu_seconds": run.machine_busy,
        "bottleneck": bottleneck(cpu, run.machine_busy, seconds, cores),
    }


async def run(topo: Topology, n: int, limits: Sequence[int], cores: int) -> dict[str, Any]:
    rows, failed = [], {}
    for workers in limits:
        try:
            result = await burst.run(topo, n, workers=workers, with_baseline=False)
        except (RuntimeError, TimeoutError) as error:  # e.g. the shared cluster filled up
            failed[workers] = str(error)[:300]
            continue
        rows.append(row(result, cores))
    if not rows:
        raise RuntimeError(f"every limit failed: {failed}")
    best = max(rows, key=lambda r: r["rate"])
    first = rows[0]["rate"]
    return {
        "scenario": "sweep",
        "n": n,
        "rate": best["rate"],
        "ratio": best["rate"] / first if first else float("nan"),
        "best_workers": best["workers"],
        "rows": rows,
        "failed": failed,
    }

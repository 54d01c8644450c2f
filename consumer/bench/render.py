"""The tables each scenario prints (pure: results in, text out)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consumer.bench import stats
from consumer.bench.burst import BurstRun, Side
from consumer.bench.steady import SteadyRun

NOTE = "machine shared with other work: read the ratios, not the absolute times"


def _side(name: str, side: Side) -> list[object]:
    s = side.summary
    return [name, s.count, s.total_seconds, s.rate, s.p50, s.p95, s.p99]


def burst(run: BurstRun, phase: str) -> str:
    ours = run.create if phase == "burst" else run.delete
    loop = run.loop_create if phase == "burst" else run.loop_delete
    assert ours is not None
    what = "SessionReady" if phase == "burst" else "SessionDeleted"
    rows = [_side(f"devsessions ({run.workers} workers)", ours)]
    if loop is not None:
        rows.append(_side("design's loop", loop))
    head = ["", "n", "seconds", "per s", "p50 s", "p95 s", "p99 s"]
    out = [f"{phase}: {run.n} projects, publish to {what}", stats.table(head, rows)]
    if loop is not None:
        out.append(f"ratio (loop time / our time): {stats.ratio(loop.total, ours.total):.2f}x")
    cpu = [[k, v] for k, v in ours.cpu.items()]
    if loop is not None:
        cpu += [[f"loop {k}", v] for k, v in loop.cpu.items()]
    cpu.append(["service peak RSS (MB)", run.peak_rss / 1e6])
    out.append(stats.table(["CPU seconds per session", "value"], cpu))
    if phase == "burst" and run.stages:
        out.append(
            stats.table(["stage (mean)", "seconds"], [[k, v] for k, v in run.stages.items()])
        )
    out.append(f"helm calls by the service: {run.helm_calls}")
    out.append(NOTE)
    return "\n\n".join(out)


def steady(run: SteadyRun) -> str:
    s = stats.summarize(run.latencies, run.span)
    rows = [["devsessions", s.count, s.rate, s.p50, s.p95, s.p99]]
    table = stats.table(["", "n", "ready per s", "p50 s", "p95 s", "p99 s"], rows)
    extra = (
        f"service CPU per session: {run.service_cpu_per_session:.3f} s; "
        f"peak RSS {run.peak_rss / 1e6:.0f} MB"
    )
    return f"steady {run.rate_asked:g}/s for {run.seconds:g}s\n\n{table}\n\n{extra}\n{NOTE}"


def _flat(doc: Mapping[str, Any], prefix: str = "") -> list[list[object]]:
    rows: list[list[object]] = []
    for key, value in doc.items():
        if isinstance(value, Mapping):
            rows += _flat(value, f"{prefix}{key}: ")
        else:
            rows.append([f"{prefix}{key}", value])
    return rows


def logs(doc: Mapping[str, Any]) -> str:
    rows = _flat({k: v for k, v in doc.items() if k != "scenario"})
    return f"{doc['scenario']}\n\n{stats.table(['figure', 'value'], rows)}\n{NOTE}"


def sweep(doc: Mapping[str, Any]) -> str:
    rows = [[r["workers"], r["seconds"], r["rate"], r["p95"], r["bottleneck"]] for r in doc["rows"]]
    head = ["workers", "seconds", "per s", "p95 s", "bound by"]
    cpu_rows = [
        [r["workers"], *(f"{k}={v:.1f}" for k, v in sorted(r["cpu_seconds"].items()))]
        for r in doc["rows"]
    ]
    cpu = "\n".join(" ".join(str(c) for c in row) for row in cpu_rows)
    return (
        f"sweep: burst of {doc['n']} at each worker limit\n\n{stats.table(head, rows)}\n\n"
        f"CPU seconds during each burst:\n{cpu}\n\n"
        f"best {doc['best_workers']} workers, {doc['ratio']:.2f}x the rate of the first limit\n"
        + "".join(f"limit {k} failed: {v}\n" for k, v in doc.get("failed", {}).items())
        + NOTE
    )

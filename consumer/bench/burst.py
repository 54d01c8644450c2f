"""Scenarios ``burst`` and ``teardown``: N projects at once, against the design's loop.

One run does both phases, because the sessions a burst creates must be torn down anyway:
1. N ``ProjectCreated`` published at once to the service (a child ``devsessions run``);
   clock stops at the N-th ``SessionReady`` read back from the output topic;
2. the same N ``ProjectDeleted`` at once; clock stops at the N-th ``SessionDeleted``;
3. the design's loop, on the same cluster, for N other projects: provision, then teardown.
The service's CPU and peak RSS are read from /proc before it stops.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import asyncpg

from consumer.bench import baseline, kafka_io, procstat, profiling, room, stats
from consumer.bench.child import ServiceChild
from consumer.bench.topology import CHART, Topology


@dataclasses.dataclass
class Side:
    """Per-project latencies (s) and total time of one side of one phase."""

    latencies: list[float]
    total: float
    cpu: Mapping[str, float] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> stats.Latencies:
        return stats.summarize(self.latencies, self.total)


@dataclasses.dataclass
class BurstRun:
    """Everything one burst run measured."""

    n: int
    workers: int
    create: Side
    delete: Side | None = None
    loop_create: Side | None = None
    loop_delete: Side | None = None
    stages: dict[str, float] = dataclasses.field(default_factory=dict)
    peak_rss: int = 0
    components: dict[str, float] = dataclasses.field(default_factory=dict)
    machine_busy: float = 0.0
    helm_calls: dict[str, int] = dataclasses.field(default_factory=dict)

    def document(self, phase: str) -> dict[str, Any]:
        """The ``--json`` document for ``burst`` or ``teardown``."""
        ours = self.create if phase == "burst" else self.delete
        loop = self.loop_create if phase == "burst" else self.loop_delete
        assert ours is not None
        doc: dict[str, Any] = {
            "scenario": phase,
            "n": self.n,
            "workers": self.workers,
            "rate": ours.summary.rate,
            "ours": dataclasses.asdict(ours.summary) | {"cpu": dict(ours.cpu)},
            "peak_rss_mb": self.peak_rss / 1e6,
            "helm_calls": self.helm_calls,
        }
        if phase == "burst":
            doc["stages_mean_seconds"] = self.stages
            doc["components_cpu_seconds"] = self.components
            doc["machine_busy_cpu_seconds"] = self.machine_busy
        if loop is not None:
            doc["baseline"] = dataclasses.asdict(loop.summary) | {"cpu": dict(loop.cpu)}
            doc["ratio"] = stats.ratio(loop.total, ours.total)
        return doc


async def _marks(topo: Topology, projects: set[str]) -> dict[str, dict[str, float]]:
    """Per project: when the session row was recorded and became ready, Helm's span."""
    conn = await asyncpg.connect(topo.database_url.replace("postgresql+asyncpg", "postgresql"))
    try:
        rows = await conn.fetch("SELECT project_uuid, created_at, ready_at FROM sessions")
    finally:
        await conn.close()
    marks: dict[str, dict[str, float]] = {}
    for r in rows:
        if r["project_uuid"] in projects and r["ready_at"] is not None:
            marks[r["project_uuid"]] = {
                "recorded": r["created_at"].timestamp(),
                "ready": r["ready_at"].timestamp(),
            }
    for call in topo.helm_calls():
        project = call.release.removeprefix("dev-session-")
        m = marks.get(project)
        if m is None or call.start > m["ready"]:
            continue
        m["helm_start"] = min(m.get("helm_start", call.start), call.start)
        m["helm_end"] = max(m.get("helm_end", call.end), call.end)
    return marks


async def _phase(
    *,
    child: ServiceChild,
    answers: kafka_io.Answers,
    topo: Topology,
    items: list[Any],
    kind: str,
    timeout: float,
) -> tuple[Side, dict[str, float], dict[str, float]]:
    projects = {i.project_uuid for i in items}
    cpu0 = child.cpu()
    stamps = await kafka_io.publish(topo.stack.kafka_bootstrap_servers, topo.input_topic, items)

    answered = await answers.wait(kind, projects, timeout, alive=child.check_alive)
    cpu1 = child.cpu()
    latencies = [answered[p] - stamps[p] for p in projects]
    total = max(answered.values()) - min(stamps.values())
    per = len(projects)
    cpu = {
        "service_per_session": (cpu1.own - cpu0.own) / per,
        "helm_per_session": (cpu1.children - cpu0.children) / per,
    }
    return Side(latencies, total, cpu), stamps, answered


async def run(
    topo: Topology,
    n: int,
    *,
    workers: int = 8,
    with_baseline: bool = True,
    timeout: float | None = None,
    env: Mapping[str, str] | None = None,
    profile: Path | None = None,
) -> BurstRun:
    """Provision and tear down ``n`` projects through the service (and the loop)."""
    timeout = timeout or 120 + 3 * n
    await asyncio.to_thread(room.require, n, topo.stack.subprocess_env())
    bootstrap = topo.stack.kafka_bootstrap_servers
    projects = [str(uuid.uuid4()) for _ in range(n)]
    child = ServiceChild(topo, DEVSESSIONS_WORKER_CONCURRENCY=str(workers), **dict(env or {}))
    async with kafka_io.Answers(bootstrap, topo.output_topic) as answers:
        await child.start()
        result: BurstRun | None = None
        try:
            comp0, busy0 = procstat.components(), procstat.machine_busy()
            items = [kafka_io.created(p, i) for i, p in enumerate(projects)]
            with profiling.recording(child.pid, profile):
                create, stamps, ready = await _phase(
                    child=child,
                    answers=answers,
                    topo=topo,
                    items=items,
                    kind="SessionReady",
                    timeout=timeout,
                )
            comp1, busy1 = procstat.components(), procstat.machine_busy()
            result = BurstRun(n, workers, create, peak_rss=child.peak_rss())
            result.components = procstat.delta(comp1, comp0)
            result.machine_busy = busy1 - busy0
            deletes = [kafka_io.deleted(p) for p in projects]
            result.delete, _, _ = await _phase(
                child=child,
                answers=answers,
                topo=topo,
                items=deletes,
                kind="SessionDeleted",
                timeout=timeout,
            )
        finally:
            await child.stop()
            if result is None or result.delete is None:
                await asyncio.to_thread(baseline.forget, projects, topo.stack.subprocess_env())
    marks = await _marks(topo, set(projects))
    for p, m in marks.items():
        m["published"], m["announced"] = stamps[p], ready[p]
    result.stages = stats.mean_split([stats.stage_split(m) for m in marks.values()])
    names = {f"dev-session-{p}" for p in projects}
    calls = [c for c in topo.helm_calls() if c.release in names]
    result.helm_calls = {
        v: sum(c.verb == v for c in calls) for v in sorted({c.verb for c in calls})
    }
    if with_baseline:
        await _baseline(topo, n, result)
    return result


async def _baseline(topo: Topology, n: int, result: BurstRun) -> None:
    others = [str(uuid.uuid4()) for _ in range(n)]
    env, helm = topo.stack.subprocess_env(), str(topo.stack.helm_binary)
    try:
        made = await asyncio.to_thread(
            baseline.provision, others, helm=helm, chart=CHART, env=env, scratch=topo.directory
        )
    finally:
        gone = await asyncio.to_thread(baseline.teardown, others, helm=helm, env=env)
    if made.failures:
        raise RuntimeError(f"the design's loop failed: {made.failures[:3]}")
    result.loop_create = _loop_side(made, n)
    result.loop_delete = _loop_side(gone, n)


def _loop_side(loop: baseline.LoopResult, n: int) -> Side:
    latencies = [t - loop.started for t in loop.done.values()]
    total = max(loop.done.values(), default=time.time()) - loop.started
    cpu = {
        "all_commands_per_session": loop.cpu_seconds / n,
        "helm_per_session": loop.helm_cpu_seconds / n,
    }
    return Side(latencies, total, cpu)

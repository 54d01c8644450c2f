"""Scenarios ``replay`` and ``intake``: how fast the service gets through a log.

replay: E ``ProjectDeleted`` events of unknown projects (applied without any cluster
work) are published and applied once by ``devsessions replay``; then ``devsessions
replay`` is timed over the same, now fully applied, log and Helm calls are counted
(must be 0). Its fixed cost is measured too: a replay of an empty topic onto the same
database (start-up, migrations check, listing the sessions, flushing the outbox). The
baseline is a bare aiokafka consumer reading the same topic; ``ratio`` = ours / bare.

intake: E ``ProjectCreated`` events are put on the input topic, then ``devsessions run``
starts and applies them; the rate comes from the session rows' own creation times
(first to last). Reconciling is parked (one worker, a Helm that never answers), so the
intake path runs alone. Baseline: one multi-row INSERT per fetched batch, same topic.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg

from consumer.bench import baseline, child, kafka_io, logreaders, profiling
from consumer.bench.topology import Topology

PARKED_HELM = "#!/bin/sh\nexec sleep 3600\n"


def _dsn(topo: Topology) -> str:
    return topo.database_url.replace("postgresql+asyncpg://", "postgresql://")


def _cli(topo: Topology, *args: str, **env: str) -> tuple[float, float]:
    """Run ``devsessions <args>`` on the topology; wall and CPU seconds."""
    started = time.perf_counter()
    code, cpu, err = baseline.timed([child.devsessions(), *args], topo.env(**env))
    if code != 0:
        raise RuntimeError(f"devsessions {' '.join(args)} exited {code}: {err[-800:]}")
    return time.perf_counter() - started, cpu


async def replay(topo: Topology, count: int) -> dict[str, Any]:
    bootstrap = topo.stack.kafka_bootstrap_servers
    items = [kafka_io.deleted(str(uuid.uuid4())) for _ in range(count)]
    await kafka_io.publish(bootstrap, topo.input_topic, items)
    first, _ = await asyncio.to_thread(_cli, topo, "replay")
    calls_before = len(topo.helm_calls())
    fixed, _ = await asyncio.to_thread(
        _cli, topo, "replay", DEVSESSIONS_INPUT_TOPIC=topo.dead_letter_topic
    )
    wall, cpu = await asyncio.to_thread(_cli, topo, "replay")
    helm_calls = len(topo.helm_calls()) - calls_before
    read, bare_seconds = await logreaders.bare_read(bootstrap, topo.input_topic)
    ours = count / wall
    net = count / (wall - fixed) if wall > fixed else float("nan")
    bare = read / bare_seconds
    return {
        "scenario": "replay",
        "events": count,
        "rate": ours,
        "rate_net_of_fixed": net,
        "bare_rate": bare,
        "ratio": ours / bare,
        "ratio_net_of_fixed": net / bare,
        "seconds": wall,
        "fixed_seconds": fixed,
        "first_apply_seconds": first,
        "cpu_seconds": cpu,
        "helm_calls": helm_calls,
    }


async def intake(topo: Topology, count: int, profile: Path | None = None) -> dict[str, Any]:
    bootstrap = topo.stack.kafka_bootstrap_servers
    projects = [str(uuid.uuid4()) for _ in range(count)]
    await kafka_io.publish(
        bootstrap, topo.input_topic, [kafka_io.created(p, i) for i, p in enumerate(projects)]
    )
    parked = topo.directory / "parked-helm"
    parked.write_text(PARKED_HELM)
    parked.chmod(0o755)
    service = child.ServiceChild(
        topo,
        DEVSESSIONS_HELM_BINARY=str(parked),
        DEVSESSIONS_WORKER_CONCURRENCY="1",
        DEVSESSIONS_SHUTDOWN_DRAIN_SECONDS="1",
        DEVSESSIONS_RESYNC_INTERVAL_SECONDS="3600",
    )
    try:
        await service.start()
        cpu0 = service.cpu()
        with profiling.recording(service.pid, profile):
            span = await _applied(topo, count, service)
        cpu1 = service.cpu()
        rss = service.peak_rss()
    finally:
        await service.stop()
        await asyncio.to_thread(baseline.forget, projects, topo.stack.subprocess_env())
    made, bare_seconds = await logreaders.bare_apply(bootstrap, topo.input_topic, _dsn(topo), count)
    ours = (count - 1) / span if span > 0 else float("nan")
    bare = made / bare_seconds
    return {
        "scenario": "intake",
        "events": count,
        "rate": ours,
        "bare_rate": bare,
        "ratio": ours / bare,
        "service_cpu_seconds_per_event": (cpu1.own - cpu0.own) / count,
        "peak_rss_mb": rss / 1e6,
    }


async def _applied(topo: Topology, count: int, service: child.ServiceChild) -> float:
    """Wait until ``count`` session rows exist; seconds between the first and the last."""
    conn = await asyncpg.connect(_dsn(topo))
    try:
        deadline = time.monotonic() + 60 + count / 20
        while time.monotonic() < deadline:
            service.check_alive()
            row = await conn.fetchrow(
                "SELECT count(*) AS n, min(created_at) AS a, max(created_at) AS b FROM sessions"
            )
            assert row is not None
            if row["n"] >= count:
                return float((row["b"] - row["a"]).total_seconds())
            await asyncio.sleep(0.5)
    finally:
        await conn.close()
    raise TimeoutError(f"intake did not apply {count} events in time")

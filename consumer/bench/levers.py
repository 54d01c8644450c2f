"""Scenario ``helm``: what each Helm process of a fresh provision costs, in CPU seconds.

Measured with ``wait4`` on each ``helm`` process (exact, not sampled), over fresh
releases in fresh namespaces, alternating the variants so that load on the shared
machine hits them alike:
- ``upgrade --install`` as the service runs it, with client-side OpenAPI validation
  (Helm's default) and with ``--disable-openapi-validation``;
- ``status`` of a release that does not exist yet: the extra process every fresh
  provision starts before ``upgrade --install``.
The ratios answer the issue's two Helm levers; the releases are removed afterwards.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from consumer.bench import baseline
from consumer.bench.topology import CHART, Topology

FLAG = "--disable-openapi-validation"


def _install(
    helm: str, project: str, values: Path, extra: Sequence[str]
) -> list[str]:  # as consumer.adapters.helm_cli runs it
    return [
        helm, "upgrade", "--install", f"dev-session-{project}", str(CHART), "-n", project,
        "-f", str(values), "--reset-values", "--history-max", "5", "--wait=hookOnly",
        "--timeout", "300s", *extra,
    ]  # fmt: skip


def measure(
    rounds: int, helm: str, env: Mapping[str, str], scratch: Path
) -> dict[str, list[float]]:
    """CPU seconds per call of each variant, ``rounds`` fresh releases each."""
    cpu: dict[str, list[float]] = {"install": [], "install " + FLAG: [], "status (absent)": []}
    projects: list[str] = []
    try:
        for i in range(rounds * 2):
            project = str(uuid.uuid4())
            projects.append(project)
            code, _, err = baseline.timed([baseline.kubectl(), "create", "ns", project], env)
            if code:
                raise RuntimeError(err)
            values = scratch / f"lever-{project}.json"
            values.write_text(
                json.dumps({"project": {"uuid": project, "id": i}, "user": {"id": 1}})
            )
            status = [helm, "status", f"dev-session-{project}", "-n", project, "-o", "json"]
            cpu["status (absent)"].append(baseline.timed(status, env)[1])
            variant, extra = ("install", []) if i % 2 == 0 else ("install " + FLAG, [FLAG])
            code, used, err = baseline.timed(_install(helm, project, values, extra), env)
            if code:
                raise RuntimeError(f"{variant}: {err[-500:]}")
            cpu[variant].append(used)
    finally:
        baseline.teardown(projects, helm=helm, env=env)
    return cpu


async def run(topo: Topology, rounds: int) -> dict[str, Any]:
    env, helm = topo.stack.subprocess_env(), str(topo.stack.helm_binary)
    cpu = await asyncio.to_thread(measure, rounds, helm, env, topo.directory)
    mean = {k: statistics.fmean(v) for k, v in cpu.items()}
    with_flag = mean["install " + FLAG]
    return {
        "scenario": "helm",
        "rounds": rounds,
        "cpu_seconds_mean": mean,
        "cpu_seconds_median": {k: statistics.median(v) for k, v in cpu.items()},
        # rate: fresh provisions' Helm work per CPU-second with the flag and no status call
        "rate": 1 / with_flag if with_flag else float("nan"),
        "ratio": mean["install"] / with_flag if with_flag else float("nan"),
        "status_share_of_fresh_provision": mean["status (absent)"]
        / (mean["status (absent)"] + mean["install"]),
        "status_share_with_flag": mean["status (absent)"] / (mean["status (absent)"] + with_flag),
    }

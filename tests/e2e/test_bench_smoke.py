"""Every ``devsessions bench`` scenario at N=2 on the real stack, so the code cannot rot.

Each runs the command as an operator would and checks the JSON it writes: the figures
exist, are positive where they must be, and the invariants the issue states hold
(replay makes no Helm call; the burst got every session ready and deleted).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from devstack.record import StackInfo

pytestmark = [pytest.mark.stack, pytest.mark.slow]
DEVSESSIONS = Path(sys.executable).parent / "devsessions"


def bench(stack: StackInfo, tmp_path: Path, *args: str) -> dict[str, Any]:
    out = tmp_path / "figures.json"
    done = subprocess.run(
        [str(DEVSESSIONS), "bench", *args, "--json", str(out)],
        env=stack.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert "ratio" in done.stdout or "rate" in done.stdout
    document: dict[str, Any] = json.loads(out.read_text())
    assert document["rate"] > 0
    return document


@pytest.mark.parametrize("phase", ["burst", "teardown"])
def test_burst_and_teardown_against_the_loop(stack: StackInfo, tmp_path: Path, phase: str) -> None:
    plot = tmp_path / "cdf.png"
    doc = bench(stack, tmp_path, phase, "-n", "2", "--workers", "2", "--plot", str(plot))
    assert doc["ours"]["count"] == 2 and doc["baseline"]["count"] == 2
    assert doc["ratio"] > 0
    assert doc["peak_rss_mb"] > 10
    if phase == "burst":
        assert doc["helm_calls"].get("upgrade") == 2
        assert doc["stages_mean_seconds"]["helm"] > 0
        assert plot.read_bytes()[:4] == b"\x89PNG"


def test_steady(stack: StackInfo, tmp_path: Path) -> None:
    doc = bench(stack, tmp_path, "steady", "--rate", "2", "--seconds", "1")
    assert doc["latency"]["count"] == 2
    assert doc["latency"]["p99"] >= doc["latency"]["p50"] > 0


def test_replay_makes_no_helm_call(stack: StackInfo, tmp_path: Path) -> None:
    doc = bench(stack, tmp_path, "replay", "--events", "2")
    assert doc["helm_calls"] == 0
    assert doc["events"] == 2 and doc["bare_rate"] > 0 and doc["ratio"] > 0


def test_intake_against_one_insert_per_batch(stack: StackInfo, tmp_path: Path) -> None:
    doc = bench(stack, tmp_path, "intake", "--events", "2")
    assert doc["bare_rate"] > 0 and doc["ratio"] > 0


def test_sweep_names_a_bound(stack: StackInfo, tmp_path: Path) -> None:
    doc = bench(stack, tmp_path, "sweep", "-n", "2", "--limits", "1,2")
    assert [r["workers"] for r in doc["rows"]] == [1, 2]
    assert all(r["bottleneck"] for r in doc["rows"])


def test_helm_levers(stack: StackInfo, tmp_path: Path) -> None:
    doc = bench(stack, tmp_path, "helm", "--rounds", "1")
    assert set(doc["cpu_seconds_mean"]) == {
        "install",
        "install --disable-openapi-validation",
        "status (absent)",
    }
    assert doc["ratio"] > 0

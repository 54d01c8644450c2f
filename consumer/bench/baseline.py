"""The design's loop, the baseline every provisioning figure is a ratio against.

Per project, one after the other, exactly as the design describes it: ``kubectl create
namespace``, ``helm install --wait``, ``kubectl get svc``; and for teardown ``helm
uninstall`` then ``kubectl delete namespace`` (which waits until it is gone). Each
command's CPU is taken from ``wait4`` of that process, so it is exact, not sampled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path


@dataclasses.dataclass
class LoopResult:
    """Completion time of each project (epoch seconds) and the CPU of every command."""

    started: float
    done: dict[str, float] = dataclasses.field(default_factory=dict)
    cpu_seconds: float = 0.0
    helm_cpu_seconds: float = 0.0
    failures: list[str] = dataclasses.field(default_factory=list)


def timed(argv: Sequence[str], env: Mapping[str, str]) -> tuple[int, float, str]:
    """Run ``argv``; exit code, CPU seconds (user + system, with its children), stderr."""
    proc = subprocess.Popen(
        list(argv), env=dict(env), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime, err


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is not installed")
    return found


def _values(directory: Path, project: str, index: int) -> Path:
    path = directory / f"values-{project}.json"
    path.write_text(json.dumps({"project": {"uuid": project, "id": index}, "user": {"id": 1}}))
    return path


def provision(
    projects: Sequence[str], *, helm: str, chart: Path, env: Mapping[str, str], scratch: Path
) -> LoopResult:
    """The design's provisioning loop over ``projects``."""
    result = LoopResult(started=time.time())
    for index, project in enumerate(projects):
        steps = [
            [kubectl(), "create", "namespace", project],
            [helm, "install", f"dev-session-{project}", str(chart), "-n", project,
             "-f", str(_values(scratch, project, index)), "--wait", "--timeout", "300s"],
            [kubectl(), "get", "svc", "-n", project, "-o", "json"],
        ]  # fmt: skip
        for argv in steps:
            code, cpu, err = timed(argv, env)
            result.cpu_seconds += cpu
            if argv[0] == helm:
                result.helm_cpu_seconds += cpu
            if code != 0:
                result.failures.append(f"{project}: {' '.join(argv[:3])}: {err.strip()[-300:]}")
                break
        else:
            result.done[project] = time.time()
    return result


def teardown(projects: Sequence[str], *, helm: str, env: Mapping[str, str]) -> LoopResult:
    """The design's teardown loop: uninstall, then delete the namespace and wait."""
    result = LoopResult(started=time.time())
    for project in projects:
        steps = [
            [helm, "uninstall", f"dev-session-{project}", "-n", project, "--ignore-not-found"],
            [kubectl(), "delete", "namespace", project, "--ignore-not-found", "--timeout=300s"],
        ]
        for argv in steps:
            code, cpu, err = timed(argv, env)
            result.cpu_seconds += cpu
            if argv[0] == helm:
                result.helm_cpu_seconds += cpu
            if code != 0:
                result.failures.append(f"{project}: {' '.join(argv[:3])}: {err.strip()[-300:]}")
        result.done[project] = time.time()
    return result


def forget(projects: Sequence[str], env: Mapping[str, str]) -> None:
    """Safety net after a failed run: delete any namespace of ``projects`` still there."""
    listed = subprocess.run(
        [kubectl(), "get", "namespaces", "-o", "name"],
        env=dict(env), capture_output=True, text=True, check=False,
    )  # fmt: skip
    wanted = set(projects)
    names = [n.removeprefix("namespace/") for n in listed.stdout.split()]
    left = [n for n in names if n in wanted]
    for start in range(0, len(left), 50):
        chunk = left[start : start + 50]
        timed([kubectl(), "delete", "namespace", *chunk, "--ignore-not-found", "--wait=false"], env)

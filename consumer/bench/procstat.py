"""CPU and memory of processes, read from ``/proc`` (Linux only).

The service's own CPU is ``utime + stime`` of its process; the Helm processes it ran
show up in ``cutime + cstime`` once reaped (the service waits for each). Peak RSS is
the kernel's high-water mark (``VmHWM``), so no sampling is needed for it. Components
of the stack (API server, etcd, PostgreSQL, ...) are found by command name; processes
that exit between two samples (short PostgreSQL backends) are lost, so those figures
are lower bounds.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

PROC = Path("/proc")
TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Command names (``comm``, at most 15 characters) grouped into what the sweep reports.
COMPONENTS = {
    "kube-apiserver": "api server",
    "etcd": "etcd",
    "postgres": "postgresql",
    "kube-controller": "controller-manager",
    "kube-scheduler": "scheduler",
    "kwok": "kwok",
    "java": "kafka (java)",
    "traefik": "ingress (traefik)",
}


@dataclasses.dataclass(frozen=True)
class Cpu:
    """CPU seconds of one process: its own, and its reaped children's."""

    own: float
    children: float


def parse_stat(text: str) -> tuple[str, Cpu]:
    """``comm`` and CPU of one ``/proc/<pid>/stat`` line."""
    comm = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime, stime, cutime, cstime are fields 14-17.
    utime, stime, cutime, cstime = (int(fields[i]) for i in range(11, 15))
    return comm, Cpu((utime + stime) / TICK, (cutime + cstime) / TICK)


def parse_hwm(status: str) -> int:
    """Peak resident set (bytes) from ``/proc/<pid>/status``; 0 if absent."""
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def parse_machine(stat: str) -> float:
    """Busy CPU seconds of the whole machine since boot, from ``/proc/stat``."""
    fields = [int(x) for x in stat.splitlines()[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return (sum(fields[:8]) - idle) / TICK


def cpu(pid: int) -> Cpu:
    return parse_stat((PROC / str(pid) / "stat").read_text())[1]


def peak_rss(pid: int) -> int:
    return parse_hwm((PROC / str(pid) / "status").read_text())


def machine_busy() -> float:
    return parse_machine((PROC / "stat").read_text())


def group_cpu(stats: Iterable[tuple[str, Cpu]]) -> dict[str, float]:
    """Sum own CPU of processes by component (command-name prefix)."""
    totals: dict[str, float] = {}
    for comm, used in stats:
        for prefix, name in COMPONENTS.items():
            if comm.startswith(prefix):
                totals[name] = totals.get(name, 0.0) + used.own
    return totals


def components() -> dict[str, float]:
    """CPU seconds so far of every live stack component on this machine."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            try:
                found.append(parse_stat((entry / "stat").read_text()))
            except (OSError, ValueError, IndexError):
                continue
    return group_cpu(found)


def delta(after: Mapping[str, float], before: Mapping[str, float]) -> dict[str, float]:
    return {k: v - before.get(k, 0.0) for k, v in after.items()}

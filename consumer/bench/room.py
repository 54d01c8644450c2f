"""Is there room on the cluster for N more sessions? Checked before a scenario starts.

A session the scheduler cannot place stays Pending, never becomes ready, and holds the
benchmark until its timeout while filling a cluster others use; so a scenario refuses up
front instead. Room = allocatable CPU and memory of the nodes minus what the pods already
request, divided by one session's requests (the chart's default ``values.yaml``).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from consumer.bench import baseline
from consumer.bench.topology import CHART

_UNITS = {
    "m": 1e-3,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
}


def quantity(text: str) -> float:
    """A Kubernetes quantity as a number (cores or bytes)."""
    for suffix in sorted(_UNITS, key=len, reverse=True):
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * _UNITS[suffix]
    return float(text)


def session_requests(values: Mapping[str, Any]) -> tuple[float, float]:
    """CPU (cores) and memory (bytes) one session requests."""
    requests = [c["resources"]["requests"] for c in values["containers"].values()]
    return sum(quantity(str(r["cpu"])) for r in requests), sum(
        quantity(str(r["memory"])) for r in requests
    )


def sessions_that_fit(
    nodes: Iterable[Mapping[str, Any]], pods: Iterable[Mapping[str, Any]], per: tuple[float, float]
) -> int:
    """How many more sessions the nodes' free CPU and memory hold."""
    free = [0.0, 0.0]
    for node in nodes:
        allocatable = node.get("status", {}).get("allocatable", {})
        free[0] += quantity(str(allocatable.get("cpu", "0")))
        free[1] += quantity(str(allocatable.get("memory", "0")))
    for pod in pods:
        if pod.get("status", {}).get("phase") in {"Succeeded", "Failed"}:
            continue
        for container in pod.get("spec", {}).get("containers", []):
            requests = container.get("resources", {}).get("requests", {})
            free[0] -= quantity(str(requests.get("cpu", "0")))
            free[1] -= quantity(str(requests.get("memory", "0")))
    return max(0, int(min(free[0] / per[0], free[1] / per[1])))


def _items(env: Mapping[str, str], *what: str) -> list[Any]:
    listed = subprocess.run(
        [baseline.kubectl(), "get", *what, "-o", "json"],
        env=dict(env), capture_output=True, text=True, check=True,
    )  # fmt: skip
    items: list[Any] = json.loads(listed.stdout)["items"]
    return items


def require(sessions: int, env: Mapping[str, str]) -> None:
    """Raise unless the cluster has room for ``sessions`` more sessions."""
    per = session_requests(yaml.safe_load((CHART / "values.yaml").read_text()))
    fit = sessions_that_fit(_items(env, "nodes"), _items(env, "pods", "-A"), per)
    if fit < sessions:
        raise RuntimeError(
            f"the cluster has room for {fit} more sessions, this run needs {sessions}: "
            "use a smaller size, or a stack whose fake nodes are sized for it"
        )

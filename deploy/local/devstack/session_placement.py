"""Where the local stack's sessions run: fake (kwok) nodes by default, the real node on request.

``stack up`` writes two values files for the session chart:

- ``session-values.yaml`` (``DEVSESSIONS_CHART_VALUES_FILE``): the local images and the
  Traefik class; no placement, so sessions land on kwok's fake nodes. This stays the
  default because tests, benchmarks and resilience runs provision dozens of sessions at
  once: on fake nodes they cost nothing, while on the real node each would run three
  real containers (code-server among them) on the 2 cores that every engineer of the
  machine shares, and the scheduler would leave most of them Pending.
- ``session-values-real.yaml`` (``DEVSESSIONS_REAL_NODE_VALUES_FILE``, exported only while
  this stack holds the real node): the same plus the real node's nodeSelector and
  toleration, and small CPU and memory requests, so the demo session, the ``real`` tests
  and the service deployed in the cluster fit on the node together (requests reserve
  scheduling room; the chart's limits stay). Point ``DEVSESSIONS_CHART_VALUES_FILE`` at it
  to run a service's sessions for real.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from devstack import node_config
from devstack.paths import StateLayout

VALUES_VAR = "DEVSESSIONS_CHART_VALUES_FILE"
REAL_VALUES_VAR = "DEVSESSIONS_REAL_NODE_VALUES_FILE"
VALUES_FILE = "session-values.yaml"
REAL_VALUES_FILE = "session-values-real.yaml"
# Requests of each session container on the real node (limits: the chart's).
REAL_REQUESTS = {
    "preview": {"cpu": "20m", "memory": "48Mi"},
    "chat": {"cpu": "20m", "memory": "48Mi"},
    "vscode": {"cpu": "100m", "memory": "256Mi"},
}


def real_values(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` placed on the real node, with the small requests of :data:`REAL_REQUESTS`."""
    containers = {
        name: {**values.get("containers", {}).get(name, {}), "resources": {"requests": req}}
        for name, req in REAL_REQUESTS.items()
    }
    return {**values, **node_config.REAL_NODE_PLACEMENT, "containers": containers}


def _write(path: Path, values: dict[str, Any], what: str) -> Path:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        f"# Written by `devsessions stack up`: the session chart {what}.\n"
        + yaml.safe_dump(values, sort_keys=True)
    )
    tmp.replace(path)
    return path


def write(state: StateLayout, values: dict[str, Any], *, real_node: bool) -> Path:
    """Write the default values file, and the real node's when this stack holds the node;
    return the default one."""
    path = _write(state.root / VALUES_FILE, values, "on the local images")
    real = state.root / REAL_VALUES_FILE
    if real_node:
        _write(real, real_values(values), "on the local images, on the real node")
    else:
        real.unlink(missing_ok=True)
    return path


def exports(state: StateLayout) -> dict[str, str]:
    """The values files that exist, under the variables ``stack env`` exports."""
    env: dict[str, str] = {}
    for var, name in ((VALUES_VAR, VALUES_FILE), (REAL_VALUES_VAR, REAL_VALUES_FILE)):
        if (state.root / name).is_file():
            env[var] = str(state.root / name)
    return env

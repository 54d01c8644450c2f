"""The local cluster's fake nodes have room for 1000 sessions at the chart's requests.

Pure arithmetic over ``devstack.kube_config.NODE_PARAMS`` and the chart's default
``values.yaml``: no cluster needed.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from devstack import kube_checks, kube_config

CHART_VALUES = Path(__file__).resolve().parents[2] / "helm/dev-session-template/values.yaml"
SESSIONS = 1000


def _quantity(text: str) -> float:
    """CPU in cores or memory in bytes, for the suffixes the chart and nodes use."""
    units = {"m": 1e-3, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text.removesuffix(suffix)) * factor
    return float(text)


def _params() -> dict[str, str]:
    return dict(p.split("=", 1) for p in kube_config.NODE_PARAMS)


def test_three_fake_nodes_hold_1000_sessions() -> None:
    containers = yaml.safe_load(CHART_VALUES.read_text())["containers"].values()
    cpu = sum(_quantity(str(c["resources"]["requests"]["cpu"])) for c in containers)
    memory = sum(_quantity(str(c["resources"]["requests"]["memory"])) for c in containers)
    params, nodes = _params(), kube_checks.NODES
    assert nodes * _quantity(json.loads(params[".allocatable.cpu"])) >= SESSIONS * cpu
    assert nodes * _quantity(json.loads(params[".allocatable.memory"])) >= SESSIONS * memory
    pods = int(json.loads(params[".allocatable.pods"]))
    assert nodes * pods >= SESSIONS
    # Pod addresses stay kwok's default: one range shared by the fake nodes. Giving each
    # node the same wider range made pods on different nodes share addresses.

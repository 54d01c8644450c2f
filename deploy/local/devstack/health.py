"""Health checks for ``stack status``: is each recorded process alive and answering.

Returns plain rows ``(component, healthy, detail)``; :mod:`devstack.api` wraps them.
"""

from __future__ import annotations

import subprocess

from devstack import kafka, kube, kube_checks, node_steps, postgres, procs
from devstack import record as rec
from devstack.paths import StateLayout
from devstack.pins import Pins

Row = tuple[str, bool, str]


def _process(state: StateLayout, component: str) -> Row | None:
    """A failing row when the component's process is not running, else None."""
    if procs.running(state.pid(component)) is None:
        return (component, False, f"not running (log: {state.log(component)})")
    return None


def _helm(path: str) -> Row:
    try:
        out = subprocess.run(
            [path, "version", "--short"], capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return ("helm", False, str(exc))
    return ("helm", out.returncode == 0, out.stdout.strip() or out.stderr.strip())


def check(state: StateLayout, pins: Pins) -> list[Row]:
    data = rec.load(state.stack_json)
    port_map = data.get("ports")
    if not port_map:
        return [("stack", False, f"never started (no {state.stack_json})")]
    rows: list[Row] = []
    pg = _process(state, postgres.COMPONENT)
    if pg is None:
        bin_dir = postgres.find_bin_dir(pins.postgresql)
        ok = bin_dir is not None and postgres.healthy(bin_dir, int(port_map["postgres"]))
        pg = (
            "postgres",
            ok,
            f"127.0.0.1:{port_map['postgres']} " + ("ready" if ok else "no answer"),
        )
    rows.append(pg)
    kf = _process(state, kafka.COMPONENT)
    if kf is None:
        bootstrap = f"127.0.0.1:{port_map['kafka']}"
        ok = kafka.healthy(bootstrap)
        kf = ("kafka", ok, f"{bootstrap} " + ("serves metadata" if ok else "no metadata"))
    rows.append(kf)
    pid_files = kube.our_pid_files(state)
    if not pid_files:
        rows.append(("kubernetes", False, "no control-plane process recorded"))
    for pid_file in pid_files:
        name = pid_file.stem.removeprefix(kube.PID_PREFIX)
        alive = procs.running(pid_file) is not None
        rows.append(
            (
                name,
                alive,
                "running" if alive else f"not running (log: {kube.component_log(state, name)})",
            )
        )
    if pid_files:
        api = kube_checks.api_ready(state.kubeconfig)
        nodes = kube_checks.ready_nodes(state.kubeconfig) if api else 0
        detail = f"/readyz ok, {nodes} Ready nodes" if api else "/readyz failing"
        rows.append(("kubernetes api", api and nodes >= kube_checks.NODES, detail))
    rows += node_steps.rows(state, data.get("real_node"))
    rows.append(_helm(str(data.get("helm_binary", "helm"))))
    return rows

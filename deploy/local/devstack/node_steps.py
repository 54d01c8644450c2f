"""The real node's steps of ``stack up``, its rows of ``stack status``, its image import.

Kept apart from :mod:`devstack.api` so that the orchestration of the other components
stays as it was: ``api`` calls :func:`build` and :func:`start`, records what
:func:`start` returns under ``real_node`` in ``stack.json``, and offers
:func:`real_node` and :func:`import_image` (what other parts of the stack, such as the
image builds, call) under its own name.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from devstack import (
    cache,
    kube_build,
    kube_checks,
    node,
    node_claim,
    node_config,
    node_images,
    node_packages,
    procs,
)
from devstack import record as rec
from devstack.paths import StateLayout
from devstack.paths import layout as _layout
from devstack.pins import Pins
from devstack.steps import Reporter, step


def build(reporter: Reporter, state: StateLayout, p: Pins) -> None:
    """Packages, kubelet and kube-proxy, and the pause image (when the node is on)."""
    if not node.enabled():
        return
    log = state.log("build-node")
    with step(reporter, "node packages", log) as note:
        installed = node_packages.ensure(p.node.packages, log)
        note.text = f"installed {' '.join(installed)}" if installed else "found"
    with step(reporter, "node binaries", log) as note:
        _directory, fresh = kube_build.ensure_kubernetes_node(p, log)
        note.text = "built kubelet, kube-proxy" if fresh else "cached"
    with step(reporter, "pause image", log) as note:
        tag, fresh = node_images.ensure_pause(p.node.pause_tag, log)
        note.text = f"built {tag}" if fresh else f"cached {tag}"


def binaries(p: Pins) -> node.NodeBinaries:
    directory = kube_build.node_binaries_dir(p)
    return node.NodeBinaries(directory / "kubelet", directory / "kube-proxy")


def node_ready(kubeconfig: Path) -> bool:
    out = subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={kubeconfig}", "get", "node",
         node_config.NODE_NAME, "-o", "json"],
        capture_output=True, text=True, check=False, timeout=15,
    )  # fmt: skip
    if out.returncode != 0:
        return False
    conditions = json.loads(out.stdout).get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def forget_node(kubeconfig: Path) -> None:
    """Delete this cluster's Node object of a real node that no longer runs here (the
    machine's node went to another stack), so that nothing is scheduled onto it and the
    pods bound to it are collected."""
    subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={kubeconfig}", "delete", "node",
         node_config.NODE_NAME, "--ignore-not-found", "--wait=false"],
        capture_output=True, check=False, timeout=30,
    )  # fmt: skip


def start(reporter: Reporter, state: StateLayout, p: Pins, ports: dict[str, int]) -> dict[str, Any]:
    """Reuse, start or refuse the real node; return its ``stack.json`` description."""
    off = node.disabled_because()
    if off is not None:
        if not node.any_running(state):
            forget_node(state.kubeconfig)
        return {"state": "off", "detail": off}
    with step(reporter, "real node", state.log("node-kubelet")) as note:
        if node.running(state) and node_ready(state.kubeconfig):
            note.text = f"reused, {node_config.NODE_NAME}"
        else:
            if node.any_running(state):
                node.stop(state)  # a partly running node is started afresh
            # Two stacks that find the same dead claim must not both sweep and start:
            # one machine-wide lock until this stack's node processes are recorded.
            with cache.file_lock(node_claim.LOCK_FILE):
                try:
                    swept = node.take_claim(state)
                except node_claim.NodeBusy as busy:
                    forget_node(state.kubeconfig)
                    note.text = "not started: another stack runs it (see `stack status`)"
                    return {"state": "refused", "detail": str(busy)}
                pause = node_images.pause_tag(p.node.pause_tag)
                node.start(state, binaries(p), p.node.pod_cidr, pause, ports)
            node.wait_ready(state, lambda: node_ready(state.kubeconfig))
            note.text = f"started, {node_config.NODE_NAME}" + (
                f" (swept leftovers: {swept})" if swept else ""
            )
    return {
        "state": "running",
        "name": node_config.NODE_NAME,
        "ip": node_config.gateway(p.node.pod_cidr),
        "containerd_socket": str(node.node_paths(state).containerd_socket),
    }


def rows(state: StateLayout, described: dict[str, Any] | None) -> list[tuple[str, bool, str]]:
    """``stack status`` rows: each node process, then the node's readiness."""
    if not described or described.get("state") != "running":
        detail = (described or {}).get("detail", "never started")
        # Off by choice, or refused because another stack runs it: not a failure here.
        ok = (described or {}).get("state") in ("off", "refused")
        return [("real node", ok, f"not running: {detail}")]
    result = []
    for name in node.COMPONENTS:
        alive = procs.running(state.pid(name)) is not None
        result.append((name, alive, "running" if alive else f"not running ({state.log(name)})"))
    ready = node_ready(state.kubeconfig)
    detail = f"{described['name']} at {described['ip']}: " + ("Ready" if ready else "not Ready")
    result.append(("real node", ready, detail))
    return result


def load_images(
    reporter: Reporter, state: StateLayout, described: dict[str, Any], tags: dict[str, str]
) -> None:
    """Import the local session images into the real node's containerd (no-op when there)."""
    if described.get("state") != "running" or not tags:
        return
    log = state.log("node-images")
    with step(reporter, "images on the real node", log) as note:
        fresh = [name for name, tag in tags.items() if import_image(tag)]
        note.text = f"imported {', '.join(fresh)}" if fresh else "already there"


def real_node() -> dict[str, Any]:
    """The real node as ``up`` left it: ``state`` (running, refused, off), ``detail``,
    and when running ``name``, ``ip`` and ``containerd_socket``."""
    described = rec.load(_layout().stack_json).get("real_node")
    return dict(described) if isinstance(described, dict) else {"state": "never started"}


def import_image(tag: str) -> bool:
    """Import podman image ``tag`` into the real node's containerd (namespace k8s.io).

    Idempotent: returns False when that very image (same podman id) is already there,
    True when it was imported now. Pods use it with ``imagePullPolicy: Never`` under
    the reference :func:`devstack.node_images.normalized` gives (``localhost/...``).
    Raises RuntimeError when this stack's real node is not running.
    """
    described = real_node()
    if described.get("state") != "running" or not node.running(_layout()):
        raise RuntimeError(f"the real node is not running: {described.get('detail', '')}")
    socket = Path(described["containerd_socket"])
    log = _layout().log("node-images")
    return node_images.import_image(tag, socket=socket, log=log)

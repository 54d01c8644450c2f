"""Is the local cluster usable: API ready, nodes Ready, controllers acting.

Used by ``up`` (wait until usable, after starting the control plane) and ``status``.
Talks to the cluster through ``kubectl`` with the stack's kubeconfig.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from devstack import kube, kube_config, procs
from devstack.kube_build import KubeBinaries
from devstack.node_config import FAKE_LABEL
from devstack.paths import StateLayout

NODES = 3


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is not installed")
    return found


def _kubectl(kubeconfig: Path, *args: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            [kubectl(), f"--kubeconfig={kubeconfig}", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        return subprocess.CompletedProcess(args, 124, "", f"kubectl timed out after {timeout}s")


def api_ready(kubeconfig: Path) -> bool:
    return _kubectl(kubeconfig, "get", "--raw=/readyz", timeout=10).returncode == 0


def ready_nodes(kubeconfig: Path) -> int:
    """How many nodes report condition Ready=True."""
    out = _kubectl(kubeconfig, "get", "nodes", "-o", "json")
    if out.returncode != 0:
        return 0
    count = 0
    for node in json.loads(out.stdout).get("items", []):
        conditions = node.get("status", {}).get("conditions", [])
        count += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return count


def _wait(what: str, check: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not reached within {timeout:.0f}s (see {log})")


def _controllers_act(kubeconfig: Path, log: Path) -> None:
    """A fresh namespace gets its ``default`` ServiceAccount: the controller-manager runs."""
    namespace = f"devstack-probe-{uuid.uuid4().hex[:8]}"
    created = _kubectl(kubeconfig, "create", "namespace", namespace)
    if created.returncode != 0:
        raise RuntimeError(f"probe namespace not created: {created.stderr.strip()}")
    try:
        _wait(
            "controller-manager acting (service account of a new namespace)",
            lambda: _kubectl(kubeconfig, "get", "sa", "default", "-n", namespace).returncode == 0,
            90,
            log,
        )
    finally:
        _kubectl(kubeconfig, "delete", "namespace", namespace, "--wait=false")


def wait_ready(bins: KubeBinaries, state: StateLayout, *, started: bool) -> None:
    """API ready, ``NODES`` Ready nodes, default StorageClass; controllers act if ``started``."""
    kubeconfig, log = state.kubeconfig, state.log(kube.COMPONENT)
    _wait("kube-apiserver /readyz", lambda: api_ready(kubeconfig), 120, log)
    if ready_nodes(kubeconfig) < NODES:
        argv = [str(bins.kwokctl), "scale", "node", f"--replicas={NODES}"]
        argv += [f"--param={p}" for p in kube_config.NODE_PARAMS]
        argv.append(f"--name={kube_config.CLUSTER}")
        procs.run_logged(argv, log, env=kube.kwok_env(state), timeout=120)
    _wait(f"{NODES} Ready nodes", lambda: ready_nodes(kubeconfig) >= NODES, 120, log)
    # Fake nodes carry a label, so that scale tests can select them explicitly.
    labelled = _kubectl(kubeconfig, "label", "nodes", "-l", "type=kwok", FAKE_LABEL, "--overwrite")
    if labelled.returncode != 0:
        raise RuntimeError(f"fake nodes not labelled: {labelled.stderr.strip()}")
    manifest = kube.workdir(state) / "storageclass.yaml"
    manifest.write_text(kube_config.STORAGE_CLASS)
    applied = _kubectl(kubeconfig, "apply", "-f", str(manifest), timeout=30)
    if applied.returncode != 0:
        raise RuntimeError(f"default StorageClass not applied: {applied.stderr.strip()}")
    if started:
        _controllers_act(kubeconfig, log)

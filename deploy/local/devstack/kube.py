"""Kubernetes with simulated nodes: kwokctl runs the control plane as local processes.

``kwokctl --runtime binary`` is given the cached binaries (it never downloads), with
RBAC and admission on, so service-account tokens work; the kube-controller-manager
runs its default controllers (namespace, deployment/replicaset, endpointslice,
serviceaccount-token, garbage collector, ...), and kwok's default stages make nodes
and pods Ready. Its work directory lives under the state dir (``KWOK_WORKDIR``);
each component kwokctl starts is recorded in our own pid files too, so ``down`` stops
exactly those process groups.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from devstack import procs
from devstack.kube_build import KubeBinaries
from devstack.paths import StateLayout

COMPONENT = "kube"
CLUSTER = "devsessions"
NODES = 3
PID_PREFIX = "kube-"


def workdir(state: StateLayout) -> Path:
    return state.data("kwok")


def cluster_dir(state: StateLayout) -> Path:
    return workdir(state) / "clusters" / CLUSTER


def component_log(state: StateLayout, name: str) -> Path:
    return cluster_dir(state) / "logs" / f"{name}.log"


def kwok_env(state: StateLayout) -> dict[str, str]:
    return {**os.environ, "KWOK_WORKDIR": str(workdir(state))}


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        raise RuntimeError("kubectl is not installed")
    return found


# kwok simulates kubelets but provisions no volumes, so a pod with a PersistentVolumeClaim
# would stay Pending. The controller-manager's built-in host-path provisioner (a testing
# feature, fine for a single-machine stack) binds claims of the default StorageClass below.
HOSTPATH_FLAG = "enable-hostpath-provisioner"
KWOKCTL_CONFIG = f"""\
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
componentsPatches:
- name: kube-controller-manager
  extraArgs:
  - key: {HOSTPATH_FLAG}
    value: "true"
"""
STORAGE_CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
"""


def config_file(state: StateLayout) -> Path:
    """The kwokctl configuration (component patches) this stack creates clusters with."""
    path = workdir(state) / "devstack-kwokctl.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KWOKCTL_CONFIG)
    return path


def create_argv(bins: KubeBinaries, port: int, config: Path | None = None) -> list[str]:
    return [
        str(bins.kwokctl),
        "create",
        "cluster",
        f"--name={CLUSTER}",
        "--runtime=binary",
        f"--kube-apiserver-port={port}",
        "--secure-port=true",
        "--kube-authorization=true",
        "--kube-admission=true",
        "--kubeconfig=",
        f"--kube-apiserver-binary={bins.kube_apiserver}",
        f"--kube-controller-manager-binary={bins.kube_controller_manager}",
        f"--kube-scheduler-binary={bins.kube_scheduler}",
        f"--kwok-controller-binary={bins.kwok}",
        f"--etcd-binary={bins.etcd}",
        "--quiet-pull",
        "--timeout=5m",
        *([f"--config={config}"] if config is not None else []),
    ]


def _kwok_pid_files(state: StateLayout) -> list[Path]:
    return sorted((cluster_dir(state) / "pids").glob("*.pid"))


def _record_pids(state: StateLayout) -> None:
    """Copy kwokctl's pid files into ours, with the start time that pins each process."""
    for pid_file in _kwok_pid_files(state):
        raw = pid_file.read_text().strip()
        if not raw.isdigit():
            continue
        pid = int(raw)
        try:
            record = procs.PidRecord(pid, procs.start_time(pid))
        except ProcessLookupError:
            continue
        ours = state.pid(PID_PREFIX + pid_file.stem)
        ours.parent.mkdir(parents=True, exist_ok=True)
        ours.write_text(record.render())


def _forget_stale_kwok_pids(state: StateLayout) -> None:
    """kwokctl skips a component whose pid file names a live pid, even a recycled one:
    drop every kwokctl pid file that our own record does not confirm as running."""
    for pid_file in _kwok_pid_files(state):
        if procs.running(state.pid(PID_PREFIX + pid_file.stem)) is None:
            pid_file.unlink(missing_ok=True)


def our_pid_files(state: StateLayout) -> list[Path]:
    return sorted(state.pids.glob(f"{PID_PREFIX}*.pid"))


def start(bins: KubeBinaries, state: StateLayout, port: int) -> None:
    """Create the cluster on first use, else start its stopped components."""
    log = state.log(COMPONENT)
    env = kwok_env(state)
    existing = cluster_dir(state) / "kwok.yaml"
    if existing.exists() and HOSTPATH_FLAG not in existing.read_text():
        stop(state)  # made before volumes were provisioned: make it afresh
        shutil.rmtree(cluster_dir(state), ignore_errors=True)
    if existing.exists():
        _forget_stale_kwok_pids(state)
        argv = [str(bins.kwokctl), "start", "cluster", f"--name={CLUSTER}", "--timeout=5m"]
        try:
            procs.run_logged(argv, log, env=env, timeout=400)
        finally:
            _record_pids(state)
    else:
        try:
            procs.run_logged(
                create_argv(bins, port, config_file(state)), log, env=env, timeout=400
            )
        except (procs.CommandError, subprocess.TimeoutExpired):
            _record_pids(state)
            stop(state)  # no half-made cluster: the next `up` creates it afresh
            shutil.rmtree(cluster_dir(state), ignore_errors=True)
            raise
        _record_pids(state)
    source = cluster_dir(state) / "kubeconfig.yaml"
    tmp = state.kubeconfig.with_suffix(".tmp")
    shutil.copyfile(source, tmp)
    tmp.chmod(0o600)
    tmp.replace(state.kubeconfig)


def _kubectl(kubeconfig: Path, *args: str, timeout: float = 15) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [kubectl(), f"--kubeconfig={kubeconfig}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def api_ready(kubeconfig: Path) -> bool:
    try:
        return _kubectl(kubeconfig, "get", "--raw=/readyz", timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def ready_nodes(kubeconfig: Path) -> int:
    """How many nodes report condition Ready=True."""
    try:
        out = _kubectl(kubeconfig, "get", "nodes", "-o", "json")
    except subprocess.TimeoutExpired:
        return 0
    if out.returncode != 0:
        return 0
    count = 0
    for node in json.loads(out.stdout).get("items", []):
        conditions = node.get("status", {}).get("conditions", [])
        count += any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
    return count


def _wait(what: str, check: object, timeout: float, log: Path) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.5)
    raise RuntimeError(f"{what} not reached within {timeout:.0f}s (see {log})")


def wait_ready(bins: KubeBinaries, state: StateLayout) -> None:
    """API server ready, ``NODES`` Ready nodes, default service account present."""
    kubeconfig, log = state.kubeconfig, state.log(COMPONENT)
    _wait("kube-apiserver /readyz", lambda: api_ready(kubeconfig), 120, log)
    if ready_nodes(kubeconfig) < NODES:
        argv = [str(bins.kwokctl), "scale", "node", f"--replicas={NODES}", f"--name={CLUSTER}"]
        procs.run_logged(argv, log, env=kwok_env(state), timeout=120)
    _wait(f"{NODES} Ready nodes", lambda: ready_nodes(kubeconfig) >= NODES, 120, log)
    manifest = workdir(state) / "storageclass.yaml"
    manifest.write_text(STORAGE_CLASS)
    applied = _kubectl(kubeconfig, "apply", "-f", str(manifest), timeout=30)
    if applied.returncode != 0:
        raise RuntimeError(f"default StorageClass not applied: {applied.stderr.strip()}")
    _wait(
        "service account default/default",
        lambda: _kubectl(kubeconfig, "get", "serviceaccount", "default").returncode == 0,
        60,
        log,
    )


# Clients first, storage last: a controller whose API server vanished exits on its own,
# and an API server without etcd hangs in its shutdown.
STOP_ORDER = ("kwok-controller", "kube-scheduler", "kube-controller-manager", "kube-apiserver")


def _stop_rank(pid_file: Path) -> int:
    name = pid_file.stem.removeprefix(PID_PREFIX)
    return STOP_ORDER.index(name) if name in STOP_ORDER else len(STOP_ORDER)


def stop(state: StateLayout) -> list[str]:
    """Stop every component we recorded; return the names that were running."""
    stopped = []
    for pid_file in sorted(our_pid_files(state), key=_stop_rank):
        if procs.stop_pid_file(pid_file, grace=15):
            stopped.append(pid_file.stem.removeprefix(PID_PREFIX))
    # kwokctl skips starting a component whose pid file names a live pid: clear them.
    for pid_file in _kwok_pid_files(state):
        pid_file.unlink(missing_ok=True)
    return stopped

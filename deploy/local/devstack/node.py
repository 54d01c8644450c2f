"""The real node: containerd, kubelet, kube-proxy, the volume watcher and the forwarder of
the stack's services to pods (:mod:`devstack.node_access`) as stack processes.

Beside kwok's fake nodes, one node of the local cluster runs real containers. Its
configuration is :mod:`devstack.node_config`; the machine-wide claim that keeps a second
stack from starting another one, and the host's state before the first start, is
:mod:`devstack.node_claim`; the cleanup of what a stopped or killed node leaves behind is
:mod:`devstack.node_sweep`. The node is tainted (only pods that tolerate it run there)
and labelled ``devsessions.io/node=real`` so that tests and charts can select it.
``DEVSESSIONS_REAL_NODE=0`` runs the stack without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from devstack import kube, node_access, node_claim, node_config, node_images, node_sweep, procs
from devstack.node_config import NodePaths
from devstack.paths import StateLayout

COMPONENTS = (
    "node-containerd",
    "node-kubelet",
    "node-kube-proxy",
    "node-volumes",
    "node-bridge-proxy",
)
PORT_NAMES = ("kubelet", "kubelet_healthz", "kube_proxy_healthz", "kube_proxy_metrics")
CNI_BIN = "/usr/lib/cni"
RUNC = "/usr/sbin/runc"


@dataclass(frozen=True)
class NodeBinaries:
    kubelet: Path
    kube_proxy: Path


def disabled_because() -> str | None:
    """Why this stack runs without a real node, or None when it runs one."""
    if os.environ.get("DEVSESSIONS_REAL_NODE", "1") == "0":
        return "DEVSESSIONS_REAL_NODE=0"
    if os.geteuid() != 0:
        return "the real node needs root (containerd, cgroups, bridge)"
    return None


def enabled() -> bool:
    return disabled_because() is None


def node_paths(state: StateLayout) -> NodePaths:
    return NodePaths(state.data("node"))


def pid_files(state: StateLayout) -> list[Path]:
    return [state.pid(name) for name in COMPONENTS]


def running(state: StateLayout) -> bool:
    return all(procs.running(f) is not None for f in pid_files(state))


def any_running(state: StateLayout) -> bool:
    return any(procs.running(f) is not None for f in pid_files(state))


def _our_claim(state: StateLayout) -> node_claim.Claim:
    np = node_paths(state)
    return node_claim.Claim(
        str(state.root), str(np.root), str(np.containerd_socket), [str(p) for p in pid_files(state)]
    )


def take_claim(state: StateLayout) -> str:
    """Hold the machine's real node for this stack, sweeping a killed holder's leftovers.

    Raises :class:`node_claim.NodeBusy` while another stack's node runs. Returns what
    was cleaned ("" when nothing was left behind).
    """
    held = node_claim.load()
    if held is not None and held.state_root != str(state.root) and held.alive():
        raise node_claim.NodeBusy(held.state_root)
    swept: list[str] = []
    if held is not None:
        for pid_file in held.pid_files:
            procs.stop_pid_file(Path(pid_file), grace=10)
        swept = node_sweep.sweep(held)
        swept += [f"sysctl {n}" for n in node_claim.restore_sysctls(held)]
        node_claim.release()
    else:
        swept = node_sweep.sweep(_our_claim(state))  # leftovers of a claim lost to a reboot
    np = node_paths(state)
    claim = node_claim.snapshot(state.root, np.root, np.containerd_socket, pid_files(state))
    node_claim.save(claim)
    return ", ".join(swept)


def _ensure_bridge(gateway: str, prefix: int) -> None:
    link = Path(f"/sys/class/net/{node_config.BRIDGE}")
    if not link.exists():
        subprocess.run(["ip", "link", "add", node_config.BRIDGE, "type", "bridge"], check=True)
    address = f"{gateway}/{prefix}"
    subprocess.run(["ip", "addr", "replace", address, "dev", node_config.BRIDGE], check=True)
    subprocess.run(["ip", "link", "set", node_config.BRIDGE, "up"], check=True)


def _wait(what: str, check: object, timeout: float, pids: list[Path], log: Path) -> None:
    assert callable(check)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dead = [p.stem for p in pids if procs.running(p) is None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited during start-up (see {log})")
        if check():
            return
        time.sleep(0.3)
    raise RuntimeError(f"{what} not reached within {timeout:.0f}s (see {log})")


def _containerd_ready(socket: Path) -> bool:
    done = subprocess.run(
        ["ctr", f"--address={socket}", "version"], capture_output=True, check=False, timeout=10
    )
    return done.returncode == 0


def start(
    state: StateLayout, bins: NodeBinaries, pod_cidr: str, pause_tag: str, ports: dict[str, int]
) -> None:
    """Start containerd, kubelet, kube-proxy and the volume watcher (claim already held)."""
    np, kubeconfig = node_paths(state), state.kubeconfig
    for directory in (np.cni_conf_dir, np.cni_data_dir, np.kubelet_root, np.pod_logs):
        directory.mkdir(parents=True, exist_ok=True)
    node_ip, prefix = node_config.gateway(pod_cidr), int(pod_cidr.split("/")[1])
    _ensure_bridge(node_ip, prefix)
    log = state.log("node-containerd")
    np.containerd_config.parent.mkdir(parents=True, exist_ok=True)
    np.containerd_config.write_text(
        node_config.containerd_toml(np, node_images.normalized(pause_tag), RUNC, CNI_BIN)
    )
    (np.cni_conf_dir / "10-devsessions.conflist").write_text(node_config.cni_conflist(np, pod_cidr))
    first = [state.pid("node-containerd")]
    procs.spawn(["containerd", f"--config={np.containerd_config}"], log, first[0])
    _wait("containerd", lambda: _containerd_ready(np.containerd_socket), 60, first, log)
    node_images.import_image(pause_tag, socket=np.containerd_socket, log=log)
    ca = kube.cluster_dir(state) / "pki" / "ca.crt"
    np.kubelet_config.write_text(
        node_config.kubelet_yaml(
            np, ca_file=ca, port=ports["kubelet"], healthz_port=ports["kubelet_healthz"],
            node_ip=node_ip,
        )
    )  # fmt: skip
    argv = node_config.kubelet_argv(bins.kubelet, np, kubeconfig, node_ip)
    procs.spawn(argv, state.log("node-kubelet"), state.pid("node-kubelet"))
    np.kube_proxy_config.write_text(
        node_config.kube_proxy_yaml(
            kubeconfig, pod_cidr, healthz_port=ports["kube_proxy_healthz"],
            metrics_port=ports["kube_proxy_metrics"],
        )
    )  # fmt: skip
    argv = [str(bins.kube_proxy), f"--config={np.kube_proxy_config}", "--v=1"]
    procs.spawn(argv, state.log("node-kube-proxy"), state.pid("node-kube-proxy"))
    argv = [sys.executable, "-m", "devstack.node_volumes", str(kubeconfig)]
    procs.spawn(argv, state.log("node-volumes"), state.pid("node-volumes"))
    specs = [f.render() for f in node_access.forwards(ports)]
    argv = [sys.executable, "-m", "devstack.bridge_proxy", node_ip, *specs]
    procs.spawn(argv, state.log("node-bridge-proxy"), state.pid("node-bridge-proxy"))


def wait_ready(state: StateLayout, ready: object, timeout: float = 120) -> None:
    """Until ``ready()`` (the node reports Ready), while every node process lives."""
    _wait(
        f"node {node_config.NODE_NAME} Ready", ready, timeout, pid_files(state),
        state.log("node-kubelet"),
    )  # fmt: skip


# The kubelet first (it would restart what containerd loses), storage last.
STOP_ORDER = (
    "node-kubelet",
    "node-kube-proxy",
    "node-volumes",
    "node-bridge-proxy",
    "node-containerd",
)


def stop(state: StateLayout) -> list[str]:
    """Stop the node's processes, clean the host and release the claim (when ours)."""
    stopped = [n for n in STOP_ORDER if procs.stop_pid_file(state.pid(n), grace=15)]
    held = node_claim.load()
    if held is not None and held.state_root == str(state.root):
        node_sweep.sweep(held)
        node_claim.restore_sysctls(held)
        node_claim.release()
    return stopped

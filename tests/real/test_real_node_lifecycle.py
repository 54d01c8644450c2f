"""The real node leaves the host as it found it: after ``down``, and after SIGKILL.

``down`` must leave no process of the node, no mount below its directory, no bridge,
no kube-proxy nftables table, no ``KUBE-*`` iptables chain, no ``/kubepods`` cgroup, and
every sysctl the kubelet changed as it was. A stack whose processes were all SIGKILLed
(what CI does between runs) must come up again: ``up`` sweeps the leftovers and starts
a Ready node, with one containerd and one kubelet; the containers of a pod that ran
on the node are gone, and the kubelet starts the pod again. Both tests end with the stack up, as
the other tests of the session expect.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from devstack import api, node, node_claim, node_config, paths, procs
from devstack.record import StackInfo

from tests.real.pods import apply, containers_of, ctr, kubectl, pod_manifest

pytestmark = [pytest.mark.real, pytest.mark.slow]


def node_processes(state_root: Path) -> list[str]:
    """Command lines that mention the node's directory (containerd, kubelet, shims)."""
    needle = str(state_root / "node")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if needle in argv:
            found.append(f"{entry.name}: {argv[:120]}")
    return found


def leftovers(state_root: Path) -> list[str]:
    found = node_processes(state_root)
    node_dir = str(state_root / "node") + "/"
    mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    found += [m for m in mounts if m.split()[4].startswith(node_dir)]
    if Path(f"/sys/class/net/{node_config.BRIDGE}").exists():
        found.append(f"bridge {node_config.BRIDGE}")
    nft = ["nft", "list", "tables"]
    tables = subprocess.run(nft, capture_output=True, text=True, check=True).stdout
    found += [t for t in tables.splitlines() if "kube-proxy" in t]
    rules = subprocess.run(["iptables-save"], capture_output=True, text=True, check=True).stdout
    found += [r for r in rules.splitlines() if r.startswith(":KUBE-")]
    found += [str(d) for d in Path("/sys/fs/cgroup").glob("*/kubepods")]
    return found


def test_down_leaves_the_host_as_it_was(real_node: StackInfo) -> None:
    claim = node_claim.load()
    assert claim is not None
    assert claim.state_root == str(paths.layout().root)
    assert claim.sysctls, "no sysctl recorded before the node's first start"
    api.down()
    try:
        assert leftovers(paths.layout().root) == []
        for name, value in claim.sysctls.items():
            assert node_claim.read_sysctl(name) == value, name
        for path in claim.absent_paths:
            # /var/lib/cni may be podman's too (its CNI backend): only our files go.
            assert path == "/var/lib/cni" or not Path(path).exists(), path
        assert node_claim.load() is None
    finally:
        api.up()
    assert api.real_node()["state"] == "running"


def container_pids(namespace: str) -> list[int]:
    """Host pids of the running tasks of ``namespace``'s containers."""
    ours = set(containers_of(namespace))
    rows = [line.split() for line in ctr("tasks", "ls").splitlines()[1:]]
    return [int(row[1]) for row in rows if row and row[0] in ours and row[-1] == "RUNNING"]


def test_up_after_sigkill_sweeps_and_recovers(
    real_node: StackInfo, namespace: str, probe_image: str
) -> None:
    apply(real_node, namespace, pod_manifest("probe", probe_image, claim=None))
    kubectl(real_node, "wait", "-n", namespace, "pod/probe", "--for=condition=Ready",
            "--timeout=120s")  # fmt: skip
    before = container_pids(namespace)
    assert len(before) == 2  # the sandbox's pause and the probe
    state = paths.layout()
    records = [procs.read_pid(f) for f in sorted(state.pids.glob("*.pid"))]
    alive = [r for r in records if r is not None and procs.is_alive(r)]
    for record in alive:
        os.killpg(record.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    # is_alive reaps the zombies of processes this test process started (an earlier
    # `up` in this session); PostgreSQL would take an unreaped one for a live postmaster.
    while any(procs.is_alive(r) for r in alive) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert leftovers(state.root), "SIGKILL left nothing behind: the test proves nothing"
    begin = time.monotonic()
    api.up()
    elapsed = time.monotonic() - begin
    assert api.real_node()["state"] == "running"
    assert node.running(state)
    containerds = [p for p in node_processes(state.root) if "containerd --config" in p]
    kubelets = [p for p in node_processes(state.root) if "kubelet --config" in p]
    assert len(containerds) == 1, containerds
    assert len(kubelets) == 1, kubelets
    # A killed container nobody has reaped yet is a zombie: dead, though /proc shows it.
    live = [p for p in before if Path(f"/proc/{p}").exists() and not procs.is_zombie(p)]
    assert live == [], "containers of before the SIGKILL still run"
    deadline = time.monotonic() + 90
    while len(container_pids(namespace)) < 2 and time.monotonic() < deadline:
        time.sleep(1)
    after = container_pids(namespace)
    assert len(after) == 2, "the kubelet did not start the pod's containers again"
    assert not set(after) & set(before)
    kubectl(real_node, "wait", "-n", namespace, "pod/probe", "--for=condition=Ready",
            "--timeout=120s")  # fmt: skip
    print(f"up after SIGKILL: {elapsed:.1f}s")

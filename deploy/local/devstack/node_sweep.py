"""Remove what a real node leaves on the host once its processes are gone.

Called by ``stack down`` after the node's processes stopped, and by ``stack up`` when
a claim's processes were killed (SIGKILL leaves everything behind). Idempotent, and it
only touches what it can attribute to the node: container processes in ``/kubepods``
cgroups, runc shims serving the node's containerd socket, mounts below the node's
directory, network namespaces of pods that no process uses any more, the node's bridge,
kube-proxy's nftables tables, ``KUBE-*`` iptables chains and the CNI masquerade rules
commented with the node's network name, the ``/kubepods`` cgroups, and the fixed host
paths that did not exist before the node first started. The recorded sysctls are put
back by the caller (:func:`devstack.node_claim.restore_sysctls`).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import time
from pathlib import Path

from devstack import node_claim, node_config
from devstack.node_claim import Claim

CGROUP_ROOT = Path("/sys/fs/cgroup")
KUBEPODS = "kubepods"
NETNS_DIR = Path("/run/netns")


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=30)


def _kubepods_dirs() -> list[Path]:
    return [d for d in CGROUP_ROOT.glob(f"*/{KUBEPODS}") if d.is_dir()]


def _cgroup_pids() -> set[int]:
    found: set[int] = set()
    for top in _kubepods_dirs():
        for procs_file in top.rglob("cgroup.procs"):
            with contextlib.suppress(OSError):
                found.update(int(x) for x in procs_file.read_text().split())
    return found


def _shim_pids(socket: str) -> set[int]:
    """runc shims (and anything else) started with our containerd's address."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        ours = any(a.decode(errors="replace") == socket for a in argv)
        if ours and int(entry.name) != os.getpid():
            found.add(int(entry.name))
    return found


def kill_processes(claim: Claim) -> int:
    """SIGKILL container processes and shims; return how many were signalled."""
    targets = _cgroup_pids() | _shim_pids(claim.containerd_socket)
    for pid in targets:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and (_cgroup_pids() - {os.getpid()}):
        time.sleep(0.1)
    return len(targets)


def _mountpoints() -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        points.append(point)
    return points


def _netns_in_use() -> set[int]:
    inodes = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                inodes.add(os.stat(entry / "ns" / "net").st_ino)
    return inodes


def unmount(claim: Claim) -> int:
    """Unmount everything below the node's directory and unused pod netns; return count."""
    root = claim.node_root.rstrip("/") + "/"
    ours = [p for p in _mountpoints() if p.startswith(root)]
    used = _netns_in_use()
    for netns in NETNS_DIR.glob("cni-*"):
        with contextlib.suppress(OSError):
            if os.stat(netns).st_ino not in used:
                ours.append(str(netns))
    for point in sorted(set(ours), key=len, reverse=True):
        _run("umount", "-l", point)
        if point.startswith(str(NETNS_DIR)):
            Path(point).unlink(missing_ok=True)
    return len(set(ours))


def remove_cgroups() -> int:
    removed = 0
    for top in _kubepods_dirs():
        for directory in sorted(
            (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
        ):
            with contextlib.suppress(OSError):
                directory.rmdir()
                removed += 1
        with contextlib.suppress(OSError):
            top.rmdir()
            removed += 1
    return removed


def remove_network() -> list[str]:
    """The bridge, kube-proxy's nftables tables, KUBE-* chains and our CNI rules."""
    done = []
    if Path(f"/sys/class/net/{node_config.BRIDGE}").exists():
        _run("ip", "link", "delete", node_config.BRIDGE)
        done.append(f"bridge {node_config.BRIDGE}")
    tables = _run("nft", "list", "tables").stdout.split("\n")
    for family in ("ip", "ip6"):
        if f"table {family} kube-proxy" in tables:
            _run("nft", "delete", "table", family, "kube-proxy")
            done.append(f"nft {family} kube-proxy")
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool):
            done += _remove_chains(tool)
    return done


def _remove_chains(tool: str) -> list[str]:
    saved = _run(f"{tool}-save").stdout.splitlines()
    marker = f'name: \\"{node_config.NETWORK_NAME}\\"'
    removed = []
    table = ""
    doomed: dict[str, set[str]] = {}
    rules: list[tuple[str, str]] = []
    for line in saved:
        if line.startswith("*"):
            table = line[1:]
        elif line.startswith(":KUBE-"):
            doomed.setdefault(table, set()).add(line[1:].split()[0])
        elif line.startswith("-A "):
            rules.append((table, line))
            if marker in line and " -j CNI-" in line:
                doomed.setdefault(table, set()).add(line.split(" -j ")[1].split()[0])
    for table, line in rules:
        words = shlex.split(line)
        chain = words[1]
        target = words[words.index("-j") + 1] if "-j" in words else ""
        if chain not in doomed.get(table, set()) and (
            target in doomed.get(table, set()) or marker in line
        ):
            _run(tool, "-t", table, "-D", *words[1:])
    for table, chains in doomed.items():
        for chain in chains:
            _run(tool, "-t", table, "-F", chain)
        for chain in chains:
            if _run(tool, "-t", table, "-X", chain).returncode == 0:
                removed.append(f"{tool} {table} {chain}")
    return removed


def remove_empty_tables(claim: Claim) -> list[str]:
    """nftables tables that iptables-nft made for the kubelet's chains, now empty."""
    if claim.nft_tables is None:
        return []
    removed = []
    for table in node_claim.nft_tables():
        if table in claim.nft_tables:
            continue
        family, _, name = table.partition(" ")
        listing = _run("nft", "list", "table", family, name).stdout
        if "chain " not in listing and _run("nft", "delete", "table", family, name).returncode == 0:
            removed.append(f"nft table {table}")
    return removed


def remove_fixed_paths(claim: Claim) -> list[str]:
    """Fixed host paths that did not exist before the node: gone, except shared ones."""
    removed = []
    for raw in claim.absent_paths:
        path = Path(raw)
        if not path.exists():
            continue
        if path == Path("/var/lib/cni"):
            # podman's CNI backend may share it: drop only our cached results.
            for result in path.glob(f"results/{node_config.NETWORK_NAME}-*"):
                result.unlink(missing_ok=True)
            for directory in (path / "results", path):
                with contextlib.suppress(OSError):
                    directory.rmdir()
        else:
            shutil.rmtree(path, ignore_errors=True)
        if not path.exists():
            removed.append(raw)
    return removed


def sweep(claim: Claim) -> list[str]:
    """Everything above, in order; return a description of what was removed."""
    done = []
    if killed := kill_processes(claim):
        done.append(f"{killed} processes")
    if mounts := unmount(claim):
        done.append(f"{mounts} mounts")
    if cgroups := remove_cgroups():
        done.append(f"{cgroups} cgroups")
    done += remove_network()
    done += remove_empty_tables(claim)
    done += remove_fixed_paths(claim)
    return done

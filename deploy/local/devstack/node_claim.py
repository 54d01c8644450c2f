"""One real node per machine: who holds it, and what the host looked like before.

The real node's kubelet, kube-proxy (its nftables tables have fixed names), bridge, pod
range, ``/kubepods`` cgroups and a few fixed host paths exist once per machine, so one
stack at a time may run it. The holder is recorded in a claim file under ``/run`` (gone
with a reboot, as are the changes it guards): the holder's state dir, its pid files,
its node directory, the host sysctls as they were before the first start, which fixed
host paths did not exist then, and which nftables tables existed. A second stack is
refused while the holder's processes live (:class:`NodeBusy` says what to do); a holder
whose processes are all dead was killed, and its leftovers are swept
(:mod:`devstack.node_sweep`) before the next start, by whichever stack starts next.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import procs

CLAIM_DIR = Path("/run/devsessions-node")
CLAIM_FILE = CLAIM_DIR / "claim.json"
# What the kubelet (setupKernelTunables) and kube-proxy may change on the host.
SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
    "net/ipv4/conf/all/route_localnet",
)
# Host paths the kubelet, containerd and the CNI plugins use whatever they are told.
FIXED_PATHS = (
    "/var/lib/kubelet",
    "/var/log/containers",
    "/var/lib/cni",
    "/run/containerd",
)


class NodeBusy(RuntimeError):
    """Another stack on this machine runs the real node."""

    def __init__(self, holder: str) -> None:
        super().__init__(
            f"the real node of this machine is run by the stack in {holder}; "
            "one stack at a time can have it: stop that one (`devsessions stack down` "
            "there) and run `devsessions stack up` again, or set DEVSESSIONS_REAL_NODE=0 "
            "to run this stack with fake nodes only"
        )
        self.holder = holder


@dataclass
class Claim:
    state_root: str
    node_root: str
    containerd_socket: str
    pid_files: list[str]
    sysctls: dict[str, str] = field(default_factory=dict)
    absent_paths: list[str] = field(default_factory=list)
    nft_tables: list[str] | None = None

    def alive(self) -> bool:
        return any(procs.running(Path(p)) is not None for p in self.pid_files)

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def read_sysctl(name: str) -> str | None:
    try:
        return (Path("/proc/sys") / name).read_text().strip()
    except OSError:
        return None


def write_sysctl(name: str, value: str) -> None:
    with contextlib.suppress(OSError):
        (Path("/proc/sys") / name).write_text(value + "\n")


def load() -> Claim | None:
    try:
        data = json.loads(CLAIM_FILE.read_text())
        return Claim(**data)
    except (OSError, ValueError, TypeError):
        return None


def save(claim: Claim) -> None:
    CLAIM_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
    tmp = CLAIM_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(claim.to_json(), indent=2) + "\n")
    tmp.replace(CLAIM_FILE)


def snapshot(state_root: Path, node_root: Path, socket: Path, pid_files: list[Path]) -> Claim:
    """A claim recording the host as it is now (before any node process runs)."""
    sysctls = {n: v for n in SYSCTLS if (v := read_sysctl(n)) is not None}
    absent = [p for p in FIXED_PATHS if not Path(p).exists()]
    return Claim(
        str(state_root),
        str(node_root),
        str(socket),
        [str(p) for p in pid_files],
        sysctls,
        absent,
        nft_tables(),
    )


def nft_tables() -> list[str]:
    """``family name`` of every nftables table now (iptables-nft makes some on first use)."""
    done = subprocess.run(
        ["nft", "list", "tables"], capture_output=True, text=True, check=False, timeout=30
    )
    return [line.removeprefix("table ").strip() for line in done.stdout.splitlines() if line]


def restore_sysctls(claim: Claim) -> list[str]:
    """Put back every recorded sysctl that differs now; return the names changed."""
    changed = []
    for name, value in claim.sysctls.items():
        if read_sysctl(name) != value:
            write_sysctl(name, value)
            changed.append(name)
    return changed


def release() -> None:
    CLAIM_FILE.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        CLAIM_DIR.rmdir()

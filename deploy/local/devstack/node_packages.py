"""The real node's Debian packages: found on the machine, or installed with apt-get.

Each package is probed by a file it installs (a fresh machine has none of them); the
missing ones are installed in one ``apt-get install``, as root, the way the stack
installs PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from devstack import procs

# package -> a file that tells it is installed
PROBES = {
    "containerd": "/usr/bin/containerd",
    "runc": "/usr/sbin/runc",
    "containernetworking-plugins": "/usr/lib/cni/bridge",
    "conntrack": "/usr/sbin/conntrack",
    "iptables": "/usr/sbin/iptables",
    "nftables": "/usr/sbin/nft",
    "podman": "/usr/bin/podman",
    "gcc": "/usr/bin/gcc",
    "libc6-dev": "/usr/include/stdio.h",
}


def missing(packages: tuple[str, ...]) -> list[str]:
    return [p for p in packages if not Path(PROBES.get(p, f"/nonexistent/{p}")).exists()]


def ensure(packages: tuple[str, ...], log: Path) -> list[str]:
    """Install what is missing; return the packages installed now."""
    absent = missing(packages)
    if not absent:
        return []
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"the real node needs: apt-get install {' '.join(absent)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    procs.run_logged(["apt-get", "update"], log, env=env, timeout=600)
    argv = ["apt-get", "install", "-y", "--no-install-recommends", *absent]
    procs.run_logged(argv, log, env=env, timeout=1200)
    still = missing(packages)
    if still:
        raise RuntimeError(f"apt-get ran but {still} are still missing (see {log})")
    return absent

"""The container engine of the stack: podman with runc, configured by a file we own.

Why a file of our own: on this machine kind crun (podman's default runtime) fails on the
hybrid cgroup hierarchy, and root lacks ``CAP_SYS_RESOURCE``, so podman's default ulimits
(above the current hard limits) fail at ``setrlimit``. A ``containers.conf`` under the
cache, passed as ``CONTAINERS_CONF``, selects runc and ulimits no higher than our own hard
limits; every podman call of the stack goes through :func:`run` with that environment.
podman, runc and debootstrap are Debian packages, installed with apt-get when missing.
"""

from __future__ import annotations

import os
import resource
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from devstack import paths, procs

PACKAGES = ("podman", "runc", "debootstrap")
# Installed along when anything is missing: podman's network stack (published ports,
# networking in build steps) without pulling in Recommends.
NETWORK_PACKAGES = ("netavark", "aardvark-dns", "iptables")
PODMAN = "podman"
RUNTIME = "/usr/sbin/runc"
NOFILE_CAP = 65536
NPROC_CAP = 8192


def missing_packages() -> list[str]:
    """Debian packages of the engine whose command is not installed."""
    commands = {"podman": PODMAN, "runc": "runc", "debootstrap": "debootstrap"}
    found = {
        name: shutil.which(cmd) or shutil.which(cmd, path="/usr/sbin:/sbin")
        for name, cmd in commands.items()
    }
    return [name for name in PACKAGES if not found[name]]


def cannot_install_reason() -> str | None:
    """Why the engine is missing and cannot be installed here, or None."""
    missing = missing_packages()
    if missing and (os.geteuid() != 0 or shutil.which("apt-get") is None):
        return f"no container engine: apt-get install {' '.join(missing)}"
    return None


def ensure_installed(log: Path) -> bool:
    """Install podman, runc and debootstrap with apt-get when missing; True if installed now."""
    missing = missing_packages()
    if not missing:
        return False
    reason = cannot_install_reason()
    if reason is not None:
        raise RuntimeError(reason)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    procs.run_logged(["apt-get", "update"], log, env=env)
    argv = ["apt-get", "install", "-y", "--no-install-recommends", *missing, *NETWORK_PACKAGES]
    procs.run_logged(argv, log, env=env)
    return True


def _limit(kind: int, cap: int) -> int:
    _soft, hard = resource.getrlimit(kind)
    return cap if hard == resource.RLIM_INFINITY else min(hard, cap)


def conf_text() -> str:
    """containers.conf: runc, and ulimits a process without CAP_SYS_RESOURCE may set."""
    nofile = _limit(resource.RLIMIT_NOFILE, NOFILE_CAP)
    nproc = _limit(resource.RLIMIT_NPROC, NPROC_CAP)
    return (
        "# Written by devsessions' local stack (devstack.engine); rewritten on change.\n"
        "[containers]\n"
        f'default_ulimits = ["nofile={nofile}:{nofile}", "nproc={nproc}:{nproc}"]\n'
        "[engine]\n"
        'runtime = "runc"\n'
        "[engine.runtimes]\n"
        f'runc = ["{RUNTIME}", "/usr/bin/runc"]\n'
    )


def conf_path() -> Path:
    """Our containers.conf, (re)written when its content would change."""
    path = paths.cache_root() / "podman" / "containers.conf"
    text = conf_text()
    if not path.is_file() or path.read_text() != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return path


def env() -> dict[str, str]:
    """The environment for podman: ours, with ``CONTAINERS_CONF`` pointing at our file."""
    return {**os.environ, "CONTAINERS_CONF": str(conf_path())}


def run(args: Sequence[str], log: Path, *, timeout: float | None = None) -> str:
    """Run ``podman ARGS`` to completion with our configuration; return its stdout."""
    return procs.run_logged([PODMAN, *args], log, env=env(), timeout=timeout)


def build(args: Sequence[str], log: Path) -> None:
    """Run ``podman ARGS`` (a build) with all its output streamed into ``log`` as it comes.

    A long build (code-server's native modules, a Go compile) shows its progress in the
    log while it runs instead of at the end.
    """
    argv = [PODMAN, *args]
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        code = subprocess.run(
            argv,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=env(),
            check=False,
        ).returncode
    if code != 0:
        raise procs.CommandError(argv, code, log)


def image_exists(tag: str) -> bool:
    probe = subprocess.run(
        [PODMAN, "image", "exists", tag], env=env(), capture_output=True, check=False
    )
    return probe.returncode == 0


def image_id(tag: str) -> str:
    """The image id of ``tag`` ("" when there is no such image)."""
    probe = subprocess.run(
        [PODMAN, "image", "inspect", "--format", "{{.Id}}", tag],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    return probe.stdout.strip() if probe.returncode == 0 else ""


def unavailable_reason() -> str | None:
    """Why no container can run here (for skips), or None when podman works."""
    missing = missing_packages()
    if missing:
        return f"no container engine: apt-get install {' '.join(missing)}"
    probe = subprocess.run(
        [PODMAN, "info", "--format", "{{.Host.OCIRuntime.Name}}"],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if probe.returncode != 0:
        return f"podman does not work here: {probe.stderr.strip()[-300:]}"
    return None

"""PostgreSQL from Debian's packages as a private cluster under the state directory.

initdb makes the cluster in ``<state>/postgres/data``; the server listens on
127.0.0.1 at the stack's port with its unix socket in ``<state>/postgres/run``, so it
never touches a system-wide instance. PostgreSQL refuses to run as root: when this
runs as root, initdb and the server run as the unprivileged ``postgres`` user that
the Debian package creates, which owns the data directory.
Authentication is ``trust`` on 127.0.0.1: fine for a local stack, never for anything else;
pods of the real node come in from another loopback address through the node's forwarder
and must give the role's password (:func:`allow_password_from`).
"""

from __future__ import annotations

import hashlib
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devstack import procs
from devstack.paths import StateLayout
from devstack.pins import PostgresPin

COMPONENT = "postgres"
RUN_AS = "postgres"
DATABASE = "devsessions"
ROLE = "devsessions"
PACKAGE_ROOT = Path("/usr/lib/postgresql")


def find_bin_dir(pin: PostgresPin) -> Path | None:
    """The newest installed ``/usr/lib/postgresql/<major>/bin`` (at least ``min_major``)."""
    majors = sorted(
        (int(p.name) for p in PACKAGE_ROOT.glob("*") if re.fullmatch(r"\d+", p.name)),
        reverse=True,
    )
    for major in majors:
        bin_dir = PACKAGE_ROOT / str(major) / "bin"
        if major >= pin.min_major and (bin_dir / "postgres").exists():
            return bin_dir
    return None


def ensure_installed(pin: PostgresPin, log: Path) -> tuple[Path, bool]:
    """Binaries of PostgreSQL, installing Debian's package when missing."""
    found = find_bin_dir(pin)
    if found is not None:
        return found, False
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise RuntimeError(f"PostgreSQL is not installed: apt-get install {pin.package}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    procs.run_logged(["apt-get", "update"], log, env=env)
    procs.run_logged(
        ["apt-get", "install", "-y", "--no-install-recommends", pin.package], log, env=env
    )
    found = find_bin_dir(pin)
    if found is None:
        raise RuntimeError(f"apt-get installed {pin.package} but no server binaries were found")
    return found, True


def run_as() -> str | None:
    """The user the server runs as: ``postgres`` when we are root, else ourselves."""
    return RUN_AS if os.geteuid() == 0 else None


def _own(path: Path, user: str | None) -> None:
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


def _reachable(path: Path, user: str) -> bool:
    """True when ``user`` may search ``path`` (and so every directory above it)."""
    probe = subprocess.run(
        ["test", "-x", str(path)], user=user, group=user, extra_groups=[], check=False
    )
    return probe.returncode == 0


def home_dir(state: StateLayout) -> Path:
    """``<state>/postgres``, or a symlink from there to a place the server user reaches.

    A state dir below a private home (mode 0700) is out of the ``postgres`` user's
    reach; the cluster then lives in a directory of its own under the system's temp
    dir, named after the state dir, and ``<state>/postgres`` points to it.
    """
    home = state.data(COMPONENT)
    if home.is_symlink():
        return home.resolve()
    user = run_as()
    state.root.chmod(state.root.stat().st_mode | 0o711)
    if home.exists() or user is None or _reachable(state.root, user):
        home.mkdir(exist_ok=True)
        home.chmod(home.stat().st_mode | 0o711)
        return home
    digest = hashlib.sha1(str(state.root).encode()).hexdigest()[:12]
    outside = Path(tempfile.gettempdir()) / f"devsessions-postgres-{digest}"
    outside.mkdir(mode=0o711, exist_ok=True)
    home.symlink_to(outside, target_is_directory=True)
    return outside


def url(port: int) -> str:
    return f"postgresql+asyncpg://{ROLE}@127.0.0.1:{port}/{DATABASE}"


def _clear_stale_lock(data: Path) -> None:
    """A SIGKILLed postmaster that nobody has reaped yet is a zombie, which PostgreSQL
    takes for a live server ("lock file postmaster.pid already exists"): wait for the
    reaping a little, then drop the lock of a postmaster that is a zombie or gone."""
    lock = data / "postmaster.pid"
    try:
        pid = int(lock.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return
    deadline = time.monotonic() + 5
    while procs.is_zombie(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    if procs.is_zombie(pid) or not Path(f"/proc/{pid}").exists():
        lock.unlink(missing_ok=True)


def start(bin_dir: Path, state: StateLayout, port: int) -> procs.PidRecord:
    """initdb on first use, then start the server on ``127.0.0.1:port``."""
    home = home_dir(state)
    data, run = home / "data", home / "run"
    user = run_as()
    _own(run, user)
    log = state.log(COMPONENT)
    if not (data / "PG_VERSION").exists():
        if data.exists():
            shutil.rmtree(data)  # a half-made cluster from an interrupted initdb
        _own(data, user)
        argv = [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        procs.run_logged([*argv, "-E", "UTF8", "--no-locale"], log, user=user, cwd=home)
    _clear_stale_lock(data)
    argv = [str(bin_dir / "postgres"), "-D", str(data)]
    for setting in (
        "listen_addresses=127.0.0.1",
        f"port={port}",
        f"unix_socket_directories={run}",
        "max_connections=200",
        "fsync=off",
        "synchronous_commit=off",
        "full_page_writes=off",
    ):
        argv += ["-c", setting]
    return procs.spawn(argv, log, state.pid(COMPONENT), user=user, cwd=home)


def _psql(bin_dir: Path, port: int, sql: str, log: Path, database: str = "postgres") -> str:
    argv = [str(bin_dir / "psql"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
    argv += ["-d", database, "-v", "ON_ERROR_STOP=1", "-tAc", sql]
    return procs.run_logged(argv, log, timeout=30).strip()


def healthy(bin_dir: Path, port: int) -> bool:
    """True when the server accepts connections (``pg_isready``)."""
    argv = [str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port), "-t", "2"]
    return os.spawnv(os.P_WAIT, argv[0], argv) == 0


def wait_ready(bin_dir: Path, port: int, record: procs.PidRecord, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if not procs.is_alive(record):
            raise RuntimeError(f"PostgreSQL exited during start-up (see {log})")
        if healthy(bin_dir, port):
            return
        time.sleep(0.3)
    raise RuntimeError(f"PostgreSQL did not accept connections within 60s (see {log})")


def ensure_database(bin_dir: Path, port: int, log: Path) -> None:
    """Create the service's role and database when missing."""
    if _psql(bin_dir, port, f"SELECT 1 FROM pg_roles WHERE rolname = '{ROLE}'", log) != "1":
        _psql(bin_dir, port, f"CREATE ROLE {ROLE} LOGIN CREATEDB", log)
    if _psql(bin_dir, port, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'", log) != "1":
        _psql(bin_dir, port, f"CREATE DATABASE {DATABASE} OWNER {ROLE}", log)


def allow_password_from(
    bin_dir: Path, state: StateLayout, port: int, *, source: str, password: str, log: Path
) -> None:
    """Let ``source`` (one address) in as the service's role with ``password`` (scram),
    besides ``trust`` on 127.0.0.1: how pods reach the database through the node's
    forwarder (:mod:`devstack.node_access`). Idempotent; reloads the server on change."""
    hba = home_dir(state) / "data" / "pg_hba.conf"
    line = f"host all {ROLE} {source}/32 scram-sha-256"
    _psql(bin_dir, port, f"ALTER ROLE {ROLE} PASSWORD '{password}'", log)
    text = hba.read_text()
    if line not in text.splitlines():
        with hba.open("a") as out:  # appending keeps the file's owner (the server's user)
            out.write(f"# pods of the real node, through the stack's forwarder\n{line}\n")
        _psql(bin_dir, port, "SELECT pg_reload_conf()", log)

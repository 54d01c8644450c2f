"""podman's Docker-compatible API on a socket of the stack, for testcontainers and docker-py.

``podman system service`` serves the Docker Engine API from the same storage and with the
same configuration as every other podman call of the stack (``CONTAINERS_CONF``, see
:mod:`devstack.engine`): runc, and ulimits that root without ``CAP_SYS_RESOURCE`` may set.
The socket lives under the state dir (``<state>/engine/podman.sock``), so two stacks on
one machine each have their own; clients use it as ``DOCKER_HOST=unix://<socket>``.

``stack up`` starts it (reused while it answers ``/_ping``) when podman works here and
records it; ``stack down`` stops it. testcontainers' reaper (Ryuk) needs an image from a
registry, so tests disable it and remove their containers themselves.
"""

from __future__ import annotations

import http.client
import socket
import time
from pathlib import Path

from devstack import engine, procs
from devstack.paths import StateLayout
from devstack.steps import Reporter, step

COMPONENT = "engine"


def socket_path(state: StateLayout) -> Path:
    return state.data(COMPONENT) / "podman.sock"


def docker_host(state: StateLayout) -> str:
    """The ``DOCKER_HOST`` value that reaches this stack's engine."""
    return f"unix://{socket_path(state)}"


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self._path))


def healthy(state: StateLayout, timeout: float = 3) -> bool:
    """True when the socket answers the Docker API's ``GET /_ping`` with OK."""
    path = socket_path(state)
    if not path.exists():
        return False
    connection = _UnixConnection(path, timeout)
    try:
        connection.request("GET", "/_ping")
        reply = connection.getresponse()
        return reply.status == 200 and reply.read().strip() == b"OK"
    except OSError:
        return False
    finally:
        connection.close()


def start(state: StateLayout, timeout: float = 60) -> str:
    """Reuse or start the service; return ``"reused"`` or ``"started"``."""
    if procs.running(state.pid(COMPONENT)) is not None and healthy(state):
        return "reused"
    procs.stop_pid_file(state.pid(COMPONENT))
    path = socket_path(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    argv = [engine.PODMAN, "system", "service", "--time=0", f"unix://{path}"]
    log = state.log(COMPONENT)
    record = procs.spawn(argv, log, state.pid(COMPONENT), env=engine.env())
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.is_alive(record):
            raise RuntimeError(f"podman system service exited during start-up (see {log})")
        if healthy(state):
            return "started"
        time.sleep(0.2)
    raise RuntimeError(f"podman's API socket did not answer within {timeout:.0f}s (see {log})")


def up(reporter: Reporter, state: StateLayout, *, available: bool) -> str | None:
    """The ``stack up`` step: serve the engine when podman works here; its DOCKER_HOST."""
    if not available:
        return None
    with step(reporter, "container engine API", state.log(COMPONENT)) as note:
        note.text = f"{start(state)}, {docker_host(state)}"
    return docker_host(state)


def stop(state: StateLayout) -> bool:
    stopped = procs.stop_pid_file(state.pid(COMPONENT))
    socket_path(state).unlink(missing_ok=True)
    return stopped


def row(state: StateLayout, recorded: str | None) -> list[tuple[str, bool, str]]:
    """The ``stack status`` row (none when ``up`` found no engine to serve)."""
    if not recorded:
        return []
    if procs.running(state.pid(COMPONENT)) is None:
        return [("container engine", False, f"not running (log: {state.log(COMPONENT)})")]
    ok = healthy(state)
    return [("container engine", ok, f"{recorded} " + ("ping ok" if ok else "no answer"))]

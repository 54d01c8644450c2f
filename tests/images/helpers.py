"""Helpers of the image tests: run a container like the chart does, GET without redirects."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from devstack import engine, ports


def host_ip() -> str:
    """This machine's non-loopback address (what a pod IP is to the host-run controller)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("10.255.255.255", 1))
        return str(probe.getsockname()[0])


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["podman", *args], env=engine.env(), capture_output=True, text=True, check=check
    )


def get(
    url: str, *, host: str | None = None, timeout: float = 10
) -> tuple[int, str, dict[str, str]]:
    """GET without following redirects: (status, body, headers)."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: object, **kwargs: object) -> None:
            return None

    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=timeout) as reply:
            return reply.status, reply.read().decode("utf-8", "replace"), dict(reply.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace"), dict(error.headers)


def wait_for(url: str, *, host: str | None = None, timeout: float = 120) -> tuple[int, str]:
    """Poll ``url`` until it answers 200; return the last (status, body)."""
    deadline = time.monotonic() + timeout
    last: tuple[int, str] = (0, "no answer")
    while time.monotonic() < deadline:
        try:
            status, body, _ = get(url, host=host, timeout=5)
            last = (status, body)
            if status == 200:
                return last
        except OSError as error:
            last = (0, str(error))
        time.sleep(0.5)
    return last


class Container:
    def __init__(self, name: str, address: str, port: int) -> None:
        self.name = name
        self.address = address
        self.port = port

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    def uid(self) -> str:
        return podman("exec", self.name, "id", "-u").stdout.strip()


@contextmanager
def run_restricted(
    tag: str, container_port: int, *, address: str = "127.0.0.1", args: Sequence[str] = ()
) -> Iterator[Container]:
    """Run ``tag`` detached like the chart does (non-root, no capabilities); remove it after."""
    name = f"devsessions-test-{uuid.uuid4().hex[:8]}"
    port = ports.free_port()
    podman(
        "run", "-d", "--name", name, "--cap-drop", "ALL",
        "--security-opt", "no-new-privileges",
        "-e", f"DEVSESSIONS_PORT={container_port}",
        "-e", "DEVSESSIONS_PROJECT_UUID=00000000-0000-4000-8000-000000000001",
        "-p", f"{address}:{port}:{container_port}", tag, *args,
    )  # fmt: skip
    try:
        yield Container(name, address, port)
    finally:
        logs = podman("logs", name, check=False)
        print(f"--- {name} ({tag}) log ---\n{logs.stdout}{logs.stderr}")
        podman("rm", "-f", "-t", "2", name, check=False)

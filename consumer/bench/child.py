"""``devsessions run`` as a child process, with its CPU and peak memory read from /proc.

The service is measured as operators run it: a separate process with its own
environment, started until ``/readyz`` answers and stopped with SIGTERM. Its CPU and
peak RSS are read before it is stopped, so shutdown work is not counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import IO

from consumer.bench import procstat
from consumer.bench.topology import Topology


def devsessions() -> str:
    beside = Path(sys.executable).parent / "devsessions"
    return str(beside) if beside.exists() else (shutil.which("devsessions") or "devsessions")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spawn(env: Mapping[str, str], out: IO[bytes]) -> subprocess.Popen[bytes]:
    """``devsessions run`` with ``env``, its output and errors to ``out``, in a session of
    its own (so a signal to its process group reaches the service and nothing else)."""
    return subprocess.Popen(
        [devsessions(), "run"],
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


class ServiceChild:
    """One ``devsessions run`` on a topology."""

    def __init__(self, topo: Topology, **env: str) -> None:
        self.port = free_port()
        self.log = topo.directory / f"service-{self.port}.log"
        self._env = topo.env(DEVSESSIONS_HTTP_PORT=str(self.port), **env)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def _ready(self) -> bool:
        with contextlib.suppress(OSError, urllib.error.URLError):
            url = f"http://127.0.0.1:{self.port}/readyz"
            with urllib.request.urlopen(url, timeout=2) as answer:
                return bool(answer.status == 200)
        return False

    async def start(self, timeout: float = 90) -> None:
        with self.log.open("ab") as out:
            self.proc = await asyncio.to_thread(spawn, self._env, out)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}: {self.tail()}")
            if await asyncio.to_thread(self._ready):
                return
            await asyncio.sleep(0.2)
        raise TimeoutError(f"service not ready within {timeout:.0f}s: {self.tail()}")

    def check_alive(self) -> None:
        """Raise (with the end of its log) if the service has exited."""
        if self.proc is None or self.proc.poll() is not None:
            raise RuntimeError(f"service not running: {self.tail()}")

    def cpu(self) -> procstat.Cpu:
        return procstat.cpu(self.pid)

    def peak_rss(self) -> int:
        return procstat.peak_rss(self.pid)

    async def stop(self, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(self.proc.wait, timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            await asyncio.to_thread(self.proc.wait, 10)

    def tail(self, lines: int = 30) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.asynccontextmanager
async def running(topo: Topology, **env: str) -> AsyncIterator[ServiceChild]:
    child = ServiceChild(topo, **env)
    try:
        await child.start()
        yield child
    finally:
        await child.stop()

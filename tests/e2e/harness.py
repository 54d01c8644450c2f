"""Drives the real service against the real stack: subprocesses, topics, databases.

Each test module gets its own topics, consumer group and (where it matters) database, so
tests never see each other's records. Helm is reached through a wrapper script that logs
every invocation, so tests count real Helm calls of the real binary.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.record import StackInfo
from kubernetes import client

import events
from consumer.adapters.kafka_in import topic_partitions
from consumer.bench.child import free_port, spawn
from consumer.bench.topology import ServiceTopology

REPO = Path(__file__).resolve().parents[2]
DEVSESSIONS = Path(sys.executable).parent / "devsessions"


@dataclasses.dataclass
class Topology(ServiceTopology):
    """Names and settings that isolate one test module."""

    stack: StackInfo
    prefix: str
    database_url: str
    helm_log: Path
    helm_wrapper: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a ``devsessions`` subprocess.

        No automatic orphan sweep (each test module has its own database on one shared
        cluster); the orphan tests run ``devsessions reconcile`` by hand.
        """
        return self.service_env(
            self.helm_wrapper,
            {
                "DEVSESSIONS_READY_TIMEOUT_SECONDS": "120",
                "DEVSESSIONS_RESYNC_INTERVAL_SECONDS": "2",
                "DEVSESSIONS_BACKOFF_BASE_SECONDS": "1",
                "DEVSESSIONS_WORKER_CONCURRENCY": "4",
                "DEVSESSIONS_LOG_LEVEL": "INFO",
                **extra,
            },
        )

    def helm_calls(self, verb: str | None = None) -> list[str]:
        """Logged Helm invocations (one line of arguments each), optionally of one verb."""
        if not self.helm_log.exists():
            return []
        lines = self.helm_log.read_text().splitlines()
        return [line for line in lines if verb is None or line.split(" ", 1)[0] == verb]


def make_topology(stack: StackInfo, directory: Path, prefix: str | None = None) -> Topology:
    """A fresh database, topics and a logging helm for one test module, in ``directory``."""
    prefix = prefix or f"e2e-{uuid.uuid4().hex[:8]}"
    wrapper, log = make_helm_wrapper(stack.helm_binary, directory)
    database = asyncio.run(create_database(stack.database_url, prefix.replace("-", "_")))
    topo = Topology(
        stack=stack, prefix=prefix, database_url=database, helm_log=log, helm_wrapper=wrapper
    )
    asyncio.run(create_topics(stack.kafka_bootstrap_servers, topo.topics))
    return topo


def make_helm_wrapper(real_helm: Path, directory: Path) -> tuple[Path, Path]:
    """A ``helm`` that logs its arguments, then runs the real one."""
    log = directory / "helm-calls.log"
    wrapper = directory / "helm"
    wrapper.write_text(f'#!/bin/sh\nprintf "%s\\n" "$*" >> "{log}"\nexec "{real_helm}" "$@"\n')
    wrapper.chmod(0o755)
    return wrapper, log


async def create_topics(bootstrap: str, names: list[str], partitions: int = 3) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
    finally:
        await admin.close()


async def create_database(url: str, name: str) -> str:
    """A fresh database beside the stack's; returns its SQLAlchemy URL."""
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.rsplit("/", 1)[0] + "/" + name


class ServiceProcess:
    """``devsessions run`` as a child process, like an operator runs it."""

    # Where start() waits for a 200: ready by default; a subclass may wait for less.
    started_at = "/readyz"

    def __init__(self, topo: Topology, log_path: Path, **env: str) -> None:
        # A port may be asked for (the one the stack's forward-auth calls); else a free one.
        self.port = int(env.pop("DEVSESSIONS_HTTP_PORT", 0)) or free_port()
        self._env = topo.env(DEVSESSIONS_HTTP_PORT=str(self.port), **env)
        self._log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> None:
        with self._log_path.open("ab") as log:
            self.proc = spawn(self._env, log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"service exited with {self.proc.returncode}: {self.tail()}")
            with contextlib.suppress(OSError):
                url = f"http://127.0.0.1:{self.port}{self.started_at}"
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        return
            time.sleep(0.3)
        raise TimeoutError(f"service not answering {self.started_at} in {timeout}s: {self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs at all."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout: float = 60) -> int:
        """SIGTERM and wait for a graceful exit."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        return self.proc.returncode

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def tail(self, lines: int = 40) -> str:
        text = self._log_path.read_text(errors="replace") if self._log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


@contextlib.contextmanager
def running(topo: Topology, log_path: Path, **env: str) -> Iterator[ServiceProcess]:
    service = ServiceProcess(topo, log_path, **env)
    service.start()
    try:
        yield service
    finally:
        service.stop()


class OutputWatcher:
    """Reads the output (or any) topic from the beginning and keeps what it saw."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap, self._topic = bootstrap, topic
        self.records: list[Any] = []
        self._consumer: AIOKafkaConsumer | None = None

    async def __aenter__(self) -> OutputWatcher:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await self._consumer.start()
        parts = await topic_partitions(self._bootstrap, self._topic)
        tps = [TopicPartition(self._topic, p) for p in parts]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._consumer is not None
        await self._consumer.stop()

    async def poll(self) -> None:
        assert self._consumer is not None
        batch = await self._consumer.getmany(timeout_ms=500)
        for records in batch.values():
            self.records.extend(records)

    def decoded(self) -> list[events.Envelope[events.AnyEvent]]:
        return [events.from_record(r.key, r.value, r.headers) for r in self.records]

    async def wait_for(
        self, predicate: Callable[[list[events.Envelope[events.AnyEvent]]], bool], timeout: float
    ) -> list[events.Envelope[events.AnyEvent]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.poll()
            seen = self.decoded()
            if predicate(seen):
                return seen
        raise TimeoutError(
            f"condition not met in {timeout}s; saw {[e.type for e in self.decoded()]}"
        )


def of(
    seen: list[events.Envelope[Any]], project: str, kind: type[Any]
) -> list[events.Envelope[Any]]:
    return [e for e in seen if e.data.project_uuid == project and isinstance(e.data, kind)]


def created(project: str, **kw: Any) -> events.ProjectCreated:
    return events.ProjectCreated(
        project_uuid=project,
        project_id=kw.pop("project_id", 456),
        user_id=kw.pop("user_id", 123),
        created_at=datetime.now(UTC),
        **kw,
    )


def deleted(project: str) -> events.ProjectDeleted:
    return events.ProjectDeleted(project_uuid=project, deleted_at=datetime.now(UTC))


def namespace_exists(core: client.CoreV1Api, name: str) -> bool:
    return any(ns.metadata.name == name for ns in core.list_namespace().items)


def new_project() -> str:
    return str(uuid.uuid4())


def run_cli(
    topo: Topology, *args: str, timeout: float = 600, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(DEVSESSIONS), *args],
        env=topo.env(**env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def sleep(seconds: float) -> Any:
    return asyncio.sleep(seconds)

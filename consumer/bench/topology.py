"""An isolated topology on a shared stack: own topics, consumer group, database, Helm log.

Every benchmark run gets a fresh prefix, so it never reads or disturbs another run's or
another engineer's records, rows or namespaces, and removes what it made at the end.
Helm is reached through a wrapper script that appends one line per call (start, end,
exit code, arguments), so a run can count Helm calls and time the Helm stage per project.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack import api
from devstack.record import StackInfo

REPO = Path(__file__).resolve().parents[2]
CHART = REPO / "helm" / "dev-session-template"

_WRAPPER = """#!/bin/sh
s=$(date +%s.%N)
"{helm}" "$@"
rc=$?
printf '%s %s %s %s\\n' "$s" "$(date +%s.%N)" "$rc" "$*" >> "{log}"
exit $rc
"""


def stack() -> StackInfo:
    """The stack the environment names (``eval "$(devsessions stack env)"``) or the local one."""
    found = api.from_env() or api.info()
    if found is None:
        raise RuntimeError("no stack: run `devsessions stack up` or export `devsessions stack env`")
    return found


@dataclasses.dataclass(frozen=True)
class HelmCall:
    """One logged Helm invocation."""

    start: float
    end: float
    code: int
    args: tuple[str, ...]

    @property
    def verb(self) -> str:
        return self.args[0] if self.args else ""

    @property
    def release(self) -> str:
        """The release argument (first non-flag argument after the verb(s))."""
        rest = [a for a in self.args[1:] if not a.startswith("-") and a != "values"]
        return rest[0] if rest else ""


def parse_helm_log(text: str) -> list[HelmCall]:
    calls = []
    for line in text.splitlines():
        start, end, code, *args = line.split(" ")
        calls.append(HelmCall(float(start), float(end), int(code), tuple(args)))
    return calls


class ServiceTopology:
    """Names and settings that isolate a ``devsessions`` child process on a shared stack.

    Its own topics and consumer group (named from ``prefix``), its own database, and a
    Helm wrapper that logs each call. The benchmark's topology and the end-to-end tests'
    both build on this, so a service child is configured the same way in each.
    """

    stack: StackInfo
    prefix: str
    database_url: str

    @property
    def input_topic(self) -> str:
        return f"{self.prefix}.project-events"

    @property
    def output_topic(self) -> str:
        return f"{self.prefix}.session-events"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.prefix}.project-events.dlq"

    @property
    def topics(self) -> list[str]:
        return [self.input_topic, self.output_topic, self.dead_letter_topic]

    def service_env(self, helm: Path, settings: Mapping[str, str]) -> dict[str, str]:
        """Environment for a ``devsessions`` child process; ``settings`` come last and win."""
        env = self.stack.subprocess_env()
        env.update(
            {
                "DEVSESSIONS_INPUT_TOPIC": self.input_topic,
                "DEVSESSIONS_OUTPUT_TOPIC": self.output_topic,
                "DEVSESSIONS_DEAD_LETTER_TOPIC": self.dead_letter_topic,
                "DEVSESSIONS_CONSUMER_GROUP": f"{self.prefix}-group",
                "DEVSESSIONS_DATABASE_URL": self.database_url,
                "DEVSESSIONS_HELM_BINARY": str(helm),
                "DEVSESSIONS_CHART_PATH": str(CHART),
                # Its own database on a shared cluster: every other run's namespaces
                # would look never seen, so no automatic orphan sweep.
                "DEVSESSIONS_ORPHAN_SWEEP_INTERVAL_SECONDS": "0",
            }
        )
        env.update(settings)
        return env


@dataclasses.dataclass(frozen=True)
class Topology(ServiceTopology):
    """Names and settings that isolate one benchmark run."""

    stack: StackInfo
    prefix: str
    database_url: str
    directory: Path

    @property
    def helm_wrapper(self) -> Path:
        return self.directory / "helm"

    @property
    def helm_log(self) -> Path:
        return self.directory / "helm-calls.log"

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a ``devsessions`` child process on this topology."""
        return self.service_env(self.helm_wrapper, {"DEVSESSIONS_LOG_LEVEL": "WARNING", **extra})

    def helm_calls(self) -> list[HelmCall]:
        return parse_helm_log(self.helm_log.read_text()) if self.helm_log.exists() else []


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _admin(stack: StackInfo) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap_servers)
    await admin.start()
    return admin


async def _leaders(admin: AIOKafkaAdminClient, names: list[str], timeout: float = 30) -> None:
    """Wait until every partition of ``names`` has a leader (first sends then go straight
    through instead of retrying on NotLeaderForPartition, which would skew timestamps)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        described = await admin.describe_topics(names)
        if all(
            not t["error_code"]
            and t["partitions"]
            and all(p["leader"] >= 0 for p in t["partitions"])
            for t in described
        ):
            return
        await asyncio.sleep(0.2)


@contextlib.asynccontextmanager
async def isolated(stack: StackInfo, partitions: int = 3) -> AsyncIterator[Topology]:
    """A fresh topology; topics, database and the wrapper's directory go away after."""
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    database = prefix.replace("-", "_")
    conn = await asyncpg.connect(_dsn(stack.database_url))
    try:
        await conn.execute(f'CREATE DATABASE "{database}"')
    finally:
        await conn.close()
    directory = Path(tempfile.mkdtemp(prefix=f"{prefix}-"))
    topo = Topology(stack, prefix, stack.database_url.rsplit("/", 1)[0] + "/" + database, directory)
    topo.helm_wrapper.write_text(_WRAPPER.format(helm=stack.helm_binary, log=topo.helm_log))
    topo.helm_wrapper.chmod(0o755)
    names = topo.topics
    admin = await _admin(stack)
    try:
        await admin.create_topics([NewTopic(n, partitions, 1) for n in names])
        await _leaders(admin, names)
    finally:
        await admin.close()
    try:
        yield topo
    finally:
        admin = await _admin(stack)
        try:
            await admin.delete_topics(names)
        finally:
            await admin.close()
        conn = await asyncpg.connect(_dsn(stack.database_url))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        finally:
            await conn.close()
        shutil.rmtree(directory, ignore_errors=True)

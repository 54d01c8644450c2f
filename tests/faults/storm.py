"""What the outage scenarios share: a storm of creates and deletes over many projects, and
the service's own view of itself (``/readyz``, the dependency gauge, its database), and
the local stack's Kafka or PostgreSQL stopped and started again.

A storm round publishes one event per project, mostly creates, some deletes, so every
project ends on its last event (``last``), which ``endstate`` compares the cluster with.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest
from devstack import api as stack_api
from devstack.record import StackInfo

import events
from events.publish import EventPublisher
from tests.e2e.harness import OutputWatcher, ServiceProcess, Topology, created, deleted, new_project


class Storm:
    """Projects and the last event published for each."""

    def __init__(self, projects: int, *, seed: int) -> None:
        self.rng = random.Random(seed)
        self.projects = [new_project() for _ in range(projects)]
        self.last: dict[str, str] = {}
        self.published = 0

    async def round(self, pub: EventPublisher) -> None:
        """One event per project: a create, or (three times in ten) a delete of one seen."""
        for project in self.projects:
            kind = "deleted" if self.rng.random() < 0.3 and project in self.last else "created"
            await pub.publish(created(project) if kind == "created" else deleted(project))
            self.last[project], self.published = kind, self.published + 1

    async def clear(self, pub: EventPublisher) -> None:
        """Delete every project (leave the shared cluster as found)."""
        for project in self.projects:
            await pub.publish(deleted(project))
            self.last[project] = "deleted"
            self.published += 1


async def readyz(service: ServiceProcess) -> tuple[int, dict[str, Any]]:
    """``/readyz`` from a thread (a proxy may run on this loop); (0, {}) when no answer."""
    try:
        code, body = await asyncio.to_thread(service.get, "/readyz")
    except OSError:
        return 0, {}
    return code, json.loads(body)


async def until(check: Callable[[], Awaitable[bool]], timeout: float, what: str) -> float:
    """Seconds until ``check`` holds; fails the test after ``timeout``."""
    started = time.monotonic()
    while not await check():
        assert time.monotonic() - started < timeout, f"{what} not within {timeout}s"
        await asyncio.sleep(0.2)
    return time.monotonic() - started


async def named_failing(service: ServiceProcess, dependency: str, timeout: float = 30) -> float:
    """Seconds until ``/readyz`` answers 503 naming ``dependency``; then checks the gauge."""

    async def named() -> bool:
        code, body = await readyz(service)
        return code == 503 and dependency in body.get("failing", {})

    took = await until(named, timeout, f"/readyz naming {dependency}")
    _, metrics = await asyncio.to_thread(service.get, "/metrics")
    gauge = f'devsessions_dependency_up{{dependency="{dependency}"}} 0.0'.encode()
    assert gauge in metrics, f"{gauge!r} not in /metrics"
    return took


async def ready_again(service: ServiceProcess, timeout: float = 60) -> float:
    async def ready() -> bool:
        return (await readyz(service))[0] == 200

    return await until(ready, timeout, "/readyz 200 again")


# The components a test may stop (``devstack.api.STOPPABLE``): the name the skip gives and
# the endpoint that tells whether the test's stack is this machine's local one.
_STOPPABLE: dict[str, tuple[str, Callable[[StackInfo], str]]] = {
    "kafka": ("Kafka", lambda stack: stack.kafka_bootstrap_servers),
    "postgresql": ("PostgreSQL", lambda stack: stack.database_url),
}


def require_local(topo: Topology, name: str) -> None:
    """Skips the test unless component ``name`` (``kafka``, ``postgresql``) is this
    machine's local stack's: only that one can be stopped from here."""
    label, endpoint = _STOPPABLE[name]
    here = stack_api.info()
    if here is None or endpoint(here) != endpoint(topo.stack):
        pytest.skip(f"{label} is not this machine's local stack's: it cannot be stopped from here")


@contextlib.asynccontextmanager
async def component_stopped(name: str) -> AsyncIterator[None]:
    """The local stack's component ``name`` stopped (data and port kept), and started again
    (waiting until it answers) whatever happens meanwhile: the stack's other users need it.
    Call ``require_local`` first."""
    try:
        await asyncio.to_thread(stack_api.stop_component, name)
        yield
    finally:
        await asyncio.to_thread(stack_api.start_component, name)


def alive(service: ServiceProcess) -> bool:
    return service.proc is not None and service.proc.poll() is None


async def query(topo: Topology, sql: str) -> list[asyncpg.Record]:
    """Rows of ``sql`` in the service's database."""
    conn = await asyncpg.connect(
        topo.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def given_up(out: OutputWatcher) -> list[str]:
    """Projects with a ``SessionFailed`` that will not be retried (failed for good)."""
    return sorted(
        {
            e.data.project_uuid
            for e in out.decoded()
            if isinstance(e.data, events.SessionFailed) and not e.data.will_retry
        }
    )


def retried(out: OutputWatcher) -> int:
    """Failed attempts that will be retried (what an outage cost in attempts)."""
    return sum(
        1 for e in out.decoded() if isinstance(e.data, events.SessionFailed) and e.data.will_retry
    )

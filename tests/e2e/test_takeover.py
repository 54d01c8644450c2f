"""Crash recovery in seconds, on the real stack with real ``devsessions run`` replicas.

Two replicas share one consumer group and database. The replica working on a project is
SIGKILLed in the middle of its Helm install; its project lock goes with its database
connections, so the other replica takes the project over within a few seconds (not after
the 30 s lease) and converges it with exactly one release, installed once.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from pathlib import Path

import asyncpg

import events
from events.publish import EventPublisher
from tests.e2e.harness import (
    OutputWatcher,
    ServiceProcess,
    Topology,
    created,
    deleted,
    new_project,
    of,
)
from tests.e2e.light import light_values

READY_TIMEOUT = 240
TAKEOVER_LIMIT = 10.0  # seconds; the lease alone would take 30 s and more


async def _lease_owner(topo: Topology, project: str) -> str | None:
    conn = await asyncpg.connect(
        topo.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        owner: str | None = await conn.fetchval(
            "SELECT lease_owner FROM sessions WHERE project_uuid = $1", project
        )
    finally:
        await conn.close()
    return owner


async def _revision(topo: Topology, project: str) -> int:
    release = f"dev-session-{project}"
    status = await asyncio.to_thread(
        subprocess.run,
        [str(topo.stack.helm_binary), "status", release, "-n", project, "-o", "json"],
        env={**os.environ, "KUBECONFIG": str(topo.stack.kubeconfig)},
        capture_output=True,
        text=True,
        check=True,
    )
    return int(json.loads(status.stdout)["version"])


def _calls_for(topo: Topology, project: str) -> int:
    return sum(project in line for line in topo.helm_calls())


async def test_sigkill_mid_install_is_taken_over_within_seconds(
    topo: Topology, tmp_path: Path
) -> None:
    values = str(light_values(tmp_path))
    replicas = [
        ServiceProcess(topo, tmp_path / f"replica-{i}.log", DEVSESSIONS_CHART_VALUES_FILE=values)
        for i in range(2)
    ]
    for replica in replicas:
        replica.start()
    project = new_project()
    try:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            await pub.publish(created(project))
            deadline = time.monotonic() + 120
            while not any(project in line for line in topo.helm_calls("upgrade")):
                assert time.monotonic() < deadline, replicas[0].tail() + replicas[1].tail()
                await asyncio.sleep(0.02)
            owner = await _lease_owner(topo, project)
            assert owner is not None
            victim = next(r for r in replicas if r.proc and f":{r.proc.pid}+" in owner)
            survivor = next(r for r in replicas if r is not victim)
            before = _calls_for(topo, project)
            victim.kill()
            killed_at = time.monotonic()
            while _calls_for(topo, project) == before:
                assert time.monotonic() - killed_at < 60, survivor.tail()
                await asyncio.sleep(0.05)
            takeover = time.monotonic() - killed_at
            print(f"\ntakeover after SIGKILL mid-install: {takeover:.1f} s")
            seen = await out.wait_for(
                lambda s: bool(of(s, project, events.SessionReady)), READY_TIMEOUT
            )
            revision = await _revision(topo, project)
            await pub.publish(deleted(project))  # leave the shared cluster as found
            await out.wait_for(lambda s: bool(of(s, project, events.SessionDeleted)), READY_TIMEOUT)
        assert takeover < TAKEOVER_LIMIT, f"took {takeover:.1f} s"
        assert len(of(seen, project, events.SessionReady)) >= 1
        # The interrupted install was removed and the release installed once more: revision
        # 1, never an install over a pending one nor an upgrade.
        assert revision == 1, f"revision {revision}"
    finally:
        for replica in replicas:
            if replica.proc is not None and replica.proc.poll() is None:
                replica.stop()

"""Several replicas in one consumer group, and SIGKILLs of the one that is working.

Three ``devsessions run`` processes share the input topic's partitions. A storm of
creates and deletes runs over many projects while a replica busy with a project is
SIGKILLed, repeatedly (a fresh replica replaces each one). When it settles, the end state
must match the log (``endstate``): nothing lost, nothing installed twice.
``DEVSESSIONS_FAULT_SCALE`` multiplies the storm and the kills.
"""

from __future__ import annotations

import asyncio
import random
import re
from pathlib import Path

import asyncpg
from kubernetes import client

from events.publish import EventPublisher
from tests.e2e.harness import OutputWatcher, ServiceProcess, Topology, created, deleted, new_project
from tests.e2e.light import light_values
from tests.faults.endstate import converge, leave_as_found
from tests.faults.report import print_table

SETTLE_TIMEOUT = 300


async def _owners(topo: Topology) -> set[str]:
    dsn = topo.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT lease_owner FROM sessions WHERE lease_owner IS NOT NULL")
    finally:
        await conn.close()
    return {r["lease_owner"] for r in rows}


def _assigned(log: Path) -> bool:
    text = log.read_text(errors="replace") if log.exists() else ""
    return bool(re.search(r"assigned to partitions: \(TopicPartition", text))


async def test_three_replicas_share_work_and_survive_kills(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    rng = random.Random(12)
    values = str(light_values(tmp_path))
    serial = iter(range(1000))

    def replica() -> ServiceProcess:
        log = tmp_path / f"replica-{next(serial)}.log"
        return ServiceProcess(topo, log, DEVSESSIONS_CHART_VALUES_FILE=values)

    replicas = [replica() for _ in range(3)]
    await asyncio.gather(*(asyncio.to_thread(r.start) for r in replicas))
    projects = [new_project() for _ in range(8 * scale)]
    last: dict[str, str] = {}
    kills, published = 0, 0
    try:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            for _ in range(2 * scale):
                for project in projects:
                    # creates mostly; some deletes; every project ends on its last event
                    kind = "deleted" if rng.random() < 0.3 and project in last else "created"
                    event = created(project) if kind == "created" else deleted(project)
                    await pub.publish(event)
                    last[project], published = kind, published + 1
                await asyncio.sleep(1 + rng.random() * 2)
                busy = await _owners(topo)
                victims = [
                    r for r in replicas if r.proc and any(f":{r.proc.pid}+" in o for o in busy)
                ]
                victim = victims[0] if victims else rng.choice(replicas)
                await asyncio.to_thread(victim.kill)
                kills += 1
                fresh = replica()
                await asyncio.to_thread(fresh.start)
                replicas = [r for r in replicas if r is not victim] + [fresh]
            shared = sum(_assigned(tmp_path / f"replica-{i}.log") for i in range(3))
            took, wrong = await converge(topo, api, last, out, SETTLE_TIMEOUT)
            print_table(
                f"SIGKILL of a working replica, 3 replicas (scale {scale})",
                {
                    "events": published,
                    "projects": len(projects),
                    "faults (kills)": kills,
                    "mismatches": len(wrong),
                    "time to converge (s)": f"{took:.1f}",
                },
            )
            try:
                assert shared == 3, "every first replica was given partitions"
                assert not wrong, "\n".join(wrong[:20])
            finally:
                left = await leave_as_found(
                    topo, api, pub, out, last, projects=projects, timeout=SETTLE_TIMEOUT
                )
            assert not left, "\n".join(left[:20])
    finally:
        for r in replicas:
            if r.proc is not None and r.proc.poll() is None:
                await asyncio.to_thread(r.stop)

"""Replay from offset 0 on the real stack: zero Helm calls on a complete database, and a
rebuild (adopting existing releases, never reinstalling) on an empty one."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
from typing import Any

import asyncpg
import pytest

import events
from events.publish import EventPublisher
from tests.design import DESIGN_ENDPOINT_FIELDS
from tests.e2e.harness import (
    OutputWatcher,
    Topology,
    create_database,
    created,
    deleted,
    new_project,
    of,
    run_cli,
    running,
)

COLUMNS = (
    "project_uuid",
    "status",
    "desired",
    "namespace",
    "release_name",
    *DESIGN_ENDPOINT_FIELDS,
)


async def sessions(url: str) -> dict[str, dict[str, Any]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch("SELECT * FROM sessions ORDER BY project_uuid")
    finally:
        await conn.close()
    return {r["project_uuid"]: dict(r) for r in rows}


def releases(topo: Topology) -> dict[str, tuple[str, str]]:
    out = subprocess.run(
        [str(topo.stack.helm_binary), "list", "-A", "-o", "json"],
        env=topo.stack.subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return {
        r["name"]: (r["revision"], r["status"])
        for r in json.loads(out.stdout)
        if r["name"].startswith("dev-session-")
    }


@pytest.fixture(scope="module")
def applied(topo: Topology, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A log with a live project and a deleted one, fully applied by the service."""
    live, gone = new_project(), new_project()
    log = tmp_path_factory.mktemp("svc") / "service.log"

    async def go() -> None:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            await pub.publish(created(live))
            await pub.publish(created(gone))
            await out.wait_for(lambda s: of(s, gone, events.SessionReady), 180)
            await pub.publish(deleted(gone))
            await out.wait_for(
                lambda s: of(s, live, events.SessionReady) and of(s, gone, events.SessionDeleted),
                180,
            )

    with running(topo, log):
        asyncio.run(go())
    return {"live": live, "gone": gone}


def test_replay_of_applied_log_makes_zero_helm_calls(
    topo: Topology, applied: dict[str, str]
) -> None:
    table = asyncio.run(sessions(topo.database_url))
    cluster = releases(topo)
    topo.helm_log.unlink(missing_ok=True)
    result = run_cli(topo, "replay", "--timeout", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "converged" in result.stdout
    assert topo.helm_calls() == [], "a replay onto a complete database must not call Helm"
    assert asyncio.run(sessions(topo.database_url)) == table
    assert releases(topo) == cluster


def test_replay_into_empty_database_rebuilds_without_reinstall(
    topo: Topology, applied: dict[str, str]
) -> None:
    original = asyncio.run(sessions(topo.database_url))
    cluster = releases(topo)
    empty = asyncio.run(
        create_database(topo.stack.database_url, f"{topo.prefix}_empty".replace("-", "_"))
    )
    topo.helm_log.unlink(missing_ok=True)
    result = run_cli(topo, "replay", "--timeout", "300", DEVSESSIONS_DATABASE_URL=empty)
    assert result.returncode == 0, result.stdout + result.stderr
    mutating = [
        c
        for c in topo.helm_calls()
        if c.split(" ", 1)[0] in ("upgrade", "install", "uninstall", "rollback")
    ]
    assert mutating == [], f"replay reinstalled: {mutating}"
    # Everything was announced before: the rebuilt database publishes nothing again (the
    # same ids would come back with other times), and it read those announcements.
    assert "events published: 0" in result.stdout, result.stdout
    announced = re.search(r"already announced on the output topic: (\d+)", result.stdout)
    assert announced is not None and int(announced.group(1)) >= 2, result.stdout
    rebuilt = asyncio.run(sessions(empty))
    for project in applied.values():
        assert {c: rebuilt[project][c] for c in COLUMNS} == {
            c: original[project][c] for c in COLUMNS
        }
    assert releases(topo) == cluster

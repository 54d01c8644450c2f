"""Expiry on the real stack: a session with a short lifetime, never renewed, is torn down
with ``SessionDeleted`` reason expired and its namespace is gone; replaying the input
topic from the start does not bring it back; a later ``ProjectCreated`` does. The owner
opening a session (the access endpoint) keeps it alive."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import asyncpg
from kubernetes import client

import events
from events.publish import EventPublisher
from tests.e2e.harness import (
    OutputWatcher,
    Topology,
    created,
    deleted,
    namespace_exists,
    new_project,
    of,
    run_cli,
    running,
)

LIFETIME_SECONDS = 20.0
ENV = {
    "DEVSESSIONS_SESSION_LIFETIME_DAYS": repr(LIFETIME_SECONDS / 86_400),
    "DEVSESSIONS_RESYNC_INTERVAL_SECONDS": "1",
}
MUTATING = ("upgrade", "install", "uninstall", "rollback")


async def row(url: str, project: str) -> dict[str, Any]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        found = await conn.fetchrow("SELECT * FROM sessions WHERE project_uuid = $1", project)
    finally:
        await conn.close()
    assert found is not None
    return dict(found)


async def test_unrenewed_session_expires_and_replay_does_not_bring_it_back(
    topo: Topology, core: client.CoreV1Api, tmp_path: Path
) -> None:
    project = new_project()
    bootstrap = topo.stack.kafka_bootstrap_servers
    with running(topo, tmp_path / "service.log", **ENV):
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as pub,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            await pub.publish(created(project))
            await out.wait_for(lambda s: of(s, project, events.SessionReady), 180)
            ready_at = time.monotonic()
            assert namespace_exists(core, project)
            seen = await out.wait_for(lambda s: of(s, project, events.SessionDeleted), 120)
            waited = time.monotonic() - ready_at
    [gone] = of(seen, project, events.SessionDeleted)
    assert isinstance(gone.data, events.SessionDeleted) and gone.data.reason == "expired"
    assert waited > LIFETIME_SECONDS - 5, f"torn down after {waited:.1f}s, before its expiry"
    assert not namespace_exists(core, project)
    expired = await row(topo.database_url, project)
    assert (expired["status"], expired["desired"], expired["end_reason"]) == (
        "deleted",
        "absent",
        "expired",
    )

    # Replay of the whole input topic: the old ProjectCreated is at or before the mark.
    topo.helm_log.unlink(missing_ok=True)
    result = run_cli(topo, "replay", "--timeout", "300", **ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    mutating = [c for c in topo.helm_calls() if c.split(" ", 1)[0] in MUTATING]
    assert mutating == [], f"replay acted on an expired session: {mutating}"
    assert not namespace_exists(core, project)
    after = await row(topo.database_url, project)
    assert (after["status"], after["generation"], after["hw_offset"]) == (
        "deleted",
        expired["generation"],
        expired["hw_offset"],
    )

    # Upstream says the project lives: it is provisioned again, then cleaned up.
    with running(topo, tmp_path / "service-2.log", **ENV):
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as pub,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            # The output topic so far: the first SessionReady and the expired SessionDeleted.
            before = await out.wait_for(lambda s: of(s, project, events.SessionDeleted), 60)
            readies = len(of(before, project, events.SessionReady))
            await pub.publish(created(project))
            await out.wait_for(lambda s: len(of(s, project, events.SessionReady)) > readies, 180)
            assert namespace_exists(core, project)
            deletes = len(of(out.decoded(), project, events.SessionDeleted))
            await pub.publish(deleted(project))
            seen = await out.wait_for(
                lambda s: len(of(s, project, events.SessionDeleted)) > deletes, 120
            )
    assert not namespace_exists(core, project)
    last = of(seen, project, events.SessionDeleted)[-1].data
    assert isinstance(last, events.SessionDeleted) and last.reason == "deleted"


def _open(port: int, project: str, user_id: int) -> int:
    """The owner asks for an access link (what the UI does to open the session)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1/sessions/project/{project}/access",
        data=json.dumps({"user_id": user_id}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


async def test_owner_opening_the_session_keeps_it_alive(
    topo: Topology, core: client.CoreV1Api, tmp_path: Path
) -> None:
    project = new_project()
    keys = tmp_path / "access-keys"
    keys.write_text("k" * 32 + "\n")
    bootstrap = topo.stack.kafka_bootstrap_servers
    env = ENV | {"DEVSESSIONS_ACCESS_KEYS_FILE": str(keys)}
    with running(topo, tmp_path / "service.log", **env) as service:
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as pub,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            await pub.publish(created(project, user_id=123))
            await out.wait_for(lambda s: of(s, project, events.SessionReady), 180)
            first = (await row(topo.database_url, project))["expires_at"]
            opened_until = time.monotonic() + LIFETIME_SECONDS * 1.5
            while time.monotonic() < opened_until:
                assert _open(service.port, project, 123) == 200
                assert _open(service.port, project, 999) == 403
                await out.poll()
                assert not of(out.decoded(), project, events.SessionDeleted), "expired though open"
                await asyncio.sleep(4)
            renewed = await row(topo.database_url, project)
            assert renewed["status"] == "running" and renewed["expires_at"] > first
            assert namespace_exists(core, project)
            # Nobody opens it any more: it lapses.
            seen = await out.wait_for(lambda s: of(s, project, events.SessionDeleted), 120)
    [gone] = of(seen, project, events.SessionDeleted)
    assert isinstance(gone.data, events.SessionDeleted) and gone.data.reason == "expired"
    assert not namespace_exists(core, project)

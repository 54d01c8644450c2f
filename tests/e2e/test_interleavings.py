"""Property on the real stack: random interleavings of creates and deletes for a few
projects, with duplicated records, end in the state of each project's last event; a
replay from offset 0 then changes nothing and calls Helm zero times."""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.publish import EventPublisher
from tests.e2e.harness import ServiceProcess, Topology, created, deleted, new_project, run_cli

step = st.tuples(st.integers(0, 2), st.sampled_from(["create", "delete"]), st.booleans())


@pytest.fixture(scope="module")
def service(topo: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServiceProcess]:
    proc = ServiceProcess(topo, tmp_path_factory.mktemp("svc") / "service.log")
    proc.start()
    yield proc
    proc.stop()


async def _states(url: str, projects: list[str]) -> dict[str, tuple[str, str, int, int]]:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rows = await conn.fetch(
            "SELECT project_uuid, desired, status, generation, observed_generation"
            " FROM sessions WHERE project_uuid = ANY($1::text[])",
            projects,
        )
    finally:
        await conn.close()
    return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}


def _release_exists(topo: Topology, project: str) -> bool:
    out = subprocess.run(
        [str(topo.stack.helm_binary), "list", "-n", project, "-o", "json"],
        env=topo.stack.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return any(r["name"] == f"dev-session-{project}" for r in json.loads(out.stdout))


@settings(
    max_examples=3,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(steps=st.lists(step, min_size=2, max_size=10))
def test_random_interleavings_converge_to_the_last_event(
    topo: Topology, service: ServiceProcess, steps: list[tuple[int, str, bool]]
) -> None:
    projects = [new_project() for _ in range(3)]

    async def publish() -> None:
        async with EventPublisher(
            topo.stack.kafka_bootstrap_servers, topic=topo.input_topic
        ) as pub:
            for index, kind, duplicate in steps:
                p = projects[index]
                env = await pub.publish(created(p) if kind == "create" else deleted(p))
                if duplicate:  # the same event delivered twice
                    await pub.publish(env.data, event_id=env.id)

    asyncio.run(publish())
    last = {projects[i]: kind for i, kind, _ in steps}
    deadline = time.monotonic() + 240
    while True:
        states = asyncio.run(_states(topo.database_url, list(last)))
        done = len(states) == len(last) and all(
            s[1] in ("running", "deleted") and s[3] >= s[2] for s in states.values()
        )
        if done:
            break
        assert time.monotonic() < deadline, f"not converged: {states}\n{service.tail()}"
        time.sleep(0.5)
    for project, kind in last.items():
        desired, status, _, _ = states[project]
        if kind == "create":
            assert (desired, status) == ("present", "running")
            assert _release_exists(topo, project)
        else:
            assert (desired, status) == ("absent", "deleted")
            assert not _release_exists(topo, project)


def test_replay_after_the_interleavings_calls_helm_zero_times(
    topo: Topology, service: ServiceProcess, tmp_path: Path
) -> None:
    topo.helm_log.unlink(missing_ok=True)
    result = run_cli(topo, "replay", "--timeout", "300")
    assert result.returncode == 0, result.stdout + result.stderr
    assert topo.helm_calls() == []

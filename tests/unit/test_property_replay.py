"""Property: any interleaving of creates/deletes, with duplicates and replays, converges
to the state of the last event per project, and replaying an applied log changes nothing."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from consumer.domain.model import Desired, Status
from tests.unit.conftest import World

PROJECTS = [str(uuid.UUID(int=i + 1)) for i in range(3)]
step = st.tuples(
    st.sampled_from(range(len(PROJECTS))), st.sampled_from(["create", "delete"]), st.booleans()
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(step, min_size=1, max_size=25), st.booleans())
def test_interleavings_converge_to_last_event(
    world_factory: Callable[[], World], steps: list[tuple[int, str, bool]], settle_each: bool
) -> None:
    world: World = world_factory()
    asyncio.run(_run(world, steps, settle_each))


async def _run(world: World, steps: list[tuple[int, str, bool]], settle_each: bool) -> None:
    log = []
    for index, kind, duplicate in steps:
        project = PROJECTS[index]
        data = world.created(project) if kind == "create" else world.deleted(project)
        record = world.record(data)
        log.append(record)
        await world.intake.handle(record)
        if duplicate:  # redelivery of the same record
            await world.intake.handle(record)
        if settle_each:
            await world.settle()
    await world.settle()
    last: dict[str, str] = {}
    for index, kind, _ in steps:
        last[PROJECTS[index]] = kind
    for project, kind in last.items():
        session = await world.sessions.get(project)
        assert session is not None
        release = (project, f"dev-session-{project}")
        if kind == "create":
            assert session.desired is Desired.PRESENT and session.status is Status.RUNNING
            assert release in world.helm.releases
        else:
            assert session.desired is Desired.ABSENT and session.status is Status.DELETED
            assert release not in world.helm.releases and project not in world.cluster.namespaces
    calls = len(world.helm.calls)
    snapshot = {p: await world.sessions.get(p) for p in last}
    world.db.inbox.clear()
    for record in log:  # replay from offset 0
        await world.intake.handle(record)
    await world.settle()
    assert len(world.helm.calls) == calls
    assert {p: await world.sessions.get(p) for p in last} == snapshot

"""A provision that creates the namespace skips ``helm status``; one that finds it does not.

Helm keeps a release's records inside its namespace, so a namespace this provision just
made holds no release: asking Helm would cost a whole process to learn "absent". Where
the namespace already exists (a retry, a database wipe, a release left pending by a killed
install), the release is observed first, so adoption and recovery keep working.
"""

from __future__ import annotations

from consumer.domain.model import Status
from tests.unit.conftest import World


def verbs(world: World) -> list[str]:
    return [verb for verb, _ in world.helm.calls]


async def test_a_fresh_namespace_goes_straight_to_install(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert verbs(world) == ["upgrade"]


async def test_an_existing_namespace_is_observed_and_its_release_adopted(
    world: World, project: str
) -> None:
    created = world.record(world.created(project))
    await world.intake.handle(created)
    await world.settle()
    world.db.clear()  # a database wipe: the namespace and the release stay
    world.helm.calls.clear()
    await world.intake.handle(created)
    await world.settle()
    assert verbs(world)[0] == "status", "an existing namespace must be observed first"
    assert "upgrade" not in verbs(world), "the release is adopted, not installed again"


async def test_a_release_left_pending_in_an_existing_namespace_is_recovered(
    world: World, project: str
) -> None:
    created = world.record(world.created(project))
    await world.intake.handle(created)
    await world.settle()
    release = f"dev-session-{project}"
    world.helm.releases[(project, release)].status = "pending-install"  # a killed install
    world.db.clear()
    world.helm.calls.clear()
    await world.intake.handle(created)
    await world.settle()
    assert verbs(world)[0] == "status"
    assert "rollback" in verbs(world) or "uninstall" in verbs(world), verbs(world)
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING

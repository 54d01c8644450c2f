"""Teardown checks that the namespace is ours before its first destructive call."""

from __future__ import annotations

from consumer.domain import naming
from consumer.domain.model import Status
from tests.unit.conftest import World


async def test_foreign_namespace_is_neither_uninstalled_nor_deleted(
    world: World, project: str
) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    release = (project, f"dev-session-{project}")
    # Someone replaced the namespace with one of their own under the same name.
    world.cluster.namespaces[project] = {"team": "someone-else"}
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    assert [c for c in world.helm.calls if c[0] == "uninstall"] == []
    assert release in world.helm.releases and project in world.cluster.namespaces
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.FAILED
    assert session.last_error is not None and "not ours" in session.last_error


async def test_namespace_of_another_project_is_not_ours(world: World, project: str) -> None:
    other = naming.namespace_labels("00000000-0000-0000-0000-000000000000")
    assert not naming.owns(other, project)
    assert naming.owns(naming.namespace_labels(project), project)

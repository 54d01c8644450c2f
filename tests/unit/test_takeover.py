"""Crash recovery in seconds: a worker holds its project's lock while it works; when the
worker dies the lock is free at once, and another replica takes the project over without
waiting for the lease to run out. A live worker's project is never taken."""

from __future__ import annotations

import asyncio

from consumer.domain import naming
from consumer.domain.model import Status
from tests.fakes import FakeDatabase
from tests.unit.conftest import World, make_world


async def _interrupted_provision(project: str) -> tuple[World, World, asyncio.Task[object]]:
    """Replica A starts provisioning and blocks in the readiness wait; B shares the DB."""
    a = make_world()
    b = make_world(db=a.db, owner="b")
    stuck = asyncio.Event()

    async def hang(namespace: str, release: str) -> None:
        stuck.set()
        await asyncio.Event().wait()

    a.cluster.during_wait = hang
    await a.intake.handle(a.record(a.created(project)))
    task = asyncio.create_task(a.reconciler.reconcile(project))
    await asyncio.wait_for(stuck.wait(), 2)
    return a, b, task


async def test_a_live_workers_project_is_neither_due_nor_taken(project: str) -> None:
    _a, b, task = await _interrupted_provision(project)
    async with b.uow() as uow:
        assert project not in await uow.schedule.due(b.clock.now())
    assert await b.reconciler.reconcile(project) is None
    assert [c for c in b.helm.calls if c[0] == "upgrade"] == []
    task.cancel()


async def test_a_dead_workers_project_is_taken_over_before_its_lease_expires(
    project: str,
) -> None:
    a, b, task = await _interrupted_provision(project)
    # Replica A dies: its task stops and its database connections (its lock) are gone.
    task.cancel()
    a.db.locks.kill(naming.project_lock(project))
    row = a.db.rows[project]
    assert row.lease_owner == "test" + naming.LOCK_HOLDER
    assert row.lease_expires_at is not None and row.lease_expires_at > a.clock.now()
    async with b.uow() as uow:
        assert project in await uow.schedule.due(b.clock.now()), "free at once"
    session = await b.reconciler.reconcile(project)
    assert session is not None and session.status is Status.RUNNING
    assert a.db.rows[project].lease_owner is None


async def test_a_lease_of_an_owner_without_the_lock_waits_for_expiry(project: str) -> None:
    # An owner that does not hold project locks (an older version) keeps its lease
    # until it runs out: the lock says nothing about it.
    db = FakeDatabase(make_world().clock)
    world = make_world(db=db)
    await world.intake.handle(world.record(world.created(project)))
    async with db() as uow:
        assert await uow.leases.claim(project, "old-replica", 60) is not None
        await uow.commit()
    assert await world.reconciler.reconcile(project) is None

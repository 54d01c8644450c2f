"""The final outcome of a reconcile and the release of its lease are one transaction.

Were they two, a crash between them would leave a converged row with a lease still held
(drift repair and the resync then wait for it to run out, or, before expired leases
counted as free everywhere, skipped the row for good).
"""

from __future__ import annotations

import contextlib

from consumer.domain.errors import TransientError
from consumer.domain.model import Status
from tests.fakes import FakeClock, FakeDatabase, FakeUnitOfWork
from tests.unit.conftest import World, make_world


def _committed_with(world: World, project: str, status: Status) -> list[FakeUnitOfWork]:
    return [
        u
        for u in world.db.units
        if u.committed
        and project in u.staged_rows
        and u.staged_rows[project].state.status is status
    ]


async def test_running_outcome_gives_the_lease_back_in_its_own_transaction(
    world: World, project: str
) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    [unit] = _committed_with(world, project, Status.RUNNING)
    assert unit.staged_rows[project].lease_owner is None
    assert unit.staged_outbox, "the SessionReady is in the same transaction"


async def test_failed_attempt_waiting_for_backoff_gives_the_lease_back_with_it(
    world: World, project: str
) -> None:
    world.helm.fail_next.append(TransientError("helm upgrade --install", "boom"))
    await world.intake.handle(world.record(world.created(project)))
    await world.reconciler.reconcile(project)
    waiting = [
        u
        for u in _committed_with(world, project, Status.PENDING)
        if u.staged_rows[project].state.attempts == 1
    ]
    assert waiting and all(u.staged_rows[project].lease_owner is None for u in waiting)


async def test_crash_after_the_outcome_leaves_no_lease(project: str) -> None:
    class DiesAfterRunning(FakeDatabase):
        """The process dies right after the transaction that records "running"."""

        def apply(self, unit: FakeUnitOfWork) -> None:
            super().apply(unit)
            row = unit.staged_rows.get(project)
            if row is not None and row.state.status is Status.RUNNING:
                self.down = RuntimeError("process killed")

    world = make_world(db=DiesAfterRunning(FakeClock()))
    await world.intake.handle(world.record(world.created(project)))
    with contextlib.suppress(RuntimeError):
        await world.reconciler.reconcile(project)
    row = world.db.rows[project]
    assert row.state.status is Status.RUNNING and row.lease_owner is None

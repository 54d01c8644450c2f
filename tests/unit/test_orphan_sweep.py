"""The orphan sweep over the real intake and reconciler, on in-memory fakes.

Namespaces are made "by hand" in the fake cluster (with a release in them), beside
sessions the service made itself from events, and the sweep must remove exactly the
provable orphans, through teardown's ownership check, under the project's lock.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

from prometheus_client import REGISTRY

from consumer import bootstrap
from consumer.domain import naming
from consumer.domain.errors import TransientError
from consumer.domain.orphans import Limits, Reason, Verdict
from consumer.service.orphans import SWEEP_LOCK, OrphanSweep, Outcome
from consumer.service.scheduler import Resync
from consumer.settings import Settings
from tests.fakes import FakeHeld, FakeLocks, FakeLogProgress, _Release
from tests.unit.conftest import SETTINGS, World

LOOSE = Limits(max_removals=10, max_share=1.0)


def sweep_of(
    world: World, progress: FakeLogProgress | None = None, locks: Any = None
) -> OrphanSweep:
    return bootstrap.orphan_sweep(
        SETTINGS,
        uow=world.db,
        locks=locks or world.db.locks,
        helm=world.helm,
        cluster=world.cluster,
        progress=progress or FakeLogProgress(),
    )


def resync_of(world: World, settings: Settings, progress: FakeLogProgress, **wire: Any) -> Resync:
    """The resync of the production wiring over ``world``'s fakes (intake's work not run)."""
    return bootstrap.wire(
        settings,
        uow=world.db,
        locks=world.db.locks,
        publisher=world.publisher,
        helm=world.helm,
        cluster=world.cluster,
        clock=world.clock,
        on_work=lambda _: None,
        progress=progress,
        **wire,
    ).resync


def by_hand(world: World, project: str) -> None:
    """A namespace with our labels and a release in it, made outside the service."""
    world.cluster.namespaces[project] = naming.namespace_labels(project)
    world.helm.releases[(project, naming.release_for(project))] = _Release({"by": "hand"})


def counted(outcome: str) -> float:
    return REGISTRY.get_sample_value("devsessions_orphans_total", {"outcome": outcome}) or 0.0


def stopped_sweeps() -> float:
    return REGISTRY.get_sample_value("devsessions_orphan_sweeps_stopped_total") or 0.0


async def fleet(world: World) -> tuple[str, str, str]:
    """A live session, a deleted project whose namespace came back by hand, and a
    namespace of a project the log never mentioned."""
    live, dead, never = (str(uuid.uuid4()) for _ in range(3))
    await world.intake.handle(world.record(world.created(live)))
    await world.intake.handle(world.record(world.created(dead)))
    await world.settle()
    await world.intake.handle(world.record(world.deleted(dead)))
    await world.settle()
    assert dead not in world.cluster.namespaces
    by_hand(world, dead)
    by_hand(world, never)
    return live, dead, never


async def test_sweep_removes_the_two_orphans_and_keeps_the_live_session(world: World) -> None:
    live, dead, never = await fleet(world)
    before = {k: counted(k) for k in ("found", "removed", "held")}
    report = await sweep_of(world).sweep(limits=LOOSE)
    assert {e.namespace: e.reason for e in report.plan.entries} == {
        live: Reason.LIVE,
        dead: Reason.DELETED_IN_LOG,
        never: Reason.NEVER_SEEN,
    }
    assert {r.entry.namespace: r.outcome for r in report.removals} == {
        dead: Outcome.REMOVED,
        never: Outcome.REMOVED,
    }
    assert set(world.cluster.namespaces) == {live}
    assert list(world.helm.releases) == [(live, naming.release_for(live))]
    uninstalled = {r for verb, r in world.helm.calls if verb == "uninstall"}
    assert uninstalled >= {naming.release_for(dead), naming.release_for(never)}
    assert counted("found") - before["found"] == 2
    assert counted("removed") - before["removed"] == 2
    assert counted("held") == before["held"]
    # Nothing was written: no session row for the never-seen project, no new events.
    assert await world.sessions.get(never) is None
    assert len(world.db.outbox) == len(world.published())


async def test_not_caught_up_keeps_the_never_seen_one(world: World) -> None:
    live, dead, never = await fleet(world)
    report = await sweep_of(world, FakeLogProgress(caught_up=False)).sweep(limits=LOOSE)
    assert {r.entry.namespace for r in report.removals} == {dead}
    assert set(world.cluster.namespaces) == {live, never}
    assert {e.namespace: e.verdict for e in report.plan.entries}[never] is Verdict.KEEP


async def test_empty_database_and_caught_up_stops_the_sweep(world: World) -> None:
    live, dead, never = await fleet(world)
    world.db.clear()  # the database lost everything; the cluster did not
    before = stopped_sweeps()
    report = await sweep_of(world).sweep(limits=Limits(max_removals=5, max_share=0.5))
    assert report.plan.stopped is not None and report.removals == ()
    assert set(world.cluster.namespaces) == {live, dead, never}
    assert stopped_sweeps() - before == 1


async def test_removals_are_capped_per_sweep(world: World) -> None:
    orphans = [str(uuid.uuid4()) for _ in range(3)]
    for p in orphans:
        by_hand(world, p)
    sweep = sweep_of(world)
    first = await sweep.sweep(limits=Limits(max_removals=2, max_share=1.0))
    assert first.removed == 2 and len(world.cluster.namespaces) == 1
    deferred = [e for e in first.plan.entries if e.verdict is Verdict.DEFER]
    assert [e.namespace for e in deferred] == list(world.cluster.namespaces)
    second = await sweep.sweep(limits=Limits(max_removals=2, max_share=1.0))
    assert second.removed == 1 and world.cluster.namespaces == {}


class HookedLocks:
    """The fake's locks, running ``before`` when a project's lock is asked for (between the
    plan and the removal's fresh look)."""

    def __init__(self, locks: FakeLocks, before: Callable[[str], Any]) -> None:
        self._locks, self._before = locks, before

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[FakeHeld]:
        if name.startswith(naming.project_lock("")):
            await self._before(name)
        async with self._locks.hold(name) as held:
            yield held


async def test_an_event_consumed_after_the_plan_wins(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)

    async def created_meanwhile(name: str) -> None:
        await world.intake.handle(world.record(world.created(never)))

    sweep = sweep_of(world, locks=HookedLocks(world.db.locks, created_meanwhile))
    report = await sweep.sweep(limits=LOOSE)
    assert [r.outcome for r in report.removals] == [Outcome.NOT_ORPHAN]
    assert never in world.cluster.namespaces
    assert not [c for c in world.helm.calls if c[0] == "uninstall"]


async def test_ownership_is_checked_again_before_anything_is_removed(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)

    async def relabelled(name: str) -> None:  # someone took the namespace over meanwhile
        world.cluster.namespaces[never] = {"team": "someone-else"}

    report = await sweep_of(world, locks=HookedLocks(world.db.locks, relabelled)).sweep(
        limits=LOOSE
    )
    assert [r.outcome for r in report.removals] == [Outcome.NOT_OURS]
    assert never in world.cluster.namespaces and world.helm.calls == []


async def test_a_project_whose_lock_is_held_is_left_for_a_later_sweep(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)
    async with world.db.locks.hold(naming.project_lock(never)):
        report = await sweep_of(world).sweep(limits=LOOSE)
    assert [r.outcome for r in report.removals] == [Outcome.BUSY]
    assert never in world.cluster.namespaces


async def test_dry_run_plan_changes_nothing(world: World) -> None:
    live, dead, never = await fleet(world)
    calls = list(world.helm.calls)
    plan = await sweep_of(world).plan(limits=LOOSE)
    assert {e.namespace for e in plan.removals} == {dead, never}
    assert set(world.cluster.namespaces) == {live, dead, never} and world.helm.calls == calls


async def test_resync_sweeps_at_its_own_interval_first_after_one(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)
    settings = SETTINGS.model_copy(
        update={"orphan_sweep_interval_seconds": 60, "orphan_max_share": 1.0}
    )
    progress = FakeLogProgress()
    resync = resync_of(world, settings, progress, owner="resync")
    await resync.once()  # the first resync after a start never sweeps
    assert progress.asked == [] and never in world.cluster.namespaces
    world.clock.advance(30)
    await resync.once()
    assert progress.asked == []
    world.clock.advance(31)
    await resync.once()
    assert progress.asked == [("group", settings.input_topic)]
    assert never not in world.cluster.namespaces


async def test_a_failing_sweep_does_not_fail_the_resync(world: World) -> None:
    settings = SETTINGS.model_copy(update={"orphan_sweep_interval_seconds": 1})

    class Broken(FakeLogProgress):
        async def caught_up(self, group: str, topic: str) -> bool:
            raise ConnectionError("kafka away")

    resync = resync_of(world, settings, Broken())
    await resync.once()
    world.clock.advance(timedelta(seconds=2).total_seconds())
    assert await resync.once() == 0


async def test_sweep_is_off_with_a_zero_interval(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)
    settings = SETTINGS.model_copy(update={"orphan_sweep_interval_seconds": 0})
    progress = FakeLogProgress()
    resync = resync_of(world, settings, progress)
    for _ in range(3):
        await resync.once()
        world.clock.advance(3600)
    assert progress.asked == [] and never in world.cluster.namespaces


async def test_one_sweep_at_a_time_across_replicas(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)
    async with world.db.locks.hold(SWEEP_LOCK):  # another replica is sweeping
        assert await sweep_of(world).sweep(limits=LOOSE) is None
    assert never in world.cluster.namespaces and world.helm.calls == []


async def test_a_failed_removal_is_reported_and_left_for_the_next_sweep(world: World) -> None:
    never = str(uuid.uuid4())
    by_hand(world, never)
    world.helm.refuse["uninstall"] = TransientError("helm uninstall", "API server away")
    before = counted("failed")
    report = await sweep_of(world).sweep(limits=LOOSE)
    assert [r.outcome for r in report.removals] == [Outcome.FAILED]
    assert "API server away" in report.removals[0].detail
    assert never in world.cluster.namespaces and counted("failed") - before == 1
    del world.helm.refuse["uninstall"]
    assert (await sweep_of(world).sweep(limits=LOOSE)).removed == 1

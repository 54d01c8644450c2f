"""Retention of ended sessions: rows go only past the retention and only once the input
log can no longer deliver an event at or before their high-water mark."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from consumer.domain import retention
from consumer.domain.model import Desired, LogPosition, Status
from consumer.domain.retention import LogStart
from consumer.observability import metrics
from consumer.service.retention import Retention
from tests.fakes import FakeLogStarts
from tests.unit.api_fakes import NOW
from tests.unit.api_fakes import session as api_session
from tests.unit.conftest import INPUT, World, make_world

KEEP = timedelta(days=30)
TOPIC = "11111111-1111-1111-1111-111111111111"
NEW_TOPIC = "22222222-2222-2222-2222-222222222222"


@pytest.mark.parametrize(
    ("mark", "log", "released"),
    [
        (None, LogStart(TOPIC, {0: 0}), True),
        (LogPosition(0, 5, TOPIC), LogStart(TOPIC, {0: 0}), False),
        (LogPosition(0, 5, TOPIC), LogStart(TOPIC, {0: 5}), False),  # 5 still deliverable
        (LogPosition(0, 5, TOPIC), LogStart(TOPIC, {0: 6}), True),
        (LogPosition(1, 5, TOPIC), LogStart(TOPIC, {0: 100}), False),  # partition unknown
        (LogPosition(0, 5, TOPIC), LogStart(NEW_TOPIC, {0: 0}), True),  # topic re-created
        (LogPosition(0, 5, None), LogStart(TOPIC, {0: 0}), False),  # unknown epoch: offsets
        (LogPosition(0, 5, None), LogStart(TOPIC, {0: 9}), True),
        (LogPosition(0, 5, TOPIC), LogStart(None, {0: 0}), False),
    ],
)
def test_mark_released_rule(mark: LogPosition | None, log: LogStart, released: bool) -> None:
    assert retention.mark_released(mark, log) is released


def test_only_converged_ended_sessions_past_retention_are_prunable() -> None:
    gone = LogStart(TOPIC, {0: 100})
    before = NOW + timedelta(days=1)
    deleted = dataclasses.replace(
        api_session("p", Status.DELETED, observed_generation=1),
        high_water=LogPosition(0, 5, TOPIC),
    )
    assert retention.prunable(deleted, before=before, log=gone)
    assert not retention.prunable(deleted, before=NOW, log=gone), "within retention"
    assert not retention.prunable(deleted, before=before, log=LogStart(TOPIC, {0: 0}))
    provision_failed = dataclasses.replace(deleted, status=Status.FAILED, desired=Desired.PRESENT)
    assert retention.prunable(provision_failed, before=before, log=gone)
    teardown_failed = dataclasses.replace(provision_failed, desired=Desired.ABSENT)
    assert not retention.prunable(teardown_failed, before=before, log=gone), "may hold a namespace"
    running = dataclasses.replace(deleted, status=Status.RUNNING, desired=Desired.PRESENT)
    assert not retention.prunable(running, before=before, log=gone)
    unconverged = dataclasses.replace(deleted, generation=2)
    assert not retention.prunable(unconverged, before=before, log=gone)


async def _tombstone(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()


def _mark_offset(world: World, project: str) -> int:
    high = world.db.rows[project].state.high_water
    assert high is not None
    return high.offset


async def test_tombstone_is_kept_while_the_log_still_holds_its_mark(
    world: World, project: str
) -> None:
    await _tombstone(world, project)
    starts = FakeLogStarts(LogStart(None, {0: 0}))
    keeper = Retention(uow=world.uow, log_starts=starts, topic=INPUT, keep=KEEP)
    kept_before = metrics.PRUNE_KEPT._value.get()
    assert await keeper.prune(world.clock.now() + KEEP / 2) == 0, "within retention"
    assert starts.lookups == 0, "nothing past retention: Kafka is not asked"
    assert await keeper.prune(world.clock.now() + KEEP * 2) == 0
    assert project in world.db.rows
    assert metrics.PRUNE_KEPT._value.get() == kept_before + 1


async def test_tombstone_is_pruned_once_the_log_start_moved_past_its_mark(
    world: World, project: str
) -> None:
    await _tombstone(world, project)
    mark = _mark_offset(world, project)
    starts = FakeLogStarts(LogStart(None, {0: mark}))
    keeper = Retention(uow=world.uow, log_starts=starts, topic=INPUT, keep=KEEP)
    assert await keeper.prune(world.clock.now() + KEEP * 2) == 0, "the mark itself is still there"
    starts.start = LogStart(None, {0: mark + 1})
    pruned_before = metrics.PRUNED_SESSIONS.labels(status="deleted")._value.get()
    assert await keeper.prune(world.clock.now() + KEEP * 2) == 1
    assert project not in world.db.rows
    assert metrics.PRUNED_SESSIONS.labels(status="deleted")._value.get() == pruned_before + 1
    # What the log can still deliver is newer than the forgotten mark: a new project.
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    assert world.db.rows[project].state.status is Status.RUNNING


async def test_tombstone_is_pruned_when_the_topic_was_recreated(project: str) -> None:
    world = make_world()
    await _tombstone(world, project)
    row = world.db.rows[project]
    high = row.state.high_water
    assert high is not None
    row.state = dataclasses.replace(row.state, high_water=dataclasses.replace(high, topic_id=TOPIC))
    starts = FakeLogStarts(LogStart(NEW_TOPIC, {0: 0}))
    keeper = Retention(uow=world.uow, log_starts=starts, topic=INPUT, keep=KEEP)
    assert await keeper.prune(world.clock.now() + KEEP * 2) == 1
    assert project not in world.db.rows


async def test_retention_keeps_everything_when_kafka_does_not_answer(
    world: World, project: str
) -> None:
    await _tombstone(world, project)
    starts = FakeLogStarts(LogStart(None, {0: 10**9}))
    starts.fail = ConnectionError("kafka down")
    keeper = Retention(uow=world.uow, log_starts=starts, topic=INPUT, keep=KEEP)
    assert await keeper.prune(world.clock.now() + KEEP * 2) == 0
    assert project in world.db.rows


async def test_live_and_changed_rows_are_not_forgotten(world: World, project: str) -> None:
    """A row changed after it was read (a newer event revived it) stays."""
    await _tombstone(world, project)
    async with world.uow() as uow:
        [seen] = await uow.schedule.ended(world.clock.now() + KEEP)
    world.clock.advance(1)
    await world.intake.handle(world.record(world.created(project)))
    async with world.uow() as uow:
        assert await uow.schedule.forget([seen]) == []
        await uow.commit()
    assert project in world.db.rows


async def test_resync_prunes_through_the_wired_log_starts(project: str) -> None:
    starts = FakeLogStarts(LogStart(None, {0: 10**9}))
    world = make_world(log_starts=starts)
    await _tombstone(world, project)
    world.clock.advance((KEEP * 2).total_seconds())
    await world.resync.once()
    assert project not in world.db.rows and starts.lookups == 1

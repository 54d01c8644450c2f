"""Batch intake over the fake unit of work: one transaction per batch, the same result as
one record at a time (order per project, inbox, high-water marks), and a poison record
that neither blocks nor dead-letters its neighbours."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence

import events
from consumer.domain.model import Desired, Status
from consumer.ports import DatabaseUnavailable
from consumer.service.guard import DeliveryGuard, Verdict
from consumer.service.intake import Outcome, RawRecord
from tests.fakes import Sent
from tests.unit.conftest import DLQ, World, make_world


def _log(world: World, a: str, b: str) -> list[RawRecord]:
    """Two projects interleaved on two partitions, with a stale older create of ``a``."""
    return [
        world.record(world.created(a), offset=10, partition=0),
        world.record(world.created(b), offset=20, partition=1),
        world.record(world.deleted(a), offset=11, partition=0),
        world.record(world.created(a, project_id=7), offset=12, partition=0),
        world.record(world.deleted(b), offset=21, partition=1),
        world.record(world.created(a, project_id=8), offset=9, partition=0),  # stale: before 12
    ]


def _rows(world: World) -> dict[str, tuple[object, ...]]:
    return {
        p: (
            s.state.desired,
            s.state.status,
            s.state.generation,
            s.state.project_id,
            s.state.high_water,
        )
        for p, s in world.db.rows.items()
    }


async def test_a_batch_is_one_transaction_with_the_result_of_one_record_at_a_time() -> None:
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    batched, single = make_world(), make_world()
    records = _log(batched, a, b)
    outcomes = await batched.intake.handle_batch(records)
    one_by_one = [await single.intake.handle(r) for r in records]
    assert outcomes == one_by_one == [Outcome.APPLIED] * 5 + [Outcome.UNCHANGED]
    assert _rows(batched) == _rows(single)
    assert _rows(batched)[a][:4] == (Desired.PRESENT, Status.PENDING, 3, 7), "later event won"
    assert _rows(batched)[b][:2] == (Desired.ABSENT, Status.DELETING)
    assert batched.db.outbox_types() == single.db.outbox_types()
    [unit] = [u for u in batched.db.units if u.committed]
    assert unit.locked == [sorted([a, b])], "the batch's projects, locked once, in order"
    assert batched.woken == [a, b], "each project woken once, after the commit"


async def test_a_batch_applied_again_changes_nothing(world: World, project: str) -> None:
    other = str(uuid.uuid4())
    records = _log(world, project, other)
    await world.intake.handle_batch(records)
    before, outbox = _rows(world), world.db.outbox_types()
    moved = [dataclasses.replace(r, offset=r.offset + 100) for r in records]  # redelivered
    assert await world.intake.handle_batch(moved) == [Outcome.DUPLICATE] * len(records)
    assert (_rows(world), world.db.outbox_types()) == (before, outbox)


async def test_the_same_event_twice_in_one_batch_is_applied_once(
    world: World, project: str
) -> None:
    record = world.record(world.deleted(project), event_id="twice")
    again = dataclasses.replace(record, offset=record.offset + 1)
    assert await world.intake.handle_batch([record, again]) == [
        Outcome.APPLIED,
        Outcome.DUPLICATE,
    ]
    assert world.db.outbox_types(project) == ["io.devsessions.session.deleted.v1"]


async def test_undecodable_record_in_a_batch_is_dead_lettered_after_the_others_commit(
    world: World, project: str
) -> None:
    good = world.record(world.created(project))
    bad = RawRecord("in", 0, 99, b"k", b"{not json", (("ce_specversion", b"1.0"),))
    assert await world.intake.handle_batch([bad, good]) == [Outcome.DEAD_LETTERED, Outcome.APPLIED]
    [(topic, key, value, headers)] = world.publisher.sent
    assert (topic, key, value) == (DLQ, b"k", b"{not json")
    assert dict(headers)[events.DLQ_CODE_HEADER] == b"missing-header"
    assert await world.sessions.get(project) is not None


async def test_bad_records_of_a_batch_are_dead_lettered_together_in_log_order() -> None:
    """One acknowledged send for all of a batch's bad records (a storm of them is
    dead-lettered at batch speed), each copy in the order the log had them."""
    calls: list[int] = []
    world = make_world()
    send_each = world.publisher.send_each

    async def counted(records: Sequence[Sent]) -> None:
        calls.append(len(records))
        await send_each(records)

    world.publisher.send_each = counted
    bad = [RawRecord("in", 0, offset, b"k", b"{not json", ()) for offset in range(5)]
    good = world.record(world.created(str(uuid.uuid4())), offset=5)
    outcomes = await world.intake.handle_batch([*bad[:2], good, *bad[2:]])
    assert outcomes.count(Outcome.DEAD_LETTERED) == 5 and Outcome.APPLIED in outcomes
    assert calls == [5]
    sources = [dict(h)[events.DLQ_SOURCE_OFFSET_HEADER] for _, _, _, h in world.publisher.sent]
    assert sources == [str(o).encode() for o in range(5)]


async def test_poison_record_amid_good_ones_is_dead_lettered_alone(world: World) -> None:
    first, poison, last = (str(uuid.uuid4()) for _ in range(3))
    world.db.poison[poison] = ValueError("value the database refuses")
    records = [world.record(world.created(p)) for p in (first, poison, last)]
    guard = DeliveryGuard(world.intake, max_attempts=3, budget_seconds=5, base_delay=0.001)
    assert await guard.process_batch(records) is Verdict.ACK
    assert await world.sessions.get(first) is not None and await world.sessions.get(last)
    assert await world.sessions.get(poison) is None
    [(topic, _, _, headers)] = world.publisher.sent
    assert topic == DLQ and dict(headers)[events.DLQ_CODE_HEADER] == b"processing-failed"
    assert dict(headers)[events.DLQ_SOURCE_OFFSET_HEADER] == str(records[1].offset).encode()
    assert b"value the database refuses" in dict(headers)[events.DLQ_REASON_HEADER]
    assert world.woken == [first, last]


async def test_an_outage_hands_the_whole_batch_back(world: World, project: str) -> None:
    world.db.down = DatabaseUnavailable("database down")
    records = [world.record(world.created(project)), world.record(world.deleted(project))]
    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=0.05, base_delay=0.02)
    assert await guard.process_batch(records) is Verdict.RETRY_LATER
    assert world.publisher.sent == [], "an outage is nobody's fault: no dead letter"
    world.db.down = None
    assert await guard.process_batch(records) is Verdict.ACK
    session = await world.sessions.get(project)
    assert session is not None and session.desired is Desired.ABSENT


def test_identity_is_read_from_headers_in_any_order() -> None:
    from consumer.service.records import identity

    def record(*headers: tuple[str, bytes | None]) -> RawRecord:
        return RawRecord("in", 0, 0, None, None, tuple((k, v or b"") for k, v in headers))

    ours = record(("ce_specversion", b"1.0"), ("ce_id", b"e1"), ("ce_source", b"urn:s"))
    other = record(("ce_source", b"urn:s"), ("x", b"y"), ("ce_id", b"e1"))
    assert identity(ours) == identity(other) == ("urn:s", "e1")
    assert identity(record(("ce_id", b"e1"))) is None
    assert identity(record(("ce_source", b"urn:s"), ("ce_id", b"\xff"))) is None


async def test_replay_skips_a_poison_record_and_applies_the_rest(world: World) -> None:
    from collections.abc import AsyncIterator

    from consumer.service import replay
    from consumer.service.records import Consumed

    good, poison = [str(uuid.uuid4()) for _ in range(3)], str(uuid.uuid4())
    world.db.poison[poison] = ValueError("value the database refuses")
    records = [world.record(world.deleted(p)) for p in (good[0], poison, *good[1:])]

    async def log() -> AsyncIterator[Sequence[Consumed]]:
        yield records[:2]
        yield records[2:]

    outcomes = await replay.apply_log(log(), world.intake)
    assert outcomes == {"applied": 3, "failed": 1}
    assert world.publisher.sent == [], "replay dead-letters nothing"
    assert all([await world.sessions.get(p) for p in good])

    async def again() -> AsyncIterator[Sequence[Consumed]]:
        yield records

    world.db.poison.clear()
    assert await replay.apply_log(again(), world.intake) == {"duplicate": 3, "applied": 1}

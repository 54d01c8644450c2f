"""The outbox relay waits for Kafka's acknowledgements without an open transaction, and
its sends and shutdown flush are bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from consumer.ports import OutboxMessage
from consumer.service.relay import LEADER_LOCK, OutboxRelay
from tests.fakes import FakeClock, FakeDatabase, FakePublisher
from tests.unit.conftest import World


class SlowAcks(FakePublisher):
    """Acknowledges only when ``ack`` is set; records what the database looked like."""

    def __init__(self, db: FakeDatabase) -> None:
        super().__init__()
        self.db = db
        self.ack = asyncio.Event()
        self.waiting = asyncio.Event()
        self.open_while_waiting: int | None = None
        self.leader_while_waiting = False

    async def send_many(self, messages: Sequence[OutboxMessage]) -> None:
        self.open_while_waiting = self.db.open_units
        self.leader_while_waiting = LEADER_LOCK in self.db.locks.held
        self.waiting.set()
        await self.ack.wait()
        await super().send_many(messages)


def relay(db: FakeDatabase, publisher: FakePublisher, send_timeout: float = 5) -> OutboxRelay:
    return OutboxRelay(
        uow=db,
        locks=db.locks,
        publisher=publisher,
        clock=db.clock,
        batch_size=100,
        poll_seconds=1,
        send_timeout=send_timeout,
    )


async def _with_pending(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    assert any(r.sent_at is None for r in world.db.outbox)


async def test_no_transaction_is_open_while_waiting_for_acks(world: World, project: str) -> None:
    await _with_pending(world, project)
    slow = SlowAcks(world.db)
    flushing = asyncio.create_task(relay(world.db, slow).flush())
    await asyncio.wait_for(slow.waiting.wait(), 2)
    assert slow.open_while_waiting == 0, "a transaction stayed open across the send"
    assert slow.leader_while_waiting, "order rests on one leader at a time"
    # Another replica's relay neither publishes nor blocks meanwhile.
    other = FakePublisher()
    assert await asyncio.wait_for(relay(world.db, other).flush(), 1) == 0
    assert other.sent == []
    slow.ack.set()
    assert await flushing == 1
    assert all(r.sent_at is not None for r in world.db.outbox)
    assert LEADER_LOCK not in world.db.locks.held


async def test_a_send_without_acks_times_out_and_marks_nothing(world: World, project: str) -> None:
    await _with_pending(world, project)
    try:
        await asyncio.wait_for(relay(world.db, SlowAcks(world.db), send_timeout=0.1).flush(), 2)
    except TimeoutError:
        pass
    else:
        raise AssertionError("the send should have timed out")
    assert all(r.sent_at is None for r in world.db.outbox)
    assert LEADER_LOCK not in world.db.locks.held, "leadership given up with the batch"


async def test_shutdown_flush_is_bounded(world: World, project: str) -> None:
    await _with_pending(world, project)
    started = time.monotonic()
    assert await relay(world.db, SlowAcks(world.db), send_timeout=60).drain(0.2) == 0
    assert time.monotonic() - started < 1.5


async def test_a_dead_leader_frees_the_relay_at_once() -> None:
    db = FakeDatabase(FakeClock())
    async with db.locks.hold(LEADER_LOCK) as held:
        assert held
        db.locks.kill(LEADER_LOCK)  # its connection broke
        async with db.locks.hold(LEADER_LOCK) as again:
            assert again

"""Dead letters: listed with their reasons, and sent back as they first arrived."""

from __future__ import annotations

from collections.abc import AsyncIterator

from consumer.service import dead_letters
from consumer.service.intake import Outcome, RawRecord
from events.topics import DLQ_HEADERS
from tests.fakes import FakePublisher
from tests.unit.conftest import DLQ, INPUT, World


async def _dlq(world: World) -> AsyncIterator[list[RawRecord]]:
    """The fake dead-letter topic, a poll at a time (one record a poll)."""
    offset = 0
    for topic, key, value, headers in world.publisher.sent:
        if topic == DLQ:
            yield [RawRecord(DLQ, 0, offset, key, value, tuple(headers))]
            offset += 1


async def test_list_shows_reasons_and_requeue_sends_the_original_back(
    world: World, project: str
) -> None:
    good = world.record(world.created(project))
    await world.intake.dead_letter(good, "processing-failed", "database was read-only")
    bad = RawRecord(INPUT, 0, 99, b"k", b"{not json", ())
    assert await world.intake.handle(bad) is Outcome.DEAD_LETTERED
    letters = await dead_letters.read(_dlq(world))
    assert [(d.position, d.code) for d in letters] == [
        ("0:0", "processing-failed"),
        ("0:1", letters[1].code),
    ]
    assert letters[0].reason == "database was read-only"
    assert letters[0].source == f"{INPUT}:0:{good.offset}"
    chosen = dead_letters.choose(letters, positions={"0:0"}, code=None)
    back = FakePublisher()
    assert await dead_letters.requeue(chosen, back, INPUT) == 1
    [(topic, key, value, headers)] = back.sent
    assert (topic, key, value) == (INPUT, good.key, good.value)
    assert not [h for h, _ in headers if h in DLQ_HEADERS]
    assert sorted(headers) == sorted(good.headers)
    requeued = RawRecord(INPUT, 0, 500, key, value, tuple(headers))
    assert await world.intake.handle(requeued) is Outcome.APPLIED


async def test_choose_by_code(world: World) -> None:
    for i in range(3):
        await world.intake.handle(RawRecord(INPUT, 0, i, b"k", b"{", ()))
    letters = await dead_letters.read(_dlq(world))
    code = letters[0].code
    assert len(dead_letters.choose(letters, positions=set(), code=code)) == 3
    assert dead_letters.choose(letters, positions=set(), code="other") == []

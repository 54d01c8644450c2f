"""A database rebuilt by replay announces only what was never announced.

Output ids derive from the causing input event, so the rebuilt database decides the same
ids with other times; recording the output topic's events as sent first keeps every id
on the topic with one content."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

import events
from consumer.service.announced import adopt_announced, as_sent
from consumer.service.records import RawRecord
from tests.unit.conftest import OUTPUT, SETTINGS, World, make_world


def output_records(world: World) -> list[RawRecord]:
    """What the world's relay put on the output topic, as a reader of it sees them."""
    return [
        RawRecord(topic, 0, offset, key, value, tuple(headers))
        for offset, (topic, key, value, headers) in enumerate(world.publisher.sent)
        if topic == OUTPUT
    ]


async def polls(records: Sequence[RawRecord]) -> AsyncIterator[Sequence[RawRecord]]:
    yield records[:1]
    yield records[1:]


def contents_by_id(records: Sequence[RawRecord]) -> dict[str, set[bytes]]:
    seen: dict[str, set[bytes]] = {}
    for record in records:
        ident = dict(record.headers)["ce_id"].decode()
        seen.setdefault(ident, set()).add(record.value or b"")
    return seen


async def lose_and_rebuild(project: str, *, adopt: bool) -> tuple[World, list[RawRecord]]:
    """Provision and delete ``project``, wipe the database, replay the input into it."""
    first = make_world()
    log = [first.record(first.created(project)), first.record(first.deleted(project))]
    await first.intake.handle(log[0])
    await first.settle()
    await first.relay.flush()
    await first.intake.handle(log[1])
    await first.settle()
    await first.relay.flush()
    announced = output_records(first)
    assert [dict(r.headers)["ce_type"].decode() for r in announced] == [
        events.EventType.SESSION_READY.value,
        events.EventType.SESSION_DELETED.value,
    ]
    rebuilt = make_world()  # an empty database, later: other times
    rebuilt.clock.advance(3600)
    if adopt:
        ours = await adopt_announced(
            polls(announced), rebuilt.uow, source=SETTINGS.event_source, clock=rebuilt.clock
        )
        assert ours == len(announced)
        again = await adopt_announced(
            polls(announced), rebuilt.uow, source=SETTINGS.event_source, clock=rebuilt.clock
        )
        assert again == 0, "a database holding every id records nothing"
    for record in log:
        await rebuilt.intake.handle(record)
    await rebuilt.settle()
    await rebuilt.relay.flush()
    return rebuilt, announced + output_records(rebuilt)


async def test_a_rebuilt_database_does_not_announce_again(project: str) -> None:
    rebuilt, topic = await lose_and_rebuild(project, adopt=True)
    assert output_records(rebuilt) == [], "everything was announced before the loss"
    assert all(len(values) == 1 for values in contents_by_id(topic).values())
    kept = [json.loads(r.row.message.value) for r in rebuilt.db.outbox]
    assert [k.get("deleted_at") is not None for k in kept] == [False, True]


async def test_without_adopting_the_same_ids_come_back_with_other_times(project: str) -> None:
    """Why adopting is needed (this test fails if ids stop being derived)."""
    _, topic = await lose_and_rebuild(project, adopt=False)
    assert any(len(values) == 2 for values in contents_by_id(topic).values())


def test_only_our_decodable_events_are_adopted(project: str) -> None:
    data = events.SessionDeleted(
        project_uuid=project,
        namespace=project,
        release_name=f"dev-session-{project}",
        deleted_at=datetime.now(UTC),
    )
    ours = events.to_record(events.new_envelope(data, source=SETTINGS.event_source))
    record = RawRecord(OUTPUT, 0, 0, ours.key, ours.value, ours.headers)
    message = as_sent(record, SETTINGS.event_source)
    assert message is not None and message.value == ours.value
    assert message.headers == ours.headers and message.project_uuid == project
    assert as_sent(record, "urn:someone:else") is None
    assert as_sent(RawRecord(OUTPUT, 0, 1, b"k", b"{}", ()), SETTINGS.event_source) is None
    assert as_sent(RawRecord(OUTPUT, 0, 2, None, None, ()), SETTINGS.event_source) is None

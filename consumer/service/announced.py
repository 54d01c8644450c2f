"""Before a replay: record what the output topic already announced as sent.

Output event ids derive from the input event that caused them, so a database rebuilt by
replay decides the same ids again, but not with the same contents: the times it stamps
(``ready_at``, ``expires_at``, ``deleted_at``, ``failed_at``) were held only by the
database that was lost. Publishing those would put one id on the output topic with two
contents, which CloudEvents forbids and which a consumer that deduplicates by id would
drop anyway. So replay first copies every event of ours on the output topic into the
outbox as already sent; the outbox skips an id it holds, and the rebuilt service
announces only what was never announced. On a complete database every id is there
already and nothing changes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

import events
from consumer.ports import Clock, OutboxMessage, UnitOfWorkFactory
from consumer.service.records import Consumed


def as_sent(record: Consumed, source: str) -> OutboxMessage | None:
    """The outbox message ``record`` is, or None when it is not an event ``source`` sent."""
    headers = tuple((name, value) for name, value in record.headers if value is not None)
    if record.value is None or record.key is None:
        return None
    try:
        envelope = events.from_record(record.key, record.value, headers)
    except events.DecodeError:
        return None
    if envelope.source != source:
        return None
    return OutboxMessage(
        event_id=envelope.id,
        project_uuid=envelope.data.project_uuid,
        event_type=envelope.type.value,
        topic=record.topic,
        key=record.key,
        value=record.value,
        headers=headers,
    )


async def adopt_announced(
    log: AsyncIterator[Sequence[Consumed]],
    uow: UnitOfWorkFactory,
    *,
    source: str,
    clock: Clock,
    advance: Callable[[int], None] = lambda _: None,
) -> int:
    """Record every event of ``source`` in ``log`` as sent, a poll per transaction; how
    many records were ours."""
    ours = 0
    async for polled in log:
        messages = [m for m in (as_sent(r, source) for r in polled) if m is not None]
        if messages:
            async with uow() as unit:
                await unit.outbox.add_sent(messages, clock.now())
                await unit.commit()
        ours += len(messages)
        advance(len(polled))
    return ours

"""Before a replay: record what the output topic already announced as sent.

Output event ids derive from the input event that caused them, so a database rebuilt by
replay decides the same ids again, but not with the same contents: the times it stamps
(``ready_at``, ``expires_at``, ``deleted_at``, ``failed_at``) were held only by the
database that was lost. Publishing those would put one id on the output topic with two
contents, which CloudEvents forbids and which a consumer that deduplicates by id would
drop anyway. So replay first copies every event of ours on the output topic into the
outbox as already sent; the outbox skips an id it holds, and the rebuilt service
announces only what was never announced.

A database at least as new as the output topic (it holds the last event of every
partition) is left alone without reading the topic: whatever it has not announced again
is behind its inbox and high-water marks, so replay will not decide it again. So the
cost falls only on a database that lost something, where it is one lookup per
``BATCH`` records read.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from consumer.ports import Clock, OutboxMessage, UnitOfWorkFactory
from consumer.service.records import Consumed

BATCH = 2000  # records per lookup of the outbox


def as_sent(record: Consumed, source: str) -> OutboxMessage | None:
    """The outbox message ``record`` is, or None when it is not an event ``source`` sent.

    Read from the CloudEvents headers and the key alone: the value is stored as it is on
    the topic, never decoded (a complete database skips the record after one lookup)."""
    headers = tuple((name, value) for name, value in record.headers if value is not None)
    attributes = dict(headers)
    if record.value is None or record.key is None:
        return None
    try:
        if attributes.get("ce_source", b"").decode() != source:
            return None
        event_id = attributes["ce_id"].decode()
        event_type = attributes["ce_type"].decode()
        project_uuid = record.key.decode()
    except (KeyError, UnicodeDecodeError):
        return None
    return OutboxMessage(
        event_id=event_id,
        project_uuid=project_uuid,
        event_type=event_type,
        topic=record.topic,
        key=record.key,
        value=record.value,
        headers=headers,
    )


async def up_to_date(tail: Sequence[Consumed], uow: UnitOfWorkFactory, *, source: str) -> bool:
    """Whether the outbox holds the last event of ``source`` on each partition (``tail``)."""
    ids = [m.event_id for m in (as_sent(r, source) for r in tail) if m is not None]
    async with uow() as unit:
        return await unit.outbox.holding(ids) == set(ids)


async def adopt_announced(
    log: AsyncIterator[Sequence[Consumed]],
    uow: UnitOfWorkFactory,
    *,
    source: str,
    clock: Clock,
    advance: Callable[[int], None] = lambda _: None,
) -> int:
    """Record every event of ``source`` in ``log`` that the outbox lacks as sent; how many
    were recorded. One lookup per ``BATCH`` records."""
    recorded = 0
    pending: list[OutboxMessage] = []
    read = 0

    async def flush() -> int:
        async with uow() as unit:
            held = await unit.outbox.holding([m.event_id for m in pending])
            missing = [m for m in pending if m.event_id not in held]
            if missing:
                await unit.outbox.add_sent(missing, clock.now())
                await unit.commit()
        advance(read)
        return len(missing)

    async for polled in log:
        pending.extend(m for m in (as_sent(r, source) for r in polled) if m is not None)
        read += len(polled)
        if len(pending) >= BATCH:
            recorded += await flush()
            pending, read = [], 0
    if pending or read:
        recorded += await flush()
    return recorded

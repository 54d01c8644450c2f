"""The ``Inbox`` and ``Outbox`` repositories on PostgreSQL.

The inbox keys consumed events by (consumer, CloudEvents source, id); the outbox holds
encoded events committed with the change that caused them. One relay at a time claims
outbox rows (a transaction-scoped advisory lock), so rows go out in id order and
per-project order holds even with several replicas.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consumer.adapters.db.tables import inbox, outbox
from consumer.domain.model import LogPosition
from consumer.ports import InboxEntry, InboxKey, OutboxMessage, OutboxRow

RELAY_LOCK = 7_200_917_002  # arbitrary, stable advisory-lock key

_TEXTS = ARRAY(sa.Text)
# A batch's inbox rows in one statement of constant text (prepared once by the driver):
# arrays in, the rows that were new out.
_ADD_MANY = sa.text(
    'INSERT INTO inbox (consumer, source, event_id, project_uuid, partition, "offset")'
    " SELECT CAST(:consumer AS text), * FROM unnest(CAST(:sources AS text[]),"
    " CAST(:ids AS text[]), CAST(:uuids AS text[]), CAST(:partitions AS int[]),"
    " CAST(:offsets AS bigint[]))"
    " ON CONFLICT DO NOTHING RETURNING source, event_id"
).bindparams(
    sa.bindparam("sources", type_=_TEXTS),
    sa.bindparam("ids", type_=_TEXTS),
    sa.bindparam("uuids", type_=_TEXTS),
    sa.bindparam("partitions", type_=ARRAY(sa.Integer)),
    sa.bindparam("offsets", type_=ARRAY(sa.BigInteger)),
)
# Asks for the pairs the inbox does *not* hold: replaying an applied log (the case that
# must be fast) then returns no rows at all. The scalar subquery (not NOT EXISTS, which
# the planner may turn into a hash anti-join over the consumer's whole inbox) makes one
# primary-key probe per pair, so a check costs the same whatever the inbox's size.
_UNSEEN = sa.text(
    "SELECT t.source, t.event_id"
    " FROM unnest(CAST(:sources AS text[]), CAST(:ids AS text[])) AS t(source, event_id)"
    " WHERE (SELECT 1 FROM inbox i WHERE i.consumer = :consumer"
    " AND i.source = t.source AND i.event_id = t.event_id LIMIT 1) IS NULL"
).bindparams(sa.bindparam("sources", type_=_TEXTS), sa.bindparam("ids", type_=_TEXTS))


class SqlInbox:
    """Consumed event ids."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, key: InboxKey, project_uuid: str, position: LogPosition) -> bool:
        result = await self._conn.execute(
            pg_insert(inbox)
            .values(
                consumer=key.consumer,
                source=key.source,
                event_id=key.event_id,
                project_uuid=project_uuid,
                partition=position.partition,
                offset=position.offset,
            )
            .on_conflict_do_nothing()
            .returning(inbox.c.event_id)
        )
        return result.first() is not None

    async def add_many(self, entries: Sequence[InboxEntry]) -> set[InboxKey]:
        if not entries:
            return set()
        consumers = {e.key.consumer for e in entries}
        assert len(consumers) == 1, "one consumer per batch"
        [consumer] = consumers
        result = await self._conn.execute(
            _ADD_MANY,
            {
                "consumer": consumer,
                "sources": [e.key.source for e in entries],
                "ids": [e.key.event_id for e in entries],
                "uuids": [e.project_uuid for e in entries],
                "partitions": [e.position.partition for e in entries],
                "offsets": [e.position.offset for e in entries],
            },
        )
        return {InboxKey(consumer, source, event_id) for source, event_id in result}

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (source, id) pairs the inbox already holds: one query for a whole batch."""
        if not ids:
            return set()
        result = await self._conn.execute(
            _UNSEEN,
            {"consumer": consumer, "sources": [i[0] for i in ids], "ids": [i[1] for i in ids]},
        )
        return set(ids) - {(r[0], r[1]) for r in result}

    async def prune(self, before: datetime) -> int:
        """Forget ids consumed before ``before``.

        Safe because order and idempotency for old events rest on each project's
        high-water mark; the inbox only has to catch redeliveries, which come soon.
        """
        result = await self._conn.execute(inbox.delete().where(inbox.c.received_at < before))
        return int(result.rowcount or 0)

    async def projects_seen(self, project_uuids: Sequence[str]) -> set[str]:
        """Which of ``project_uuids`` any recorded event belongs to.

        The orphan sweep asks only about namespaces without a session row (few, and
        usually none), so a scan of the inbox is cheaper than indexing every insert of
        intake's hot path.
        """
        if not project_uuids:
            return set()
        result = await self._conn.execute(
            sa.select(inbox.c.project_uuid)
            .where(inbox.c.project_uuid.in_(list(project_uuids)))
            .distinct()
        )
        return set(result.scalars())


_HOLDING = sa.select(outbox.c.event_id).where(
    outbox.c.event_id == sa.any_(sa.bindparam("ids", type_=ARRAY(sa.String)))
)


class SqlOutbox:
    """Encoded events waiting for the relay."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def add(self, messages: Sequence[OutboxMessage]) -> None:
        await self._insert(messages, sent_at=None)

    async def holding(self, event_ids: Sequence[str]) -> set[str]:
        if not event_ids:
            return set()
        result = await self._conn.execute(_HOLDING, {"ids": list(event_ids)})
        return set(result.scalars())

    async def add_sent(self, messages: Sequence[OutboxMessage], now: datetime) -> None:
        await self._insert(messages, sent_at=now)

    async def _insert(self, messages: Sequence[OutboxMessage], *, sent_at: datetime | None) -> None:
        if not messages:
            return
        await self._conn.execute(
            pg_insert(outbox)
            .values(
                [
                    {
                        "event_id": m.event_id,
                        "project_uuid": m.project_uuid,
                        "event_type": m.event_type,
                        "topic": m.topic,
                        "key": m.key,
                        "value": m.value,
                        "headers": [[name, value.decode("utf-8")] for name, value in m.headers],
                        "sent_at": sent_at,
                    }
                    for m in messages
                ]
            )
            .on_conflict_do_nothing(index_elements=[outbox.c.event_id])
        )

    async def claim_batch(self, limit: int) -> list[OutboxRow]:
        leader = await self._conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(RELAY_LOCK)))
        if not leader:
            return []
        result = await self._conn.execute(
            sa.select(outbox).where(outbox.c.sent_at.is_(None)).order_by(outbox.c.id).limit(limit)
        )
        return [_from_row(r) for r in result.mappings()]

    async def mark_sent(self, ids: Sequence[int], now: datetime) -> None:
        await self._conn.execute(
            outbox.update().where(outbox.c.id.in_(list(ids))).values(sent_at=now)
        )

    async def prune(self, before: datetime) -> int:
        result = await self._conn.execute(outbox.delete().where(outbox.c.sent_at < before))
        return int(result.rowcount or 0)


def _from_row(row: sa.RowMapping) -> OutboxRow:
    message = OutboxMessage(
        event_id=row["event_id"],
        project_uuid=row["project_uuid"],
        event_type=row["event_type"],
        topic=row["topic"],
        key=bytes(row["key"]),
        value=bytes(row["value"]),
        headers=tuple((name, value.encode("utf-8")) for name, value in row["headers"]),
    )
    return OutboxRow(id=row["id"], message=message, created_at=row["created_at"])

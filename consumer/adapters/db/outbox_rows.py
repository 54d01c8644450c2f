"""Outbox rows: writing encoded events beside a session change, reading them back."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consumer.adapters.db.tables import outbox
from consumer.ports import OutboxMessage, OutboxRow


async def add(conn: AsyncConnection, messages: Sequence[OutboxMessage]) -> None:
    """Insert outbox rows; an event id already there is skipped (same event, same id)."""
    if not messages:
        return
    await conn.execute(
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
                }
                for m in messages
            ]
        )
        .on_conflict_do_nothing(index_elements=[outbox.c.event_id])
    )


def from_row(row: sa.RowMapping) -> OutboxRow:
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

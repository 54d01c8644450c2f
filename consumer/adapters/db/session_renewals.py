"""``SessionRenewals`` on PostgreSQL: the owner opening a session renews its expiry.

One conditional UPDATE of ``expires_at`` (``GREATEST``: never pulled in), only while the
session is wanted present, so a session the expiry sweep already doomed (a new
generation, wanted absent) is not brought back by a late open; a later
``ProjectCreated`` is what revives it.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consumer.adapters.db.tables import sessions
from consumer.domain.model import Desired


class SqlSessionRenewals:
    """One short transaction per renewal."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def renew(self, project_uuid: str, *, until: datetime) -> bool:
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(
                    sessions.c.project_uuid == project_uuid,
                    sessions.c.desired == Desired.PRESENT.value,
                )
                .values(expires_at=sa.func.greatest(sessions.c.expires_at, until))
                .returning(sessions.c.id)
            )
            return result.first() is not None

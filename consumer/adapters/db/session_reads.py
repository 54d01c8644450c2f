"""``SessionReads`` on PostgreSQL: the HTTP API's read-only queries.

Separate from the service's store because the API only ever reads; listing pages by
the session's ``id`` (keyset pagination), so a cursor stays valid while sessions are
added or change status.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consumer.adapters.db import rows
from consumer.adapters.db.tables import sessions
from consumer.domain.model import SessionState, Status


class SqlSessionReads:
    """One short read-only query per call."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def _one(self, where: sa.ColumnElement[bool]) -> SessionState | None:
        async with self._engine.connect() as conn:
            row = (await conn.execute(sa.select(sessions).where(where))).mappings().first()
        return rows.to_state(row) if row else None

    async def by_project(self, project_uuid: str) -> SessionState | None:
        return await self._one(sessions.c.project_uuid == project_uuid)

    async def by_id(self, session_id: int) -> SessionState | None:
        return await self._one(sessions.c.id == session_id)

    async def page(self, *, status: Status | None, after_id: int, limit: int) -> list[SessionState]:
        query = sa.select(sessions).where(sessions.c.id > after_id)
        if status is not None:
            query = query.where(sessions.c.status == status.value)
        query = query.order_by(sessions.c.id).limit(limit)
        async with self._engine.connect() as conn:
            result = await conn.execute(query)
            return [rows.to_state(r) for r in result.mappings()]

"""The ``Sessions`` and ``Leases`` repositories on PostgreSQL (SQLAlchemy 2 Core).

Both work inside the transaction of the unit of work that made them. Intake writes every
column but identity and lease (``put``); the reconciler writes only its own columns and
only while it holds the lease and the generation it worked on is still current
(``save_outcome``), so a newer event is never overwritten by a stale outcome. Leases run
on the database's clock, so replicas with skewed clocks agree on when one expires. A
worker that holds the project's session-level lock may take over the lease of a
lock-holding owner at once (``take_over``): that owner's lock is gone, so it is dead.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from consumer.adapters.db import rows
from consumer.adapters.db.tables import sessions
from consumer.domain import naming
from consumer.domain.model import CONVERGED_STATUSES, SessionState

_WRITTEN = [c.name for c in sessions.c if c.name not in ("id", "lease_owner", "lease_expires_at")]


def _upsert() -> sa.Insert:
    """INSERT ... ON CONFLICT (project_uuid) DO UPDATE, built once (the intake hot path)."""
    stmt = pg_insert(sessions)
    return stmt.on_conflict_do_update(
        index_elements=[sessions.c.project_uuid],
        set_={name: stmt.excluded[name] for name in _WRITTEN if name != "project_uuid"},
    )


_UPSERT = _upsert()

# One statement for a batch's advisory locks, the same keys as ``lock``, taken in key
# order: two replicas whose batches share projects then wait for each other instead of
# deadlocking. (A volatile function in the outer select runs row by row over the
# subquery's ordered output.)
_LOCK_MANY = sa.text(
    "SELECT pg_advisory_xact_lock(k) FROM"
    " (SELECT DISTINCT hashtextextended(u, 0) AS k FROM unnest(CAST(:uuids AS text[])) AS u"
    " ORDER BY k) AS keys"
).bindparams(sa.bindparam("uuids", type_=ARRAY(sa.String)))

# Rows of a batch, locked in project order: one statement whatever the batch size, so
# the driver prepares it once.
_GET_MANY = (
    sa.select(sessions)
    .where(sessions.c.project_uuid == sa.any_(sa.bindparam("uuids", type_=ARRAY(sa.String))))
    .order_by(sessions.c.project_uuid)
)
_GET_MANY_FOR_UPDATE = _GET_MANY.with_for_update()


class SqlSessions:
    """Session rows, read and written in the unit of work's transaction."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def lock(self, project_uuid: str) -> None:
        # A transaction-scoped advisory lock serialises intake per project even before
        # its row exists: two first events must not both decide from None.
        await self._conn.execute(
            sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(project_uuid, 0)))
        )

    async def lock_many(self, project_uuids: Sequence[str]) -> None:
        if project_uuids:
            await self._conn.execute(_LOCK_MANY, {"uuids": list(project_uuids)})

    async def get_many(
        self, project_uuids: Sequence[str], *, for_update: bool = False
    ) -> dict[str, SessionState]:
        if not project_uuids:
            return {}
        query = _GET_MANY_FOR_UPDATE if for_update else _GET_MANY
        result = await self._conn.execute(query, {"uuids": list(project_uuids)})
        return {r["project_uuid"]: rows.to_state(r) for r in result.mappings()}

    async def get(self, project_uuid: str, *, for_update: bool = False) -> SessionState | None:
        query = sa.select(sessions).where(sessions.c.project_uuid == project_uuid)
        if for_update:
            query = query.with_for_update()
        row = (await self._conn.execute(query)).mappings().first()
        return rows.to_state(row) if row else None

    async def list(self, *, limit: int = 1000) -> list[SessionState]:
        result = await self._conn.execute(sa.select(sessions).order_by(sessions.c.id).limit(limit))
        return [rows.to_state(r) for r in result.mappings()]

    async def unconverged(self, *, limit: int = 1_000_000) -> Sequence[str]:
        # SessionState.converged in SQL: a replay onto a large database reads only these
        result = await self._conn.execute(
            sa.select(sessions.c.project_uuid)
            .where(
                sa.or_(
                    sessions.c.observed_generation < sessions.c.generation,
                    sessions.c.status.not_in(sorted(s.value for s in CONVERGED_STATUSES)),
                )
            )
            .order_by(sessions.c.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def put(self, session: SessionState) -> None:
        await self._conn.execute(_UPSERT, rows.to_row(session))

    async def put_many(self, sessions: Sequence[SessionState]) -> None:
        # executemany of the cached upsert: asyncpg pipelines the rows in one round trip
        if sessions:
            await self._conn.execute(_UPSERT, [rows.to_row(s) for s in sessions])

    async def save_outcome(self, session: SessionState, *, owner: str) -> bool:
        values = {k: v for k, v in rows.to_row(session).items() if k in rows.RECONCILER_COLUMNS}
        result = await self._conn.execute(
            sessions.update()
            .where(
                sessions.c.project_uuid == session.project_uuid,
                sessions.c.generation == session.generation,
                sessions.c.lease_owner == owner,
            )
            .values(values)
            .returning(sessions.c.id)
        )
        return result.first() is not None


class SqlLeases:
    """The lease columns of session rows."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def claim(
        self, project_uuid: str, owner: str, lease_seconds: float, *, take_over: bool = False
    ) -> SessionState | None:
        period = sa.func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds)
        free = sa.or_(
            sessions.c.lease_owner.is_(None),
            sessions.c.lease_owner == owner,
            sessions.c.lease_expires_at < sa.func.now(),
        )
        if take_over:  # the caller holds the project's lock: a lock holder's lease is dead
            free = sa.or_(
                free,
                sa.and_(
                    sessions.c.lease_owner.endswith(naming.LOCK_HOLDER),
                    sa.func.pg_postmaster_start_time() < sa.func.now() - period,
                ),
            )
        row = (
            (
                await self._conn.execute(
                    sessions.update()
                    .where(sessions.c.project_uuid == project_uuid, free)
                    .values(
                        lease_owner=owner,
                        lease_expires_at=sa.func.now() + period,
                    )
                    .returning(*sessions.c)
                )
            )
            .mappings()
            .first()
        )
        return rows.to_state(row) if row else None

    async def release(self, project_uuid: str, owner: str) -> None:
        await self._conn.execute(
            sessions.update()
            .where(sessions.c.project_uuid == project_uuid, sessions.c.lease_owner == owner)
            .values(lease_owner=None, lease_expires_at=None)
        )

"""The ``Schedule`` repository on PostgreSQL: the periodic resync's queries and updates.

Due work includes projects whose lease belongs to a dead lock holder (its project lock is
free in ``pg_locks``), so a crashed replica's projects are picked up within one takeover
check, not after their leases run out.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from consumer.adapters.db import rows
from consumer.adapters.db.tables import sessions
from consumer.domain import naming
from consumer.domain.model import Desired, SessionState, Status

_WORK_STATUSES = (Status.PENDING.value, Status.PROVISIONING.value, Status.DELETING.value)
_ENDED_STATUSES = (Status.DELETED.value, Status.FAILED.value)


# Nobody holds the project's lock (``naming.project_lock``) right now.
_PROJECT_LOCK_FREE = sa.text(
    "NOT EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND l.granted"
    " AND l.objsubid = 1 AND ((l.classid::bigint << 32) | l.objid::bigint)"
    f" = hashtextextended('{naming.project_lock('')}' || sessions.project_uuid, 0))"
)


def _lease_orphaned() -> sa.ColumnElement[bool]:
    """A lock holder's lease whose project lock nobody holds: its owner died."""
    return sa.and_(sessions.c.lease_owner.endswith(naming.LOCK_HOLDER), _PROJECT_LOCK_FREE)


def _lease_free() -> sa.ColumnElement[bool]:
    """No live lease: none, or one that ran out on the database's clock (a dead worker's)."""
    return sa.or_(sessions.c.lease_owner.is_(None), sessions.c.lease_expires_at < sa.func.now())


class SqlSchedule:
    """Which sessions need work, expire or may be forgotten; expiry renewal, drift marking."""

    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]:
        query = (
            sa.select(sessions.c.project_uuid)
            .where(
                sa.or_(
                    sessions.c.observed_generation < sessions.c.generation,
                    sessions.c.status.in_(_WORK_STATUSES),
                ),
                sessions.c.status != Status.FAILED.value,
                sa.or_(sessions.c.next_attempt_at.is_(None), sessions.c.next_attempt_at <= now),
                sa.or_(_lease_free(), _lease_orphaned()),
            )
            .order_by(sessions.c.updated_at)
            .limit(limit)
        )
        return list((await self._conn.execute(query)).scalars())

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int:
        lifetime = timedelta(seconds=lifetime_seconds)
        result = await self._conn.execute(
            sessions.update()
            .where(
                sessions.c.status == Status.RUNNING.value,
                sessions.c.expires_at < now + lifetime - timedelta(days=1),
            )
            .values(expires_at=now + lifetime)
        )
        return int(result.rowcount or 0)

    async def lapsed(self, now: datetime, *, limit: int = 500) -> list[str]:
        result = await self._conn.execute(
            sa.select(sessions.c.project_uuid)
            .where(sessions.c.desired == Desired.PRESENT.value, sessions.c.expires_at <= now)
            .order_by(sessions.c.expires_at)
            .limit(limit)
        )
        return list(result.scalars())

    async def ended(self, before: datetime, *, limit: int = 1000) -> list[SessionState]:
        result = await self._conn.execute(
            sa.select(sessions)
            .where(
                sessions.c.status.in_(_ENDED_STATUSES),
                sessions.c.updated_at < before,
                _lease_free(),
            )
            .order_by(sessions.c.updated_at)
            .limit(limit)
        )
        return [rows.to_state(r) for r in result.mappings()]

    async def forget(self, sessions_: Sequence[SessionState]) -> list[str]:
        """One DELETE; a row changed since it was read (a newer event, a retry) stays."""
        if not sessions_:
            return []
        seen = [(s.project_uuid, s.updated_at) for s in sessions_]
        result = await self._conn.execute(
            sessions.delete()
            .where(
                sa.tuple_(sessions.c.project_uuid, sessions.c.updated_at).in_(seen),
                sessions.c.status.in_(_ENDED_STATUSES),
                _lease_free(),
            )
            .returning(sessions.c.project_uuid)
        )
        return list(result.scalars())

    async def running(self) -> list[str]:
        result = await self._conn.execute(
            sa.select(sessions.c.project_uuid).where(
                sessions.c.status == Status.RUNNING.value,
                sessions.c.desired == Desired.PRESENT.value,
            )
        )
        return list(result.scalars())

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int:
        """Running sessions whose namespace or workload vanished go back to ``pending``.

        Only sessions still ``running`` and not leased (an expired lease is free) are
        touched, so a session being worked on or deleted meanwhile is left alone.
        ``retries`` counts the repair, so the new ``SessionReady`` gets an id of its own.
        """
        if not project_uuids:
            return 0
        result = await self._conn.execute(
            sessions.update()
            .where(
                sessions.c.project_uuid.in_(list(project_uuids)),
                sessions.c.status == Status.RUNNING.value,
                sessions.c.desired == Desired.PRESENT.value,
                _lease_free(),
            )
            .values(status=Status.PENDING.value, retries=sessions.c.retries + 1, updated_at=now)
        )
        return int(result.rowcount or 0)

"""``SqlStore``: the ``Store`` port on PostgreSQL (SQLAlchemy 2 Core, asyncpg).

Each method is one transaction. Intake takes the project's row lock (``FOR UPDATE``) so
the inbox insert, the session change and the outbox rows commit together; the
reconciler writes only its own columns and only while the generation it worked on is
still current, so a newer event is never overwritten by a stale outcome.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncEngine

from consumer.adapters.db import outbox_rows, rows
from consumer.adapters.db.tables import inbox, outbox, sessions
from consumer.domain.model import LogPosition, SessionState
from consumer.ports import InboxKey, IntakeFn, IntakeResult, OutboxMessage, SendFn

RELAY_LOCK = 7_200_917_002  # arbitrary, stable advisory-lock key
_WRITTEN = [c.name for c in sessions.c if c.name not in ("id", "lease_owner", "lease_expires_at")]


def _upsert() -> sa.Insert:
    """INSERT ... ON CONFLICT (project_uuid) DO UPDATE, built once (the intake hot path)."""
    stmt = pg_insert(sessions)
    return stmt.on_conflict_do_update(
        index_elements=[sessions.c.project_uuid],
        set_={name: stmt.excluded[name] for name in _WRITTEN if name != "project_uuid"},
    )


_UPSERT = _upsert()
_WORK_STATUSES = ("pending", "provisioning", "deleting")


class SqlStore:
    """Sessions, inbox and outbox in PostgreSQL."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def apply_intake(
        self, key: InboxKey, position: LogPosition, project_uuid: str, fn: IntakeFn
    ) -> IntakeResult:
        async with self._engine.begin() as conn:
            # Serialise intake per project even before its row exists (FOR UPDATE locks
            # nothing on a missing row): two first events must not both decide from None.
            await conn.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtextextended(project_uuid, 0)))
            )
            seen = await conn.execute(
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
            if seen.first() is None:
                return IntakeResult(duplicate=True, changed=False, reconcile=False)
            row = (
                (
                    await conn.execute(
                        sa.select(sessions)
                        .where(sessions.c.project_uuid == project_uuid)
                        .with_for_update()
                    )
                )
                .mappings()
                .first()
            )
            current = rows.to_state(row) if row else None
            new, messages, reconcile = fn(current)
            if new is not None:
                await conn.execute(_UPSERT, rows.to_row(new))
            await outbox_rows.add(conn, messages)
            return IntakeResult(duplicate=False, changed=new is not None, reconcile=reconcile)

    async def seen(self, consumer: str, ids: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which (source, id) pairs the inbox already holds: one query for a whole batch."""
        if not ids:
            return set()
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(inbox.c.source, inbox.c.event_id).where(
                    inbox.c.consumer == consumer,
                    sa.tuple_(inbox.c.source, inbox.c.event_id).in_(list(ids)),
                )
            )
            return {(r[0], r[1]) for r in result}

    async def get(self, project_uuid: str) -> SessionState | None:
        async with self._engine.connect() as conn:
            row = (
                (
                    await conn.execute(
                        sa.select(sessions).where(sessions.c.project_uuid == project_uuid)
                    )
                )
                .mappings()
                .first()
            )
        return rows.to_state(row) if row else None

    async def list_sessions(self, *, limit: int = 1000) -> list[SessionState]:
        async with self._engine.connect() as conn:
            result = await conn.execute(sa.select(sessions).order_by(sessions.c.id).limit(limit))
            return [rows.to_state(r) for r in result.mappings()]

    async def claim(
        self, project_uuid: str, owner: str, now: datetime, lease_seconds: float
    ) -> SessionState | None:
        # Leases run on the database's clock, so replicas with skewed clocks agree on
        # when one expires (``now`` is the caller's clock, used for backoff times only).
        free = sa.or_(
            sessions.c.lease_owner.is_(None),
            sessions.c.lease_owner == owner,
            sessions.c.lease_expires_at < sa.func.now(),
        )
        async with self._engine.begin() as conn:
            row = (
                (
                    await conn.execute(
                        sessions.update()
                        .where(sessions.c.project_uuid == project_uuid, free)
                        .values(
                            lease_owner=owner,
                            lease_expires_at=sa.func.now()
                            + sa.func.make_interval(0, 0, 0, 0, 0, 0, lease_seconds),
                        )
                        .returning(*sessions.c)
                    )
                )
                .mappings()
                .first()
            )
        return rows.to_state(row) if row else None

    async def save(
        self,
        session: SessionState,
        *,
        owner: str,
        outbox: Sequence[OutboxMessage] = (),
        release: bool = False,
    ) -> bool:
        values = {k: v for k, v in rows.to_row(session).items() if k in rows.RECONCILER_COLUMNS}
        if release:
            values |= {"lease_owner": None, "lease_expires_at": None}
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(
                    sessions.c.project_uuid == session.project_uuid,
                    sessions.c.generation == session.generation,
                    sessions.c.lease_owner == owner,
                )
                .values(values)
                .returning(sessions.c.id)
            )
            if result.first() is None:
                return False
            await outbox_rows.add(conn, outbox)
            return True

    async def release(self, project_uuid: str, owner: str) -> None:
        async with self._engine.begin() as conn:
            await conn.execute(
                sessions.update()
                .where(sessions.c.project_uuid == project_uuid, sessions.c.lease_owner == owner)
                .values(lease_owner=None, lease_expires_at=None)
            )

    async def due(self, now: datetime, *, limit: int = 500) -> list[str]:
        query = (
            sa.select(sessions.c.project_uuid)
            .where(
                sa.or_(
                    sessions.c.observed_generation < sessions.c.generation,
                    sessions.c.status.in_(_WORK_STATUSES),
                ),
                sessions.c.status != "failed",
                sa.or_(sessions.c.next_attempt_at.is_(None), sessions.c.next_attempt_at <= now),
                sa.or_(
                    sessions.c.lease_owner.is_(None), sessions.c.lease_expires_at < sa.func.now()
                ),
            )
            .order_by(sessions.c.updated_at)
            .limit(limit)
        )
        async with self._engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def renew_expiry(self, now: datetime, lifetime_seconds: float) -> int:
        lifetime = timedelta(seconds=lifetime_seconds)
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(
                    sessions.c.status == "running",
                    sessions.c.expires_at < now + lifetime - timedelta(days=1),
                )
                .values(expires_at=now + lifetime)
            )
        return int(result.rowcount or 0)

    async def prune(self, before: datetime) -> int:
        """Forget consumed event ids and published outbox rows from before ``before``.

        Safe because order and idempotency for old events rest on each project's
        high-water mark; the inbox only has to catch redeliveries, which come soon, and a
        published outbox row is needed no more. Unsent rows are never pruned.
        """
        async with self._engine.begin() as conn:
            seen = await conn.execute(inbox.delete().where(inbox.c.received_at < before))
            sent = await conn.execute(outbox.delete().where(outbox.c.sent_at < before))
        return int(seen.rowcount or 0) + int(sent.rowcount or 0)

    async def running_projects(self) -> list[str]:
        async with self._engine.connect() as conn:
            result = await conn.execute(
                sa.select(sessions.c.project_uuid).where(
                    sessions.c.status == "running", sessions.c.desired == "present"
                )
            )
            return list(result.scalars())

    async def mark_drifted(self, project_uuids: Sequence[str], now: datetime) -> int:
        """Running sessions whose namespace vanished go back to ``pending`` (re-provision).

        Only sessions still ``running`` and not leased are touched, so a session being
        worked on or deleted meanwhile is left alone. ``retries`` counts the repair, so
        the new ``SessionReady`` gets an id of its own.
        """
        if not project_uuids:
            return 0
        async with self._engine.begin() as conn:
            result = await conn.execute(
                sessions.update()
                .where(
                    sessions.c.project_uuid.in_(list(project_uuids)),
                    sessions.c.status == "running",
                    sessions.c.desired == "present",
                    sessions.c.lease_owner.is_(None),
                )
                .values(status="pending", retries=sessions.c.retries + 1, updated_at=now)
            )
        return int(result.rowcount or 0)

    async def relay_batch(self, *, limit: int, send: SendFn, now: datetime) -> int:
        """Publish the oldest unsent rows and mark them sent, in one transaction.

        A transaction-scoped advisory lock makes one relay at a time the publisher, so
        rows go out in id order (per-project order holds) even with several replicas; a
        failed send rolls back and the same rows, with the same event ids, go out again.
        """
        async with self._engine.begin() as conn:
            leader = await conn.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(RELAY_LOCK)))
            if not leader:
                return 0
            result = await conn.execute(
                sa.select(outbox)
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .limit(limit)
            )
            batch = [outbox_rows.from_row(r) for r in result.mappings()]
            if not batch:
                return 0
            await send(batch)
            await conn.execute(
                outbox.update().where(outbox.c.id.in_([r.id for r in batch])).values(sent_at=now)
            )
            return len(batch)

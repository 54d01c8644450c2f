"""Session-level advisory locks (``SqlLocks``) on the stack's PostgreSQL: one holder at a
time, no transaction open while held, and freed by the database when the holder's
connection dies."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from consumer.adapters.db.engine import make_engine
from consumer.adapters.db.locks import SqlLocks

pytestmark = pytest.mark.stack


@pytest.fixture
async def engine(stack) -> AsyncIterator[AsyncEngine]:  # type: ignore[no-untyped-def]
    engine = make_engine(stack.database_url, pool_size=4)
    yield engine
    await engine.dispose()


async def _backend_of_lock(engine: AsyncEngine, name: str) -> int | None:
    async with engine.connect() as conn:
        pid = await conn.scalar(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND"
                " ((classid::bigint << 32) | objid::bigint) = hashtextextended(:n, 0)"
            ),
            {"n": name},
        )
    return int(pid) if pid is not None else None


async def test_one_holder_at_a_time_and_no_open_transaction(engine: AsyncEngine) -> None:
    locks, name = SqlLocks(engine), f"test-{uuid.uuid4()}"
    async with locks.hold(name) as first:
        assert first
        async with locks.hold(name) as second:
            assert not second
        pid = await _backend_of_lock(engine, name)
        async with engine.connect() as conn:
            state = await conn.scalar(
                sa.text("SELECT state FROM pg_stat_activity WHERE pid = :p"), {"p": pid}
            )
        assert state == "idle", f"the holder's connection is {state!r}, not idle"
    async with locks.hold(name) as again:
        assert again


async def test_a_killed_holder_frees_the_lock_at_once(engine: AsyncEngine) -> None:
    locks, name = SqlLocks(engine), f"test-{uuid.uuid4()}"
    async with locks.hold(name) as held:
        assert held
        pid = await _backend_of_lock(engine, name)
        async with engine.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid})
        async with locks.hold(name) as taken_over:
            assert taken_over

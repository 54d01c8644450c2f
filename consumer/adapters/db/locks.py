"""The ``Locks`` port on PostgreSQL session-level advisory locks.

Each ``hold`` checks a connection out of the pool, switches it to autocommit (so no
transaction stays open while the holder waits on Kafka, Helm or the API server) and
tries ``pg_try_advisory_lock`` on a key hashed from the lock's name. The lock lives as
long as that connection: released at the end of the block, and by PostgreSQL itself the
moment the holder's process dies or its connection breaks, which is what makes a dead
holder's work free again in seconds rather than after a lease runs out. A connection
whose unlock fails is invalidated instead of going back to the pool still holding it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumer.adapters.db import errors
from consumer.ports import DatabaseUnavailable


def _key(name: str) -> sa.ColumnElement[int]:
    return sa.func.hashtextextended(name, 0)


class _Held:
    """A lock attempt's outcome on its connection (true when taken)."""

    def __init__(self, conn: AsyncConnection, got: bool) -> None:
        self._conn, self._got = conn, got

    def __bool__(self) -> bool:
        return self._got

    async def alive(self) -> bool:
        if not self._got:
            return False
        try:
            await asyncio.wait_for(self._conn.scalar(sa.select(1)), 5)
        except Exception:
            return False
        return True


class SqlLocks:
    """Named session-level advisory locks, one pooled connection per held lock."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    @contextlib.asynccontextmanager
    async def hold(self, name: str) -> AsyncIterator[_Held]:
        conn = await self._connect()
        got = False
        try:
            try:
                got = bool(await conn.scalar(sa.select(sa.func.pg_try_advisory_lock(_key(name)))))
            except Exception as exc:
                if errors.unavailable(exc):
                    raise DatabaseUnavailable(str(exc)) from exc
                raise
            yield _Held(conn, got)
        finally:
            await self._let_go(conn, name, got)

    async def _connect(self) -> AsyncConnection:
        try:
            conn = await self._engine.connect()
            await conn.execution_options(isolation_level="AUTOCOMMIT")
        except Exception as exc:
            if errors.unavailable(exc):
                raise DatabaseUnavailable(str(exc)) from exc
            raise
        return conn

    @staticmethod
    async def _let_go(conn: AsyncConnection, name: str, got: bool) -> None:
        try:
            if got:
                await conn.scalar(sa.select(sa.func.pg_advisory_unlock(_key(name))))
        except Exception:
            # The lock may still be held by this connection: never pool it again.
            with contextlib.suppress(Exception):
                await conn.invalidate()
        finally:
            with contextlib.suppress(Exception):
                await conn.close()

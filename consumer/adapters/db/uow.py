"""``SqlUnitOfWork``: the ``UnitOfWork`` port on one PostgreSQL transaction.

Entering checks a connection out of the engine's pool and begins a transaction; the
repositories it exposes all run their statements on that connection. ``commit`` makes
them durable; leaving the block without a commit rolls back. Database failures that are
the database's state, not the data's fault, leave the unit as the port's
``DatabaseUnavailable`` so the service never imports SQLAlchemy.
"""

from __future__ import annotations

from types import TracebackType
from typing import NoReturn, Self

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from consumer.adapters.db import errors
from consumer.adapters.db.messages import SqlInbox, SqlOutbox
from consumer.adapters.db.schedule import SqlSchedule
from consumer.adapters.db.sessions import SqlLeases, SqlSessions
from consumer.ports import DatabaseUnavailable, UnitOfWorkFactory


class SqlUnitOfWork:
    """One transaction; make a new one for each (``factory(engine)``)."""

    sessions: SqlSessions
    leases: SqlLeases
    schedule: SqlSchedule
    inbox: SqlInbox
    outbox: SqlOutbox

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def __aenter__(self) -> Self:
        try:
            conn = await self._engine.connect()
        except Exception as exc:
            _raise_translated(exc)
        try:
            await conn.begin()
        except Exception as exc:
            await conn.close()
            _raise_translated(exc)
        self._conn = conn
        self.sessions, self.leases = SqlSessions(conn), SqlLeases(conn)
        self.schedule = SqlSchedule(conn)
        self.inbox, self.outbox = SqlInbox(conn), SqlOutbox(conn)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await conn.rollback()  # a no-op after commit
            except Exception:
                if exc is None:
                    raise
            finally:
                await conn.close()
        if isinstance(exc, SQLAlchemyError) and errors.unavailable(exc):
            raise DatabaseUnavailable(str(exc)) from exc

    async def commit(self) -> None:
        if self._conn is None:
            raise RuntimeError("commit outside 'async with'")
        try:
            await self._conn.commit()
        except Exception as exc:
            _raise_translated(exc)


def _raise_translated(exc: Exception) -> NoReturn:
    if errors.unavailable(exc):
        raise DatabaseUnavailable(str(exc)) from exc
    raise exc


def factory(engine: AsyncEngine) -> UnitOfWorkFactory:
    """A ``UnitOfWorkFactory`` over ``engine``'s pool."""
    return lambda: SqlUnitOfWork(engine)

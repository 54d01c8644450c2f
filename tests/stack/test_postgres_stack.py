"""PostgreSQL of the stack: asyncpg connects with the service's URL and round-trips data."""

from __future__ import annotations

import asyncpg
from devstack.record import StackInfo


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy's ``postgresql+asyncpg://`` URL as a plain libpq DSN."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def test_asyncpg_query(stack: StackInfo) -> None:
    conn = await asyncpg.connect(asyncpg_dsn(stack.database_url), timeout=10)
    try:
        user, database = await conn.fetchrow("SELECT current_user, current_database()")
        expected_db = stack.database_url.rsplit("/", 1)[-1]
        assert database == expected_db
        assert user == stack.database_url.split("://", 1)[1].split("@", 1)[0]
        await conn.execute("CREATE TEMP TABLE smoke (id int PRIMARY KEY, note text)")
        await conn.executemany(
            "INSERT INTO smoke VALUES ($1, $2)", [(1, "one"), (2, "two"), (3, "three")]
        )
        rows = await conn.fetch("SELECT id, note FROM smoke WHERE id >= $1 ORDER BY id", 2)
        assert [tuple(r) for r in rows] == [(2, "two"), (3, "three")]
    finally:
        await conn.close()

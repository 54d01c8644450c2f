"""The database adapter's classification of driver errors: the database's state (retry
later, never dead-letter) or the statement's fault, by SQLSTATE class."""

from __future__ import annotations

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from consumer.adapters.db import errors


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"sqlstate {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "unavailable"),
    [
        ("57P03", True),  # cannot connect now (starting up)
        ("53300", True),  # too many connections
        ("25006", True),  # read-only transaction (a standby after failover)
        ("40001", True),  # serialization failure
        ("23505", False),  # unique violation: the data
        ("22001", False),  # string too long: the data
        ("42P01", False),  # undefined table: the statement
    ],
)
def test_driver_errors_are_classified_by_sqlstate(sqlstate: str, unavailable: bool) -> None:
    assert errors.unavailable(DBAPIError("INSERT ...", {}, _PgError(sqlstate))) is unavailable


def test_connection_level_errors_are_unavailable() -> None:
    assert errors.unavailable(OperationalError("SELECT 1", {}, _PgError("")))
    assert errors.unavailable(ConnectionRefusedError("refused"))
    assert not errors.unavailable(ValueError("bad data"))


async def test_unit_of_work_on_an_unreachable_database_raises_database_unavailable() -> None:
    import socket

    from consumer.adapters.db import uow as sql_uow
    from consumer.adapters.db.engine import make_engine
    from consumer.ports import DatabaseUnavailable

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    engine = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/none", pool_size=1)
    try:
        with pytest.raises(DatabaseUnavailable) as caught:
            async with sql_uow.factory(engine)():
                pass
        assert isinstance(caught.value.__cause__, OSError)
    finally:
        await engine.dispose()

"""Classifies database failures: the database's state (retry) or the data's fault.

Lives in the adapter so that nothing above it needs to know SQLAlchemy's or asyncpg's
exception types: the unit of work re-raises what this calls unavailable as the port's
``DatabaseUnavailable`` (the driver's error chained as the cause).
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

_UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, OSError)
# SQLSTATE classes that say "this statement, with this data, can never succeed"; every
# other database error (connection, starting up, too many clients, read-only standby,
# serialization, lock timeouts, ...) is the database's state, not the record's fault.
_DETERMINISTIC_SQLSTATE = ("22", "23", "42")


def unavailable(exc: BaseException) -> bool:
    """True when ``exc`` says the database cannot serve now, not that the data is bad."""
    if isinstance(exc, _UNAVAILABLE):
        return True
    if isinstance(exc, DBAPIError):
        if exc.connection_invalidated:
            return True
        sqlstate = str(getattr(exc.orig, "sqlstate", "") or "")
        return not sqlstate.startswith(_DETERMINISTIC_SQLSTATE)
    return False

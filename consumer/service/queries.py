"""Read-only session queries for the CLI, the HTTP API and replay.

Each query is its own short unit of work that never commits, so a reader cannot change
anything and holds no lock beyond the statement.
"""

from __future__ import annotations

from collections.abc import Sequence

from consumer.domain.model import SessionState
from consumer.ports import UnitOfWorkFactory


class SessionQueries:
    """Reads sessions through fresh units of work."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, project_uuid: str) -> SessionState | None:
        """One project's session, or None when the log never mentioned it."""
        async with self._uow() as uow:
            return await uow.sessions.get(project_uuid)

    async def list(self, *, limit: int = 1000) -> list[SessionState]:
        """Sessions in creation order, at most ``limit``."""
        async with self._uow() as uow:
            return await uow.sessions.list(limit=limit)

    async def unconverged(self) -> Sequence[str]:
        """Projects with work left, in creation order."""
        async with self._uow() as uow:
            return await uow.sessions.unconverged()

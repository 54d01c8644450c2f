"""``SessionChanges`` on PostgreSQL LISTEN/NOTIFY: wakes waiting HTTP requests.

Migration 0003 installs a trigger that runs ``pg_notify('devsessions_sessions',
project_uuid)`` whenever a session's status, desire or generation changes, whoever
changed it (intake or a worker, in this replica or another). One dedicated asyncpg
connection per process LISTENs (not a pooled one: a listening connection must stay
open) and fans notifications out to the subscribers of that project. The connection is
re-established with backoff when it drops; every subscriber is woken then, since
notifications sent meanwhile are lost, and it re-reads the session.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import structlog
from sqlalchemy.engine import make_url

log = structlog.get_logger(__name__)
CHANNEL = "devsessions_sessions"


class _Watch:
    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def changed(self, timeout: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), timeout)
        except TimeoutError:
            return False
        self.event.clear()
        return True


class PgSessionChanges:
    """Fans one LISTEN connection out to per-project subscribers."""

    def __init__(self, database_url: str, *, channel: str = CHANNEL) -> None:
        url = make_url(database_url)
        self._connect_args: dict[str, Any] = url.translate_connect_args(username="user")
        self._channel = channel
        self._subscribers: dict[str, set[_Watch]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        self.listening = asyncio.Event()

    async def start(self) -> None:
        """Start listening in the background (returns at once; reconnects by itself)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="session-notifications")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    @contextlib.asynccontextmanager
    async def watch(self, project_uuid: str) -> AsyncIterator[_Watch]:
        """Subscribe before reading the session, so no change falls between the two."""
        watch = _Watch()
        self._subscribers[project_uuid].add(watch)
        try:
            yield watch
        finally:
            subscribers = self._subscribers[project_uuid]
            subscribers.discard(watch)
            if not subscribers:
                del self._subscribers[project_uuid]

    def _notify(self, _conn: object, _pid: int, _channel: str, payload: str) -> None:
        for watch in self._subscribers.get(payload, ()):
            watch.event.set()

    def _wake_all(self) -> None:
        for subscribers in self._subscribers.values():
            for watch in subscribers:
                watch.event.set()

    async def _run(self) -> None:
        delay = 0.5
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(**self._connect_args, timeout=10)
                lost = asyncio.Event()
                conn.add_termination_listener(_setter(lost))
                await conn.add_listener(self._channel, self._notify)
                self.listening.set()
                self._wake_all()  # changes made while we were not listening
                delay = 0.5
                await lost.wait()
                log.warning("session notifications: connection lost; reconnecting")
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("session notifications: cannot listen", error=repr(exc))
            finally:
                self.listening.clear()
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.wait_for(conn.close(), 2)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def _setter(event: asyncio.Event) -> Any:
    """A termination listener that sets ``event``."""

    def on_terminate(_conn: object) -> None:
        event.set()

    return on_terminate

"""Runs a reconcile action while proving, every heartbeat, that the worker still owns it.

A worker owns a project through two things: the project's session-level lock (held by
one database connection) and the lease in the project's row. While the action runs, a
heartbeat every third of the lease checks that the lock's connection still answers and
renews the lease; when either fails, or the desired generation moved, the action is
cancelled and its outcome dropped. So a live worker keeps its project for as long as a
slow Helm call takes, and one that lost ownership stops within one heartbeat.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from consumer.domain.model import SessionState
from consumer.ports import HeldLock

log = structlog.get_logger(__name__)
T = TypeVar("T")


async def while_owned(
    action: Awaitable[T],
    *,
    held: HeldLock,
    renew: Callable[[], Awaitable[SessionState | None]],
    generation: int,
    beat: float,
) -> T | None:
    """``action``'s result, or None when ownership was lost (the action is cancelled)."""
    task = asyncio.ensure_future(action)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=beat)
            if done:
                return task.result()
            try:
                alive = await asyncio.wait_for(held.alive(), beat)
                claimed = await asyncio.wait_for(renew(), beat)
            except Exception as exc:  # cannot confirm ownership: stop acting on it
                log.warning("lease renewal failed; abandoning action", error=repr(exc))
                return None
            if not alive:
                log.warning("project lock lost; abandoning action")
                return None
            if claimed is None or claimed.generation != generation:
                log.warning("lease lost or desire changed; abandoning action")
                return None
    finally:
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

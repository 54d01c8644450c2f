"""Bounded concurrent workers keyed by project: many projects at once, one per project.

``submit`` coalesces: a project already queued is not queued twice, and a project being
worked on is re-run once after the current run (the event that arrived meanwhile is seen
then). A slow or failing project holds one slot only; the others go on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

import structlog

from consumer.observability import metrics

log = structlog.get_logger(__name__)


class KeyedWorkers:
    """A fixed pool of tasks draining a queue of keys."""

    def __init__(self, work: Callable[[str], Awaitable[object]], concurrency: int) -> None:
        self._work = work
        self._concurrency = concurrency
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._queued: set[str] = set()
        self._running: set[str] = set()
        self._again: set[str] = set()
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()
        self._none_running = asyncio.Event()
        self._none_running.set()
        self._accepting = True

    def submit(self, key: str) -> None:
        """Ask for ``key`` to be worked on (soon, and at most once at a time)."""
        if not self._accepting:
            return
        if key in self._running:
            self._again.add(key)
        elif key not in self._queued:
            self._queued.add(key)
            self._queue.put_nowait(key)
            self._idle.clear()
        metrics.QUEUED.set(len(self._queued))

    def start(self) -> None:
        """Start the worker tasks."""
        self._tasks = [
            asyncio.create_task(self._loop(), name=f"worker-{i}") for i in range(self._concurrency)
        ]

    async def wait_idle(self) -> None:
        """Wait until nothing is queued or running."""
        await self._idle.wait()

    async def stop(self, timeout: float) -> None:
        """Stop taking work; let work in flight finish for up to ``timeout`` seconds.

        Work cut off by the timeout is cancelled; its session stays in a working state in
        PostgreSQL, and the next start picks it up again (every action is idempotent).
        """
        self._accepting = False
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._none_running.wait(), timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _loop(self) -> None:
        while True:
            key = await self._queue.get()
            if not self._accepting:
                continue
            self._queued.discard(key)
            self._running.add(key)
            self._none_running.clear()
            metrics.QUEUED.set(len(self._queued))
            try:
                await self._work(key)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("reconcile crashed; will retry on the next resync", project_uuid=key)
            finally:
                self._running.discard(key)
                if not self._running:
                    self._none_running.set()
                if key in self._again:
                    self._again.discard(key)
                    self.submit(key)
                if not self._queued and not self._running:
                    self._idle.set()

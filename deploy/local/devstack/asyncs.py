"""Run a coroutine to completion from synchronous code, whatever loop is running.

The stack API is synchronous (the CLI and session fixtures call it); the few async
clients it uses (aiokafka) run in a private event loop on a helper thread so that a
caller already inside an event loop is not disturbed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


def run(factory: Callable[[], Awaitable[T]]) -> T:
    """Run ``factory()`` in a fresh event loop on a worker thread and return its result."""

    async def main() -> T:
        return await factory()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, main()).result()

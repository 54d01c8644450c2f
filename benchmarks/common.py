"""Shared pieces of the benchmarks: the stack, a fresh database, timing and memory."""

from __future__ import annotations

import dataclasses
import time
import tracemalloc
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from devstack import api
from devstack.record import StackInfo


def stack() -> StackInfo:
    """The stack described by the environment, or the local one (brought up if needed)."""
    return api.from_env() or api.info() or api.up()


async def fresh_database(stack: StackInfo, prefix: str) -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(
        stack.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return stack.database_url.rsplit("/", 1)[0] + "/" + name


@dataclasses.dataclass(frozen=True)
class Measure:
    seconds: float
    peak_bytes: int
    count: int

    @property
    def per_second(self) -> float:
        return self.count / self.seconds if self.seconds else float("inf")


async def measure(count: int, fn: Callable[[], Awaitable[Any]], *, memory: bool = True) -> Measure:
    """Wall time and peak Python heap (tracemalloc) of one run of ``fn``.

    ``memory=False`` leaves tracemalloc off (peak -1): it slows Python code several
    times, which would distort a CPU-bound rate against a baseline that runs little of it.
    """
    if memory:
        tracemalloc.start()
    started = time.perf_counter()
    await fn()
    elapsed = time.perf_counter() - started
    peak = -1
    if memory:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return Measure(elapsed, peak, count)


def _mb(peak: int) -> str:
    return f"{peak / 1e6:>8.1f} MB" if peak >= 0 else f"{'-':>11}"


def row(name: str, subject: Measure, baseline: Measure, note: str) -> str:
    return (
        f"{name:<34} {subject.per_second:>10.0f}/s {baseline.per_second:>10.0f}/s "
        f"{subject.seconds / baseline.seconds:>7.2f}x {_mb(subject.peak_bytes)} "
        f"{_mb(baseline.peak_bytes)}  {note}"
    )


HEADER = (
    f"{'benchmark':<34} {'subject':>12} {'baseline':>12} {'time':>8} {'peak':>11} "
    f"{'base peak':>11}  baseline"
)

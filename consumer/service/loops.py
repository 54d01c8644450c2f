"""One helper for the service's periodic loops (outbox relay, resync).

Each loop runs one step, logs a failure and carries on, then waits for the next tick
(or, when given a wake event, for whichever comes first). After a failed step it waits a
full interval, ignoring wakes, so a failing dependency is not retried in a tight loop; a
dependency outage is logged on one line, anything else with its traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import NoReturn

import structlog

from consumer.ports import DatabaseUnavailable

log = structlog.get_logger(__name__)
# A dependency that is down: expected while it lasts, logged on one line (no traceback;
# formatting one every few seconds per loop costs the event loop more than the outage).
_OUTAGE = (DatabaseUnavailable, ConnectionError, OSError, TimeoutError)


async def run_periodically(
    step: Callable[[], Awaitable[object]],
    *,
    interval: float,
    name: str,
    wake: asyncio.Event | None = None,
) -> NoReturn:
    """Run ``step`` forever, every ``interval`` seconds or sooner when ``wake`` is set."""
    while True:
        if wake is not None:
            wake.clear()
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except _OUTAGE as exc:
            log.warning("periodic step failed; retrying", loop=name, error=repr(exc)[:300])
            await asyncio.sleep(interval)
            continue
        except Exception:
            log.exception("periodic step failed; retrying", loop=name)
            await asyncio.sleep(interval)
            continue
        if wake is None:
            await asyncio.sleep(interval)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), interval)

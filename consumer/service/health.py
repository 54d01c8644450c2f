"""Which dependency is failing: the readiness of the service, named per dependency.

Each dependency (PostgreSQL, Kafka, the Kubernetes API, the Helm CLI) has a probe, an
async callable given by the composition root that raises when the dependency cannot
serve. A loop probes them all every few seconds, each bounded by a timeout, and keeps
the last verdicts: ``/readyz`` answers from them at once (503 naming what fails), and
the ``devsessions_dependency_up`` gauge carries them to dashboards and alerts. Probing
never acts on anything; the work loops retry on their own and resume when it returns.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping

import structlog

from consumer.observability import metrics
from consumer.service.loops import run_periodically

log = structlog.get_logger(__name__)
Probe = Callable[[], Awaitable[object]]


class Health:
    """The last verdict per dependency: None when it answered, else what went wrong."""

    def __init__(self, probes: Mapping[str, Probe], *, timeout: float = 3.0) -> None:
        self._probes, self._timeout = dict(probes), timeout
        self.verdicts: dict[str, str | None] = dict.fromkeys(self._probes, "not probed yet")

    @property
    def failing(self) -> dict[str, str]:
        """Dependencies that failed their last probe, with why."""
        return {name: why for name, why in self.verdicts.items() if why is not None}

    async def probe(self) -> dict[str, str]:
        """Probe every dependency at once; returns the failing ones."""
        names = list(self._probes)
        results = await asyncio.gather(*(self._one(n) for n in names))
        for name, verdict in zip(names, results, strict=True):
            was = self.verdicts.get(name)
            self.verdicts[name] = verdict
            metrics.DEPENDENCY_UP.labels(dependency=name).set(0 if verdict else 1)
            if verdict and not was:
                log.warning("dependency unavailable", dependency=name, error=verdict)
            elif was and not verdict:
                log.info("dependency available again", dependency=name)
        return self.failing

    async def run(self, interval: float) -> None:
        """Probe forever."""
        await run_periodically(self.probe, interval=interval, name="health")

    async def _one(self, name: str) -> str | None:
        try:
            await asyncio.wait_for(self._probes[name](), self._timeout)
        except TimeoutError:
            return f"no answer within {self._timeout:.0f}s"
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"[:300]
        return None

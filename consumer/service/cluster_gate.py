"""Hold reconcile work while Kubernetes is unreachable, so absence costs no attempts.

Without the gate a missing cluster would turn every due session into failed attempts
until it is ``failed`` for good. With it, intake still records intent, the work stays
due, and the periodic resync offers it again (that is the back-off) until the cluster
answers; then sessions converge by themselves.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog

from consumer.ports import ClusterProbe

log = structlog.get_logger(__name__)
T = TypeVar("T")


def gated(
    work: Callable[[str], Awaitable[T]], probe: ClusterProbe
) -> Callable[[str], Awaitable[T | None]]:
    """``work`` for a project, run only while ``probe`` says the cluster answers."""

    async def run(project_uuid: str) -> T | None:
        if not await probe.reachable():
            log.debug("kubernetes unreachable: work held", project_uuid=project_uuid)
            return None
        return await work(project_uuid)

    return run

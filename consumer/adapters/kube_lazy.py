"""The ``Cluster`` port when the cluster may be missing: connect once it answers.

The design degrades gracefully without Kubernetes: the service starts and keeps
recording intent with no kubeconfig, an unreachable API server, or a cluster that
disappears while running. ``LazyCluster`` builds the real client (``KubeCluster``) only
when the API server answers a cheap ``/version`` probe, and rebuilds it from the
kubeconfig after a failed probe (so a kubeconfig written or fixed later is picked up).
``reachable`` is the probe workers are gated on and ``/readyz`` reports; calls made
while the cluster is away raise the domain's ``TransientError``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

import structlog

from consumer.adapters.project_grant import Grant
from consumer.domain.endpoints import Observed
from consumer.domain.errors import TransientError

if TYPE_CHECKING:  # the client is imported on the first probe: a command that never
    # reaches the cluster (a replay of an applied log) does not pay for importing it
    from kubernetes import client

    from consumer.adapters.kube_client import KubeCluster

log = structlog.get_logger(__name__)
T = TypeVar("T")
PROBE_TIMEOUT = (2, 3)  # connect, read: seconds


class LazyCluster:
    """A ``Cluster`` and ``ClusterProbe`` that survives the cluster's absence."""

    def __init__(
        self,
        kubeconfig: str | None,
        *,
        threads: int = 16,
        terminating_wait: float = 300,
        probe_ttl: float = 5.0,
        grant: Grant | None = None,
    ) -> None:
        self._kubeconfig = kubeconfig
        self._threads, self._terminating_wait = threads, terminating_wait
        self._probe_ttl, self._grant = probe_ttl, grant
        self._cluster: KubeCluster | None = None
        self._api: client.ApiClient | None = None
        self._checked_at = float("-inf")
        self._ok = False
        self.reason = "not probed yet"
        self._lock = asyncio.Lock()

    async def reachable(self) -> bool:
        """Whether the API server answered within the last few seconds (cached)."""
        async with self._lock:
            if time.monotonic() - self._checked_at < self._probe_ttl:
                return self._ok
            ok, reason = await asyncio.to_thread(self._probe)
            self._checked_at = time.monotonic()
            if ok != self._ok:
                if ok:
                    log.info("kubernetes reachable", kubeconfig=self._kubeconfig)
                else:
                    log.warning("kubernetes unreachable", reason=reason)
            self._ok, self.reason = ok, reason
            return ok

    def _probe(self) -> tuple[bool, str]:
        """(Re)build the client if the last probe failed, then ask for ``/version``."""
        from kubernetes import client  # noqa: PLC0415 (imported on first use, see above)

        from consumer.adapters.kube_client import KubeCluster, api_client  # noqa: PLC0415
        from consumer.adapters.project_access import ProjectAccess  # noqa: PLC0415

        try:
            if self._api is not None and self._ok:
                client.VersionApi(self._api).get_code(_request_timeout=PROBE_TIMEOUT)
                return True, ""
            # the pool's threads and this probe's own: one keep-alive connection each
            api = api_client(self._kubeconfig, connections=self._threads + 1)
            client.VersionApi(api).get_code(_request_timeout=PROBE_TIMEOUT)
            self.close()
            self._api = api
            access = ProjectAccess(api, self._grant) if self._grant else None
            self._cluster = KubeCluster(
                api, threads=self._threads, terminating_wait=self._terminating_wait, access=access
            )
        except Exception as exc:  # no kubeconfig, bad kubeconfig, refused, timeout, 5xx
            return False, f"{type(exc).__name__}: {exc}"[:300]
        return True, ""

    async def ping(self) -> None:
        """Raise when the API server does not answer (the readiness probe)."""
        if not await self.reachable():
            raise ConnectionError(f"cluster unreachable: {self.reason}")

    async def _ready(self) -> KubeCluster:
        if not await self.reachable() or self._cluster is None:
            raise TransientError("kubernetes", f"cluster unreachable: {self.reason}")
        return self._cluster

    async def _with(self, call: Callable[[KubeCluster], Awaitable[T]]) -> T:
        return await call(await self._ready())

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> bool:
        return await self._with(lambda c: c.ensure_namespace(name, labels))

    async def namespace_labels(self, name: str) -> dict[str, str] | None:
        return await self._with(lambda c: c.namespace_labels(name))

    async def namespace_exists(self, name: str) -> bool:
        return await self._with(lambda c: c.namespace_exists(name))

    async def delete_namespace(self, name: str) -> None:
        await self._with(lambda c: c.delete_namespace(name))

    async def wait_namespace_gone(self, name: str, timeout: float) -> None:
        await self._with(lambda c: c.wait_namespace_gone(name, timeout))

    async def wait_ready(self, namespace: str, release: str, timeout: float) -> Observed:
        return await self._with(lambda c: c.wait_ready(namespace, release, timeout))

    async def observe(self, namespace: str, release: str) -> Observed:
        return await self._with(lambda c: c.observe(namespace, release))

    async def managed_namespaces(self) -> set[str]:
        return await self._with(lambda c: c.managed_namespaces())

    async def managed_namespace_labels(self) -> dict[str, dict[str, str]]:
        return await self._with(lambda c: c.managed_namespace_labels())

    async def workload_present(self, namespace: str, release: str) -> bool:
        return await self._with(lambda c: c.workload_present(namespace, release))

    def close(self) -> None:
        cluster, api, self._cluster, self._api = self._cluster, self._api, None, None
        if cluster is not None:
            cluster.close()
        if api is not None:
            api.close()  # type: ignore[no-untyped-call]

"""The ``Cluster`` port on the official ``kubernetes`` client.

The client is synchronous, so calls run on a dedicated thread pool sized for the worker
count (the default executor has only a handful of threads on a small machine and a few
long watches would starve it). Waits combine a fresh read with short watch windows, so
a missed event or a dropped watch costs at most one window, and a timeout reports what
was still blocking (deployment conditions, pod states, namespace conditions).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.exceptions import ApiException

from consumer.domain import naming
from consumer.domain.endpoints import COMPONENTS, Observed, Route
from consumer.domain.errors import PermanentError, StepTimeout, TransientError

WATCH_WINDOW_SECONDS = 10


def api_client(kubeconfig: str | None) -> client.ApiClient:
    """An API client from a kubeconfig file, or the in-cluster service account."""
    if kubeconfig:
        api: client.ApiClient = config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        return api
    config.load_incluster_config()  # type: ignore[no-untyped-call]
    return client.ApiClient()


class KubeCluster:
    """Namespaces, readiness and endpoints of project releases."""

    def __init__(self, api: client.ApiClient, *, threads: int = 16) -> None:
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._net = client.NetworkingV1Api(api)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kube")

    async def _call(self, step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except ApiException as exc:
            raise _classify(step, exc) from exc

    async def _maybe(self, step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like ``_call``, but "not found" (404; 409 on create) is an answer: None."""
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, functools.partial(fn, *args, **kwargs))
        except ApiException as exc:
            if exc.status in (404, 409):
                return None
            raise _classify(step, exc) from exc

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> None:
        step = "ensure namespace"
        current = await self._maybe(step, self._core.read_namespace, name)
        if current is None:
            body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
            if await self._maybe(step, self._core.create_namespace, body) is not None:
                return
            current = await self._call(step, self._core.read_namespace, name)
        if current.status and current.status.phase == "Terminating":
            raise TransientError(step, f"namespace {name} is still terminating")
        owner = (current.metadata.labels or {}).get(naming.MANAGED_BY_LABEL)
        if owner != naming.MANAGER:
            raise PermanentError(step, f"namespace {name} exists but is not managed by devsessions")
        if any((current.metadata.labels or {}).get(k) != v for k, v in labels.items()):
            await self._call(
                step, self._core.patch_namespace, name, {"metadata": {"labels": labels}}
            )

    async def namespace_exists(self, name: str) -> bool:
        return await self._maybe("read namespace", self._core.read_namespace, name) is not None

    async def delete_namespace(self, name: str) -> None:
        step = "delete namespace"
        current = await self._maybe(step, self._core.read_namespace, name)
        if current is None:
            return
        if (current.metadata.labels or {}).get(naming.MANAGED_BY_LABEL) != naming.MANAGER:
            raise PermanentError(step, f"refusing to delete namespace {name}: not ours")
        await self._maybe(step, self._core.delete_namespace, name, propagation_policy="Background")

    async def wait_namespace_gone(self, name: str, timeout: float) -> None:
        step = "wait for namespace deletion"
        deadline = time.monotonic() + timeout
        while True:
            ns = await self._maybe(step, self._core.read_namespace, name)
            if ns is None:
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                conditions = (
                    "; ".join(
                        f"{c.type}: {c.message}"
                        for c in (ns.status.conditions or [])
                        if c.status == "True"
                    )
                    or f"phase {ns.status.phase}"
                )
                raise StepTimeout(
                    step, f"namespace {name} still present after {timeout:.0f}s ({conditions})"
                )
            await self._watch_window(
                step, self._core.list_namespace, remaining, field_selector=f"metadata.name={name}"
            )

    async def wait_deployment_available(self, namespace: str, release: str, timeout: float) -> None:
        step = "wait for deployment available"
        selector = f"app.kubernetes.io/instance={release}"
        deadline = time.monotonic() + timeout
        while True:
            deployments = await self._call(
                step, self._apps.list_namespaced_deployment, namespace, label_selector=selector
            )
            if deployments.items and all(_available(d) for d in deployments.items):
                return
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(
                    step, await self._why_not_ready(namespace, selector, deployments.items)
                )
            await self._watch_window(
                step,
                self._apps.list_namespaced_deployment,
                remaining,
                namespace,
                label_selector=selector,
            )

    async def observe(self, namespace: str, release: str) -> Observed:
        step = "read endpoints"
        selector = f"app.kubernetes.io/instance={release}"
        services = await self._call(
            step, self._core.list_namespaced_service, namespace, label_selector=selector
        )
        ingresses = await self._call(
            step, self._net.list_namespaced_ingress, namespace, label_selector=selector
        )
        by_component = {
            (s.metadata.labels or {}).get("app.kubernetes.io/component"): s for s in services.items
        }
        combined = by_component.get("session")
        if combined is None or not combined.spec.cluster_ip or combined.spec.cluster_ip == "None":
            raise TransientError(step, "the combined 'session' Service has no ClusterIP yet")
        paths = _ingress_paths(ingresses.items)
        routes: dict[str, Route] = {}
        for name in COMPONENTS:
            service = by_component.get(name)
            if service is None:
                raise PermanentError(step, f"the chart has no Service for component {name}")
            port = service.spec.ports[0].port
            routes[name] = Route(
                service.metadata.name, port, paths.get(service.metadata.name, f"/{name}")
            )
        return Observed(cluster_ip=combined.spec.cluster_ip, routes=routes)

    async def _watch_window(
        self, step: str, fn: Callable[..., Any], remaining: float, *args: Any, **kwargs: Any
    ) -> None:
        """Block until the first watch event or the end of a short window."""
        window = max(1, min(WATCH_WINDOW_SECONDS, int(remaining) + 1))

        def first_event() -> None:
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            for _ in stream.stream(fn, *args, timeout_seconds=window, **kwargs):  # type: ignore[no-untyped-call]
                stream.stop()  # type: ignore[no-untyped-call]

        await self._call(step, first_event)

    async def _why_not_ready(self, namespace: str, selector: str, deployments: list[Any]) -> str:
        if not deployments:
            return "no Deployment of the release exists"
        parts = []
        for d in deployments:
            conds = ", ".join(
                f"{c.type}={c.status} ({c.reason})" for c in (d.status.conditions or [])
            )
            parts.append(f"deployment {d.metadata.name}: {conds or 'no conditions yet'}")
        pods = await self._call(
            "wait for deployment available",
            self._core.list_namespaced_pod,
            namespace,
            label_selector=selector,
        )
        for p in pods.items:
            parts.append(f"pod {p.metadata.name}: {p.status.phase}")
        return "; ".join(parts)

    def close(self) -> None:
        """Stop the thread pool (waits for calls in flight)."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _available(deployment: Any) -> bool:
    status = deployment.status
    if (status.observed_generation or 0) < (deployment.metadata.generation or 0):
        return False
    conditions = {c.type: c.status for c in (status.conditions or [])}
    wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    return conditions.get("Available") == "True" and (status.available_replicas or 0) >= wanted


def _ingress_paths(ingresses: list[Any]) -> dict[str, str]:
    paths: dict[str, str] = {}
    for ingress in ingresses:
        for rule in ingress.spec.rules or []:
            for path in (rule.http.paths if rule.http else []) or []:
                if path.backend.service is not None:
                    paths.setdefault(path.backend.service.name, path.path)
    return paths


def _classify(step: str, exc: ApiException) -> TransientError | PermanentError:
    status = exc.status or 0
    message = f"HTTP {status} {exc.reason}"
    if status in (400, 422):
        return PermanentError(step, message)
    return TransientError(step, message)

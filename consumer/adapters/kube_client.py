"""The ``Cluster`` port on the official ``kubernetes`` client.

The client is synchronous, so calls run on a dedicated thread pool sized for the worker
count (the default executor has only a handful of threads on a small machine and a few
long watches would starve it). Waits combine a fresh read with short watch windows, so
a missed event or a dropped watch costs at most one window, and a timeout reports what
was still blocking (deployment conditions, pod states, namespace conditions).

A thread cannot be stopped, so a cancelled call is waited for (bounded by its own
request timeout or watch window) before the cancellation goes on: when an abandoned
action's task has finished cancelling, none of its API calls is still in flight to land
later, on a project another worker may own by then.
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
from urllib3.exceptions import HTTPError

from consumer.adapters.project_access import ProjectAccess
from consumer.domain import naming
from consumer.domain.endpoints import COMPONENTS, Observed, Route
from consumer.domain.errors import PermanentError, StepTimeout, TransientError

WATCH_WINDOW_SECONDS = 10
NAMESPACE_ROUNDS = 5  # read/create/wait rounds of ensure_namespace before it gives up
REQUEST_TIMEOUT = (5, 30)  # connect, read: seconds


ApiClient = client.ApiClient  # for the composition root, which must not import kubernetes


def api_client(kubeconfig: str | None, *, connections: int = 16) -> client.ApiClient:
    """An API client from a kubeconfig file, or the in-cluster service account.

    ``connections`` sizes the keep-alive pool: give it the number of threads that call
    at once. The client's default (five per CPU: 10 on a 2-core machine) is below the
    service's thread count, so every call past it opened a new TLS connection and threw
    it away: a handshake and a client-certificate check on both sides, per call.
    """
    configuration = client.Configuration()
    configuration.connection_pool_maxsize = connections
    if kubeconfig:
        api: client.ApiClient = config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=configuration
        )
        return api
    config.load_incluster_config(client_configuration=configuration)  # type: ignore[no-untyped-call]
    return client.ApiClient(configuration)


class KubeCluster:
    """Namespaces, readiness and endpoints of project releases."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        threads: int = 16,
        terminating_wait: float = 300,
        access: ProjectAccess | None = None,
    ) -> None:
        self._terminating_wait = terminating_wait
        self._access = access  # None: the credentials already hold every right (local stack)
        self._core = client.CoreV1Api(api)
        self._apps = client.AppsV1Api(api)
        self._net = client.NetworkingV1Api(api)
        self._discovery = client.DiscoveryV1Api(api)
        self._version = client.VersionApi(api)
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="kube")

    async def _call(self, step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one API call on the pool, bounded by a client-side timeout.

        A half-open connection must not hold a worker forever (the server-side
        ``timeout_seconds`` of a watch does not cover that); transport failures become
        the domain's transient errors, naming the step.
        """
        kwargs.setdefault("_request_timeout", REQUEST_TIMEOUT)
        return await self._run(step, functools.partial(fn, *args, **kwargs))

    async def _run(self, step: str, thunk: Callable[[], Any]) -> Any:
        call = self._pool.submit(thunk)
        future = asyncio.wrap_future(call)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # A call still queued is dropped; one already running cannot be stopped and is
            # waited for (bounded by its own timeouts) before the cancellation goes on.
            if not call.cancel():
                await asyncio.wait([future])
                if not future.cancelled():
                    future.exception()  # retrieved: its outcome no longer matters
            raise
        except ApiException as exc:
            raise _classify(step, exc) from exc
        except (HTTPError, OSError) as exc:
            raise TransientError(step, f"API server unreachable: {exc}") from exc

    async def _maybe(self, step: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Like ``_call``, but "not found" (404; 409 on create) is an answer: None."""
        try:
            return await self._call(step, fn, *args, **kwargs)
        except TransientError as exc:
            cause = exc.__cause__
            if isinstance(cause, ApiException) and cause.status in (404, 409):
                return None
            raise

    async def ensure_namespace(self, name: str, labels: dict[str, str]) -> bool:
        """Create the namespace, or check and label it when it exists and is ours.

        A namespace on its way out (deleted by hand, or a delete-then-create in quick
        succession) is waited for, then made afresh: not a failed attempt. The rounds and
        the total wait are bounded, so a namespace that keeps coming back Terminating is
        a transient failure of this attempt, not a wait without end. True when this call
        created it.
        """
        step = "ensure namespace"
        deadline = time.monotonic() + self._terminating_wait
        for _ in range(NAMESPACE_ROUNDS):
            current = await self._maybe(step, self._core.read_namespace, name)
            if current is None:
                body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name, labels=labels))
                if await self._maybe(step, self._core.create_namespace, body) is not None:
                    await self._grant_access(step, name)
                    return True
                continue  # lost a race with another writer (409): look again
            if current.status and current.status.phase == "Terminating":
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                await self.wait_namespace_gone(name, remaining)
                continue
            owner = (current.metadata.labels or {}).get(naming.MANAGED_BY_LABEL)
            if owner != naming.MANAGER:
                raise PermanentError(
                    step, f"namespace {name} exists but is not managed by devsessions"
                )
            await self._grant_access(step, name)  # also for namespaces made before bindings
            if any((current.metadata.labels or {}).get(k) != v for k, v in labels.items()):
                await self._call(
                    step, self._core.patch_namespace, name, {"metadata": {"labels": labels}}
                )
            return False
        raise TransientError(
            step, f"namespace {name} still terminating or contended after {NAMESPACE_ROUNDS} rounds"
        )

    async def _grant_access(self, step: str, name: str) -> None:
        """Bind the service's per-project rights in namespace ``name`` (see project_access)."""
        if self._access is not None:
            access = self._access
            await self._run(step, functools.partial(access.ensure, name, REQUEST_TIMEOUT))

    async def namespace_exists(self, name: str) -> bool:
        return await self._maybe("read namespace", self._core.read_namespace, name) is not None

    async def namespace_labels(self, name: str) -> dict[str, str] | None:
        current = await self._maybe("read namespace", self._core.read_namespace, name)
        if current is None:
            return None
        return dict(current.metadata.labels or {})

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
        selector = f"metadata.name={name}"
        deadline = time.monotonic() + timeout
        while True:
            listed = await self._call(step, self._core.list_namespace, field_selector=selector)
            if not listed.items:
                return
            ns = listed.items[0]
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
                step,
                self._core.list_namespace,
                remaining,
                listed.metadata.resource_version,
                field_selector=selector,
            )

    async def wait_ready(self, namespace: str, release: str, timeout: float) -> Observed:
        """Wait until the release's Deployment is Available and every routed Service has a
        ready endpoint; then what ``observe`` reads, from the Services the wait listed (it
        waited on those; a ClusterIP is set when a Service is created), not a second list.

        Available alone is not enough for ``SessionReady``: the Ingress controller routes
        by EndpointSlices, which the endpoint controller writes after the pod turns Ready,
        one Service at a time, so a URL announced on Available alone can answer 404 for
        a moment."""
        deadline = time.monotonic() + timeout
        await self._wait_deployment_available(namespace, release, deadline)
        services = await self._wait_endpoints_ready(namespace, release, deadline)
        return await self._observed(namespace, release, services)

    async def _wait_deployment_available(
        self, namespace: str, release: str, deadline: float
    ) -> None:
        step = "wait for deployment available"
        selector = f"app.kubernetes.io/instance={release}"
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
                deployments.metadata.resource_version,
                namespace,
                label_selector=selector,
            )

    async def _wait_endpoints_ready(
        self, namespace: str, release: str, deadline: float
    ) -> list[Any]:
        """Wait for the routed Services' endpoints; returns the release's Services."""
        step = "wait for endpoints ready"
        services = await self._call(
            step,
            self._core.list_namespaced_service,
            namespace,
            label_selector=f"app.kubernetes.io/instance={release}",
        )
        routed = {
            s.metadata.name
            for s in services.items
            if (s.metadata.labels or {}).get("app.kubernetes.io/component") in COMPONENTS
        }
        while True:
            slices = await self._call(
                step, self._discovery.list_namespaced_endpoint_slice, namespace
            )
            waiting = routed - _services_with_ready_endpoints(slices.items)
            if not waiting:
                return list(services.items)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise StepTimeout(step, f"no ready endpoint yet for {', '.join(sorted(waiting))}")
            await self._watch_window(
                step,
                self._discovery.list_namespaced_endpoint_slice,
                remaining,
                slices.metadata.resource_version,
                namespace,
            )

    async def observe(self, namespace: str, release: str) -> Observed:
        selector = f"app.kubernetes.io/instance={release}"
        services = await self._call(
            "read endpoints", self._core.list_namespaced_service, namespace, label_selector=selector
        )
        return await self._observed(namespace, release, services.items)

    async def _observed(self, namespace: str, release: str, services: list[Any]) -> Observed:
        """The endpoints from the release's ``services`` (listed by the caller) and its
        Ingresses."""
        step = "read endpoints"
        selector = f"app.kubernetes.io/instance={release}"
        ingresses = await self._call(
            step, self._net.list_namespaced_ingress, namespace, label_selector=selector
        )
        by_component = {
            (s.metadata.labels or {}).get("app.kubernetes.io/component"): s for s in services
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

    async def ping(self) -> None:
        """Raise unless the API server answers (the readiness probe: ``GET /version``)."""
        await self._call("probe API server", self._version.get_code, _request_timeout=(2, 3))

    async def workload_present(self, namespace: str, release: str) -> bool:
        deployments = await self._call(
            "read deployment",
            self._apps.list_namespaced_deployment,
            namespace,
            label_selector=f"app.kubernetes.io/instance={release}",
        )
        return bool(deployments.items) and all(
            (d.spec.replicas if d.spec.replicas is not None else 1) >= 1 for d in deployments.items
        )

    async def managed_namespaces(self) -> set[str]:
        """Names of the live (not terminating) namespaces this service manages."""
        return set(await self.managed_namespace_labels())

    async def managed_namespace_labels(self) -> dict[str, dict[str, str]]:
        """The live (not terminating) namespaces this service manages, with their labels."""
        listed = await self._call(
            "list managed namespaces",
            self._core.list_namespace,
            label_selector=f"{naming.MANAGED_BY_LABEL}={naming.MANAGER}",
        )
        return {
            ns.metadata.name: dict(ns.metadata.labels or {})
            for ns in listed.items
            if ns.status.phase != "Terminating"
        }

    async def _watch_window(
        self,
        step: str,
        fn: Callable[..., Any],
        remaining: float,
        resource_version: str,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        """Block until the first change after ``resource_version``, or a short window.

        Watching from the list's resource version means only real changes wake us (a
        watch without one replays every existing object as ADDED and returns at once).
        """
        window = max(1, min(WATCH_WINDOW_SECONDS, int(remaining) + 1))

        def first_event() -> None:
            stream = watch.Watch()  # type: ignore[no-untyped-call]
            events = stream.stream(  # type: ignore[no-untyped-call]
                fn,
                *args,
                resource_version=resource_version,
                timeout_seconds=window,
                _request_timeout=window + 5,
                **kwargs,
            )
            try:
                for _ in events:
                    stream.stop()  # type: ignore[no-untyped-call]
            except ApiException as exc:
                if exc.status != 410:  # 410 Gone: the version expired; the caller re-lists
                    raise

        await self._run(step, first_event)

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
        """Stop the thread pool without waiting: queued calls are cancelled, calls already
        running finish in their threads."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _available(deployment: Any) -> bool:
    """Available, and every replica is of the current template (no old pod counts)."""
    status, spec = deployment.status, deployment.spec
    if (status.observed_generation or 0) < (deployment.metadata.generation or 0):
        return False
    wanted = spec.replicas if spec.replicas is not None else 1
    conditions = {c.type: c.status for c in (status.conditions or [])}
    return (
        conditions.get("Available") == "True"
        and (status.updated_replicas or 0) >= wanted
        and (status.available_replicas or 0) >= wanted
        and (status.replicas or 0) == (status.updated_replicas or 0)
    )


def _services_with_ready_endpoints(slices: list[Any]) -> set[str]:
    """Names of the Services that have at least one ready endpoint among ``slices``.

    ``conditions.ready`` unset means ready (the API's documented reading)."""
    ready: set[str] = set()
    for endpoint_slice in slices:
        service = (endpoint_slice.metadata.labels or {}).get("kubernetes.io/service-name")
        for endpoint in endpoint_slice.endpoints or []:
            conditions = endpoint.conditions
            if service and (conditions is None or conditions.ready is not False):
                ready.add(service)
    return ready


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

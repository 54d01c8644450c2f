"""The Kubernetes adapter's bounds, over a stand-in API object (no cluster).

A cancelled call is waited for before the cancellation completes (a thread cannot be
stopped, and an abandoned action's call must not land later); ``ensure_namespace`` gives
up after a bounded number of rounds when the namespace keeps coming back Terminating;
``wait_ready`` lists the release's Services once, and returns the endpoints from them.
"""

from __future__ import annotations

import asyncio
import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from kubernetes import client

from consumer.adapters.kube_client import KubeCluster
from consumer.domain.errors import TransientError


def cluster() -> KubeCluster:
    return KubeCluster(client.ApiClient(), threads=2, terminating_wait=30)


async def test_a_cancelled_call_has_finished_when_the_cancellation_completes() -> None:
    kube = cluster()
    finished = threading.Event()

    def slow_create(**_: Any) -> str:
        time.sleep(0.4)
        finished.set()
        return "created"

    task = asyncio.create_task(kube._call("create something", slow_create))
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished.is_set(), "the call was still running after its task was cancelled"
    kube.close()


class FlappingNamespaces:
    """A namespace that reads as Terminating every time, yet lists as gone."""

    def __init__(self) -> None:
        self.reads = 0

    def read_namespace(self, name: str, **_: Any) -> Any:
        self.reads += 1
        return SimpleNamespace(
            status=SimpleNamespace(phase="Terminating"),
            metadata=SimpleNamespace(labels={"app.kubernetes.io/managed-by": "devsessions"}),
        )

    def list_namespace(self, **_: Any) -> Any:
        return SimpleNamespace(items=[], metadata=SimpleNamespace(resource_version="1"))


async def test_ensure_namespace_gives_up_on_a_namespace_that_keeps_terminating() -> None:
    kube = cluster()
    flapping = FlappingNamespaces()
    kube._core = flapping
    with pytest.raises(TransientError, match="still terminating"):
        await asyncio.wait_for(kube.ensure_namespace("ns", {}), 10)
    assert flapping.reads <= 10
    kube.close()


def _listed(*items: Any) -> Any:
    return SimpleNamespace(items=list(items), metadata=SimpleNamespace(resource_version="1"))


class ReadyRelease:
    """A release already Available with every routed Service ready: the stand-in for the
    Deployment, Service, EndpointSlice and Ingress APIs, counting the Service lists."""

    def __init__(self) -> None:
        self.service_lists = 0

    def list_namespaced_deployment(self, namespace: str, **_: Any) -> Any:
        available = SimpleNamespace(type="Available", status="True")
        status = SimpleNamespace(
            observed_generation=1,
            conditions=[available],
            replicas=1,
            updated_replicas=1,
            available_replicas=1,
        )
        return _listed(
            SimpleNamespace(
                metadata=SimpleNamespace(name="web", generation=1),
                spec=SimpleNamespace(replicas=1),
                status=status,
            )
        )

    def list_namespaced_service(self, namespace: str, **_: Any) -> Any:
        self.service_lists += 1
        return _listed(
            *(
                SimpleNamespace(
                    metadata=SimpleNamespace(
                        name=name, labels={"app.kubernetes.io/component": component}
                    ),
                    spec=SimpleNamespace(
                        cluster_ip="10.96.0.7", ports=[SimpleNamespace(port=port)]
                    ),
                )
                for name, component, port in (
                    ("s", "session", 80),
                    ("p", "preview", 3000),
                    ("c", "chat", 3001),
                    ("v", "vscode", 8080),
                )
            )
        )

    def list_namespaced_endpoint_slice(self, namespace: str, **_: Any) -> Any:
        return _listed(
            *(
                client.V1EndpointSlice(
                    address_type="IPv4",
                    metadata=client.V1ObjectMeta(labels={"kubernetes.io/service-name": name}),
                    endpoints=[client.V1Endpoint(addresses=["10.0.0.1"])],
                )
                for name in ("p", "c", "v")
            )
        )

    def list_namespaced_ingress(self, namespace: str, **_: Any) -> Any:
        return _listed()


async def test_wait_ready_returns_the_endpoints_from_the_services_it_listed() -> None:
    kube = cluster()
    ready = ReadyRelease()
    kube._apps = kube._core = kube._discovery = kube._net = ready
    observed = await kube.wait_ready("ns", "rel", timeout=10)
    assert ready.service_lists == 1, "the Services are listed once per wait"
    assert observed == await kube.observe("ns", "rel")
    assert observed.cluster_ip == "10.96.0.7" and observed.routes["chat"].port == 3001
    kube.close()

"""The Kubernetes adapter's bounds, over a stand-in API object (no cluster).

A cancelled call is waited for before the cancellation completes (a thread cannot be
stopped, and an abandoned action's call must not land later); ``ensure_namespace`` gives
up after a bounded number of rounds when the namespace keeps coming back Terminating.
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

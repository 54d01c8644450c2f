"""Fixtures of the fault-injection suite: the end-to-end topology (own topics, group and
database per module), a client of the stack's cluster, and the size of the storms
(``DEVSESSIONS_FAULT_SCALE``)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from devstack.record import StackInfo
from kubernetes import client, config

from tests.e2e.conftest import core, service_log, topo  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def scale() -> int:
    """Multiplier of every storm: 1 by default (sized for CI), larger by hand."""
    return max(1, int(os.environ.get("DEVSESSIONS_FAULT_SCALE", "1")))


@pytest.fixture
def api(stack: StackInfo) -> Iterator[client.ApiClient]:
    """A client of the stack's cluster, closed after the test."""
    kube = config.new_client_from_config(config_file=str(stack.kubeconfig))
    yield kube
    kube.close()

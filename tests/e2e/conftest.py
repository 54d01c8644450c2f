"""Fixtures for end-to-end tests: an isolated topology on the real local stack."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.record import StackInfo
from kubernetes import client, config

from tests.e2e.harness import Topology, make_topology


@pytest.fixture(scope="module")
def topo(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Topology:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    return make_topology(stack, tmp_path_factory.mktemp(prefix), prefix)


@pytest.fixture(scope="module")
def core(stack: StackInfo) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(stack.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def service_log(tmp_path: Path) -> Path:
    return tmp_path / "service.log"

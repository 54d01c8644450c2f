"""Fixtures for end-to-end tests: an isolated topology on the real local stack."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.record import StackInfo
from kubernetes import client, config

from tests.e2e.harness import Topology, create_database, create_topics, make_helm_wrapper


@pytest.fixture(scope="module")
def topo(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Topology]:
    prefix = f"e2e-{uuid.uuid4().hex[:8]}"
    directory = tmp_path_factory.mktemp(prefix)
    wrapper, log = make_helm_wrapper(stack.helm_binary, directory)
    database = asyncio.run(create_database(stack.database_url, prefix.replace("-", "_")))
    topo = Topology(
        stack=stack, prefix=prefix, database_url=database, helm_log=log, helm_wrapper=wrapper
    )
    asyncio.run(
        create_topics(
            stack.kafka_bootstrap_servers,
            [topo.input_topic, topo.output_topic, topo.dead_letter_topic],
        )
    )
    return topo


@pytest.fixture(scope="module")
def core(stack: StackInfo) -> Iterator[client.CoreV1Api]:
    api = config.new_client_from_config(config_file=str(stack.kubeconfig))
    yield client.CoreV1Api(api)
    api.close()


@pytest.fixture
def service_log(tmp_path: Path) -> Path:
    return tmp_path / "service.log"

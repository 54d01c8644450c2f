"""Fixtures for tests on the stack's real node (marked ``real``).

``real_node``: the stack (brought up by the session's ``stack`` fixture) with its real
node running; a node this stack was refused (another stack on the machine runs it) or
switched off (``DEVSESSIONS_REAL_NODE=0``) skips with that reason. ``probe_image``: a
tiny static HTTP server (see ``probe.c``) built with podman and imported into the node's
containerd, as the session images are.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack import api, node_images, paths
from devstack.record import StackInfo

from tests.real.pods import kubectl

PROBE_SOURCE = Path(__file__).with_name("probe.c")


@pytest.fixture(scope="session")
def real_node(stack: StackInfo) -> StackInfo:
    described = api.real_node()
    if described.get("state") != "running":
        pytest.skip(f"no real node in this stack: {described.get('detail', described)}")
    return stack


@pytest.fixture(scope="session")
def probe_image(real_node: StackInfo) -> str:
    log = paths.layout().log("node-images")
    tag, _built = node_images.ensure_static_image(
        "localhost/devsessions-probe", "1", PROBE_SOURCE.read_text(), log, user="1000:1000"
    )
    api.import_image(tag)
    return node_images.normalized(tag)


@pytest.fixture
def namespace(real_node: StackInfo) -> Iterator[str]:
    name = f"real-{uuid.uuid4().hex[:8]}"
    kubectl(real_node, "create", "namespace", name)
    kubectl(real_node, "label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    kubectl(real_node, "delete", "namespace", name, "--ignore-not-found", "--wait=true")

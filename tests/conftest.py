"""Session fixtures for tests that need real tools or the real local stack.

``helm_bin``: the pinned helm binary (built once into the cache, no cluster).
``stack``: a :class:`devstack.record.StackInfo` for the whole session. When the
service's variables (DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS, DEVSESSIONS_DATABASE_URL,
KUBECONFIG) are all set, it describes those external services; otherwise it brings the
local stack up (reusing a running one). A stack this fixture started is stopped at the
end unless DEVSESSIONS_KEEP_STACK=1. Its ``env`` holds the exports of
``devsessions stack env``: pass it to subprocesses rather than changing os.environ.
Tests that use ``stack`` are marked ``stack`` automatically.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack import api
from devstack.record import StackInfo


@pytest.fixture(scope="session")
def helm_bin() -> Path:
    return api.ensure_helm()


@pytest.fixture(scope="session")
def stack() -> Iterator[StackInfo]:
    external = api.from_env()
    if external is not None:
        yield external
        return
    started_here = api.info() is None
    info = api.up()
    yield info
    if started_here and os.environ.get("DEVSESSIONS_KEEP_STACK") != "1":
        api.down()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "stack" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.stack)

"""Fixtures of the fault-injection suite: the end-to-end topology (own topics, group and
database per module) plus the size of the storms (``DEVSESSIONS_FAULT_SCALE``)."""

from __future__ import annotations

import os

import pytest

from tests.e2e.conftest import core, service_log, topo  # noqa: F401 (fixtures)


@pytest.fixture(scope="session")
def scale() -> int:
    """Multiplier of every storm: 1 by default (sized for CI), larger by hand."""
    return max(1, int(os.environ.get("DEVSESSIONS_FAULT_SCALE", "1")))

"""The container engine for tests that run the service image: skip where none can exist.

testcontainers talks to a Docker-compatible API. The local stack serves podman's on a
socket of its own (``devstack.api.container_engine()``); an external stack may name one
in ``DOCKER_HOST``. Where neither exists the tests skip and say how to get one, except
where one must exist: under CI (``CI=true``) and wherever podman works on this machine
(the stack then must have served it), a missing engine fails instead of hiding the tests.
"""

from __future__ import annotations

import os

import pytest
from devstack import api, engine

HOW = (
    "install podman and runc (Debian: apt-get install podman runc; "
    "`devsessions stack up` does it as root) or point DOCKER_HOST at a Docker engine"
)


def docker_host() -> str:
    """``DOCKER_HOST`` for testcontainers, or skip/fail with the reason."""
    if api.from_env() is not None and os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"]
    served = api.container_engine()
    if served is not None:
        return served
    unavailable = engine.unavailable_reason()
    reason = unavailable or "podman works here but the stack serves no engine API (stack up?)"
    if os.environ.get("CI") == "true" or unavailable is None:
        pytest.fail(f"a container engine must exist here: {reason}")
    pytest.skip(f"{reason}: {HOW}")

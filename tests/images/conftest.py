"""Fixtures for the local images: a working podman, the images built once, containers run.

Every test here needs a container engine: where podman is missing or cannot run a
container (a user's machine without it), they skip and say how to get one; on this
machine kind the stack installs podman and they run. Containers are started with the
restrictions of the chart's Pod Security ``restricted`` context (no capabilities, no
privilege escalation) and removed afterwards.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from devstack import engine, local_images


@pytest.fixture(scope="session")
def container_engine() -> None:
    reason = engine.unavailable_reason()
    if reason is not None:
        pytest.skip(f"{reason} (podman with runc; `devsessions stack up` installs it as root)")


@pytest.fixture(scope="session")
def build_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("images") / "build.log"


@pytest.fixture(scope="session")
def session_images(container_engine: None, build_log: Path) -> dict[str, str]:
    """name -> tag of the base and the session's three images (built or cached)."""
    return {b.name: b.tag for b in local_images.ensure_all(build_log, service=False)}

"""When the image tests may skip for want of a container engine, and when that must fail."""

from __future__ import annotations

import pytest
from devstack import api, engine

from tests.e2e import engine as e2e_engine

SOCKET = "unix:///state/engine/podman.sock"


@pytest.fixture(autouse=True)
def local_stack(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "from_env", lambda: None)
    monkeypatch.delenv("CI", raising=False)


def test_the_stacks_engine_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "container_engine", lambda: SOCKET)
    assert e2e_engine.docker_host() == SOCKET


def test_no_engine_on_a_users_machine_skips_and_says_how(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "container_engine", lambda: None)
    monkeypatch.setattr(engine, "unavailable_reason", lambda: "no container engine: x")
    with pytest.raises(pytest.skip.Exception, match="apt-get install podman"):
        e2e_engine.docker_host()


def test_no_engine_under_ci_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "container_engine", lambda: None)
    monkeypatch.setattr(engine, "unavailable_reason", lambda: "no container engine: x")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="must exist"):
        e2e_engine.docker_host()


def test_podman_working_but_not_served_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api, "container_engine", lambda: None)
    monkeypatch.setattr(engine, "unavailable_reason", lambda: None)
    with pytest.raises(pytest.fail.Exception, match="serves no engine"):
        e2e_engine.docker_host()

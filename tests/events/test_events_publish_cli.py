"""``devsessions publish`` without Kafka: input is refused before anything is sent, and an
unreachable broker is a quick, clear failure (exit 1)."""

from __future__ import annotations

import socket
import time

import pytest
from typer.testing import CliRunner

from consumer.cli.publish import app

UUID = "0b5c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"


@pytest.fixture
def closed_port() -> int:
    """A local port with nothing listening (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def _run(args: list[str], servers: str = "127.0.0.1:1") -> tuple[int, str]:
    result = CliRunner().invoke(app, args, env={"DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS": servers})
    return result.exit_code, result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["project-created", UUID.upper(), "--user-id", "1", "--project-id", "2"],
            "invalid event: project_uuid: must be a canonical lowercase UUID",
        ),
        (
            ["project-created", UUID, "--user-id", "-1", "--project-id", "2"],
            "invalid event: user_id: Input should be greater than or equal to 0",
        ),
        (
            ["project-created", UUID, "--user-id", "1", "--project-id", "2",
             "--override-json", '{"memory_request": "8Gi"}'],
            "invalid event: overrides.memory_request: must be more than 0 and at most 4Gi",
        ),
        (
            ["project-created", UUID, "--user-id", "1", "--project-id", "2",
             "--override-json", "{not json"],
            "invalid event: overrides: Invalid JSON",
        ),
        (
            ["project-deleted", "urn:uuid:" + UUID],
            "invalid event: project_uuid: must be a canonical lowercase UUID",
        ),
    ],
)  # fmt: skip
def test_invalid_input_exits_2_with_the_reason(args: list[str], message: str) -> None:
    code, stderr = _run(args)
    assert code == 2
    assert stderr.startswith(f"error: {message}")


def test_missing_required_option_is_a_usage_error() -> None:
    code, stderr = _run(["project-created", UUID, "--user-id", "1"])
    assert code == 2
    assert "--project-id" in stderr


def test_unreachable_kafka_fails_fast_with_exit_1(closed_port: int) -> None:
    started = time.monotonic()
    code, stderr = _run(["project-deleted", UUID, "--timeout", "5"], f"127.0.0.1:{closed_port}")
    assert code == 1
    assert f"error: cannot publish to Kafka at 127.0.0.1:{closed_port}" in stderr
    assert time.monotonic() - started < 5

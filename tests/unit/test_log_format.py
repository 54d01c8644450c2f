"""Logged exceptions keep their traceback in both formats (JSON for production, console
for people), and the console one is plain text (cheap to render in a storm of retries)."""

from __future__ import annotations

import json
import logging

import pytest
import structlog

from consumer.observability import logging as logs


def _log_a_failure() -> None:
    try:
        raise ValueError("the database went away")
    except ValueError:
        structlog.get_logger("test").exception("step failed", project_uuid="p")


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    handlers, level = logging.getLogger().handlers[:], logging.getLogger().level
    yield None
    logging.getLogger().handlers[:] = handlers
    logging.getLogger().setLevel(level)
    structlog.reset_defaults()


def test_json_lines_carry_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=True)
    _log_a_failure()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "step failed" and line["project_uuid"] == "p"
    assert "Traceback (most recent call last)" in line["exception"]
    assert "ValueError: the database went away" in line["exception"]


def test_console_lines_carry_a_plain_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("INFO", json=False)
    _log_a_failure()
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "ValueError: the database went away" in err
    assert "╭" not in err, "rich box drawing: the expensive formatter"

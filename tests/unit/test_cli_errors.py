"""The CLI reports an unreachable database in one line, without a traceback (the unit of
work raises ``DatabaseUnavailable`` for it)."""

from __future__ import annotations

import socket
import subprocess
import sys


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sessions_list_with_the_database_down_prints_one_line() -> None:
    url = f"postgresql+asyncpg://nobody@127.0.0.1:{_closed_port()}/none"
    result = subprocess.run(
        [sys.executable, "-c", "from consumer.cli.main import main; main()", "sessions", "list"],
        env={"DEVSESSIONS_DATABASE_URL": url, "PATH": ""},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: database unavailable:"), result.stderr
    assert "Traceback" not in result.stderr

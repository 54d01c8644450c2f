"""Named, timed steps of ``stack up`` and how they are reported.

Every step has a name and a log file; a failure is raised as :class:`StepFailed`
naming both, so the CLI can say exactly what broke and where to look. While a step
runs, a reporter that has a ``progress`` method is told every few seconds the elapsed
time and the last line of the step's log (during a cold build: the package Go is
compiling), so a build of several minutes never shows one static line. Reporting goes
through the small :class:`Reporter` protocol (the CLI renders it with rich; tests
and library callers may pass nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable


class StepFailed(RuntimeError):
    """Step ``step`` failed; its details are in ``log``."""

    def __init__(self, step: str, log: Path, cause: BaseException) -> None:
        super().__init__(f"step '{step}' failed: {cause} (log: {log})")
        self.step = step
        self.log = log
        self.cause = cause


class Reporter(Protocol):
    def started(self, step: str) -> None: ...

    def finished(self, step: str, seconds: float, note: str) -> None: ...

    def failed(self, step: str, seconds: float, log: Path) -> None: ...


@runtime_checkable
class ProgressReporter(Reporter, Protocol):
    """A reporter that also shows what a long step is doing while it runs."""

    def progress(self, step: str, seconds: float, text: str) -> None: ...


HEARTBEAT_SECONDS = 2.0


def last_line(log: Path, limit: int = 4096) -> str:
    """The log's last non-empty line (what a long build is doing right now)."""
    try:
        with log.open("rb") as handle:
            handle.seek(max(0, log.stat().st_size - limit))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except OSError:
        return ""
    return next((line.strip() for line in reversed(lines) if line.strip()), "")


def _heartbeat(reporter: ProgressReporter, name: str, log: Path, begin: float) -> threading.Event:
    done = threading.Event()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            reporter.progress(name, time.monotonic() - begin, last_line(log))

    threading.Thread(target=beat, name=f"progress {name}", daemon=True).start()
    return done


class NullReporter:
    def started(self, step: str) -> None:
        pass

    def finished(self, step: str, seconds: float, note: str) -> None:
        pass

    def failed(self, step: str, seconds: float, log: Path) -> None:
        pass


@dataclass
class Note:
    """What the body of a step tells about its outcome (e.g. "cached", "started")."""

    text: str = ""


@contextmanager
def step(reporter: Reporter, name: str, log: Path) -> Iterator[Note]:
    """Time the body; report it; turn any exception into :class:`StepFailed`."""
    note = Note()
    begin = time.monotonic()
    reporter.started(name)
    beating = (
        _heartbeat(reporter, name, log, begin) if isinstance(reporter, ProgressReporter) else None
    )
    try:
        yield note
    except StepFailed:
        raise
    except Exception as exc:
        reporter.failed(name, time.monotonic() - begin, log)
        raise StepFailed(name, log, exc) from exc
    finally:
        if beating is not None:
            beating.set()
    reporter.finished(name, time.monotonic() - begin, note.text)

"""Named, timed steps of ``stack up`` and how they are reported.

Every step has a name and a log file; a failure is raised as :class:`StepFailed`
naming both, so the CLI can say exactly what broke and where to look. Reporting goes
through the small :class:`Reporter` protocol (the CLI renders it with rich; tests
and library callers may pass nothing).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol


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
    try:
        yield note
    except StepFailed:
        raise
    except Exception as exc:
        reporter.failed(name, time.monotonic() - begin, log)
        raise StepFailed(name, log, exc) from exc
    reporter.finished(name, time.monotonic() - begin, note.text)

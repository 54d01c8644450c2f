"""Processes of the stack: run a command to completion, or start a long-lived one.

Long-lived processes start in their own session (so their process group is theirs
alone) with output appended to one log file, and are recorded in a pid file as
``<pid> <start time>``: the start time (from /proc) guards against a recycled pid, so
``stop`` only ever signals the process group this stack started.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path


class CommandError(RuntimeError):
    """A command failed; its output is in ``log``."""

    def __init__(self, argv: Sequence[str], code: int, log: Path) -> None:
        super().__init__(f"`{' '.join(argv[:3])} ...` exited with {code} (see {log})")
        self.log = log


def run_logged(
    argv: Sequence[str],
    log: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float | None = None,
    user: str | None = None,
) -> str:
    """Run ``argv`` to completion, appending its output to ``log``; return its stdout."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.run(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=out,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            timeout=timeout,
            check=False,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
        out.write(proc.stdout)
    if proc.returncode != 0:
        raise CommandError(argv, proc.returncode, log)
    return proc.stdout.decode("utf-8", "replace")


@dataclass(frozen=True)
class PidRecord:
    pid: int
    start_time: int

    def render(self) -> str:
        return f"{self.pid} {self.start_time}\n"

    @staticmethod
    def parse(text: str) -> PidRecord | None:
        parts = text.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            return None
        return PidRecord(int(parts[0]), int(parts[1]))


def _stat(pid: int) -> tuple[str, int] | None:
    """(state letter, start time in clock ticks) of a process, from /proc."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    return fields[0], int(fields[19])


def is_zombie(pid: int) -> bool:
    stat = _stat(pid)
    return stat is not None and stat[0] == "Z"


def start_time(pid: int) -> int:
    stat = _stat(pid)
    if stat is None:
        raise ProcessLookupError(pid)
    return stat[1]


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def is_alive(record: PidRecord) -> bool:
    """True when the recorded process still runs (not a zombie, not a recycled pid)."""
    stat = _stat(record.pid)
    if stat is not None and stat[0] == "Z":
        _reap(record.pid)
        stat = _stat(record.pid)
    return stat is not None and stat[0] != "Z" and stat[1] == record.start_time


def read_pid(pid_file: Path) -> PidRecord | None:
    try:
        return PidRecord.parse(pid_file.read_text())
    except FileNotFoundError:
        return None


def running(pid_file: Path) -> PidRecord | None:
    record = read_pid(pid_file)
    return record if record is not None and is_alive(record) else None


def spawn(
    argv: Sequence[str],
    log: Path,
    pid_file: Path,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
) -> PidRecord:
    """Start ``argv`` detached in a new session; record it in ``pid_file``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            list(argv),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
            user=user,
            group=user,
            extra_groups=[] if user else None,
        )
    record = PidRecord(proc.pid, start_time(proc.pid))
    pid_file.write_text(record.render())
    return record


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is ``pgid``, from /proc."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        if fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return members


def _group_alive(pgid: int) -> bool:
    return bool(group_members(pgid))


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


def stop(record: PidRecord, *, first: signal.Signals = signal.SIGTERM, grace: float = 20.0) -> None:
    """Stop the process group led by ``record``: ``first`` to the leader, then SIGKILL."""
    if is_alive(record):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, first)
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and is_alive(record):
            time.sleep(0.1)
    # Whatever the leader left behind in its group goes too (the group id is its pid).
    # A pid is not reused while its process group exists, so a live group whose leader
    # is gone is ours; a live leader with another start time is someone else's.
    stat = _stat(record.pid)
    if stat is not None and stat[1] != record.start_time:
        return
    if _group_alive(record.pid):
        _signal_group(record.pid, signal.SIGTERM)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(record.pid):
            _reap(record.pid)
            time.sleep(0.1)
        _signal_group(record.pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _group_alive(record.pid):
            _reap(record.pid)
            time.sleep(0.05)
    _reap(record.pid)


def stop_pid_file(
    pid_file: Path, *, first: signal.Signals = signal.SIGTERM, grace: float = 20.0
) -> bool:
    """Stop what ``pid_file`` records (if still ours and running); remove the file."""
    record = read_pid(pid_file)
    if record is None:
        pid_file.unlink(missing_ok=True)
        return False
    was_alive = is_alive(record)
    stop(record, first=first, grace=grace)
    pid_file.unlink(missing_ok=True)
    return was_alive

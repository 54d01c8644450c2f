"""Optional sampling profile of the service process (py-spy, from the ``bench`` extra).

``py-spy record`` attaches to the child ``devsessions run`` by pid (non-blocking, so the
service is not paused) and writes collapsed stacks; ``top`` folds them into the
functions where the service spent its samples, for BENCHMARKS.md.
"""

from __future__ import annotations

import collections
import contextlib
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


@contextlib.contextmanager
def recording(pid: int, out: Path | None) -> Iterator[None]:
    """Record ``pid`` into ``out`` (collapsed stacks) while the block runs."""
    tool = py_spy()
    if out is None or tool is None:
        yield
        return
    argv = [tool, "record", "--pid", str(pid), "--nonblocking", "--subprocesses"]
    argv += ["--format", "raw", "--rate", "50", "--output", str(out)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()


def top(collapsed: str, limit: int = 15) -> list[tuple[str, float]]:
    """Share of samples per function, counting a function once per stack (inclusive)."""
    counts: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        total += int(n)
        for frame in set(stack.split(";")):
            counts[frame] += int(n)
    if not total:
        return []
    return [(frame, n / total) for frame, n in counts.most_common(limit)]

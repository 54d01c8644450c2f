"""Finished artefacts in the cache, written atomically under a lock.

An artefact is a directory ``<cache>/<component>/<version>`` that contains the
expected files and a ``.complete`` marker naming the recipe it was built with (e.g.
module, version and linker flags). It is built in a temporary sibling directory and
renamed into place, so an interrupted build never leaves something that looks cached,
and a directory made some other way, or with another recipe, is rebuilt. A
per-component file lock keeps two concurrent ``up`` runs from building the same thing
twice.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from devstack import paths


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


MARKER = ".complete"


def is_complete(directory: Path, expected: Sequence[str], recipe: str = "") -> bool:
    marker = directory / MARKER
    return (
        marker.is_file()
        and marker.read_text() == recipe
        and all((directory / name).exists() for name in expected)
    )


def ensure(
    component: str,
    version: str,
    expected: Sequence[str],
    build: Callable[[Path], None],
    *,
    recipe: str = "",
) -> tuple[Path, bool]:
    """Return ``(artefact dir, built_now)``, calling ``build(tmp_dir)`` when not cached."""
    final = paths.cache_dir(component, version)
    if is_complete(final, expected, recipe):
        return final, False
    with file_lock(final.parent / ".lock"):
        if is_complete(final, expected, recipe):
            return final, False
        tmp = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=final.parent))
        old = final.parent / f".{version}.old"
        try:
            build(tmp)
            missing = [name for name in expected if not (tmp / name).exists()]
            if missing:
                raise RuntimeError(f"{component} {version}: build produced no {missing}")
            (tmp / MARKER).write_text(recipe)
            tmp.chmod(0o755)
            if final.exists():  # not ours, or another recipe: move it aside, then swap
                shutil.rmtree(old, ignore_errors=True)
                os.rename(final, old)
            os.rename(tmp, final)
        finally:
            for leftover in (tmp, old):
                if leftover.exists():
                    shutil.rmtree(leftover, ignore_errors=True)
    return final, True

"""Where the stack keeps things: the build cache and the running state.

Cache: ``${DEVSESSIONS_CACHE_DIR:-${XDG_CACHE_HOME:-~/.cache}/devsessions}``, holding
``<component>/<version>/...`` artefacts that survive ``stack down``.
State: ``${DEVSESSIONS_STATE_DIR:-<repo>/.state}/stack``, holding data directories,
one log per component, pid files, the kubeconfig and ``stack.json``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

# deploy/local/devstack/paths.py -> the repository root is three levels up.
REPO_ROOT = Path(__file__).resolve().parents[3]


def cache_root() -> Path:
    """Root of the build cache (created on demand)."""
    explicit = os.environ.get("DEVSESSIONS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser().resolve()
    xdg = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return (Path(xdg).expanduser() / "devsessions").resolve()


def cache_dir(component: str, version: str) -> Path:
    """Directory of one finished artefact: ``<cache>/<component>/<version>``."""
    return cache_root() / component / version


def state_root() -> Path:
    """The stack's state directory, ``<state>/stack``."""
    explicit = os.environ.get("DEVSESSIONS_STATE_DIR")
    base = Path(explicit).expanduser() if explicit else REPO_ROOT / ".state"
    return (base / "stack").resolve()


@dataclass(frozen=True)
class StateLayout:
    """Named places inside the state directory."""

    root: Path

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pids(self) -> Path:
        return self.root / "pids"

    @property
    def stack_json(self) -> Path:
        return self.root / "stack.json"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pid(self, component: str) -> Path:
        return self.pids / f"{component}.pid"

    def data(self, component: str) -> Path:
        return self.root / component


def layout() -> StateLayout:
    return StateLayout(state_root())

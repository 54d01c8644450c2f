"""The stack's ``helm`` (Helm 4), built from the Go module proxy into the cache.

Layout ``<cache>/helm/<version>/helm``; the version is stamped into the binary so
``helm version`` tells the pinned release.
"""

from __future__ import annotations

from pathlib import Path

from devstack import build_go, cache
from devstack.pins import Pins


def ldflags(version: str) -> str:
    return f"-s -w -X helm.sh/helm/v4/internal/version.version={version}"


def ensure(pins: Pins, log: Path) -> tuple[Path, bool]:
    """Return ``(path of helm, built_now)``."""
    pin = pins.helm

    def build(out: Path) -> None:
        build_go.build(pin, out, log, ldflags=ldflags(pin.version))

    recipe = f"{pin.module}@{pin.version} {ldflags(pin.version)}"
    directory, built = cache.ensure("helm", pin.version, ["helm"], build, recipe=recipe)
    return directory / "helm", built

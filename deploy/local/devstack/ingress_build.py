"""The Ingress controller's binary: Traefik v3, built from the Go module proxy.

Why Traefik: it is one Go module on the proxy (ingress-nginx needs an nginx build with
its Lua modules, which no registry here ships), it runs as a plain process outside the
cluster with a kubeconfig, and its kubernetesIngress provider reads standard Ingresses
and EndpointSlices; path prefixes are handled by its StripPrefix middleware.

Traefik's go.mod has ``replace`` directives, which ``go install module@version`` refuses,
so the build runs inside the downloaded module itself (``go mod download`` gives its
directory; the module cache is read-only, so nothing is written there) with the version
stamped in. Layout: ``<cache>/traefik/<version>/traefik``.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from devstack import build_go, cache, procs
from devstack.pins import GoPin

COMPONENT = "traefik"


def ldflags(pin: GoPin) -> str:
    return f"-s -w -X {pin.module}/pkg/version.Version={pin.version}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in build_go.go_env().items() if k != "GOFLAGS"}
    env.update({"CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly"})
    return env


def module_dir(pin: GoPin, log: Path) -> Path:
    """The module's source in Go's module cache (downloaded when missing)."""
    out = procs.run_logged(
        [build_go.go_binary(), "mod", "download", "-json", f"{pin.module}@{pin.version}"],
        log,
        env=_env(),
        cwd=Path(tempfile.gettempdir()),  # outside any module: a plain download
    )
    return Path(json.loads(out)["Dir"])


def ensure(pin: GoPin, log: Path) -> tuple[Path, bool]:
    """Return ``(path of the traefik binary, built_now)``."""

    def build(out: Path) -> None:
        source = module_dir(pin, log)
        packages = [f"./{command}" for command in pin.commands]
        argv = [build_go.go_binary(), "build", "-trimpath", "-ldflags", ldflags(pin)]
        procs.run_logged([*argv, "-o", f"{out}/", *packages], log, env=_env(), cwd=source)

    recipe = f"{pin.module}@{pin.version} {ldflags(pin)}"
    directory, built = cache.ensure(COMPONENT, pin.version, ["traefik"], build, recipe=recipe)
    return directory / "traefik", built

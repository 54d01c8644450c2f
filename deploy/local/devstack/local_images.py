"""Every image the local stack builds, and the chart values that use them.

Without a registry, images are built here with podman and referenced by local tags with
``imagePullPolicy: Never``: the debootstrap base, the session's preview and chat pages
and VS Code (code-server), and the service itself from ``deploy/container/Containerfile``
(its public base images replaced by local stand-ins through its build arguments).
Containerfiles live under ``deploy/images/``; each image is skipped when its content key
is unchanged (:mod:`devstack.imagebuild`).
"""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack import base_image, build_go, image_pins, imagebuild, paths, pins
from devstack.imagebuild import ImageSpec
from devstack.steps import Note

IMAGES_DIR = paths.REPO_ROOT / "deploy" / "images"
SERVICE_CONTAINERFILE = paths.REPO_ROOT / "deploy" / "container" / "Containerfile"
SERVICE_SOURCES = (
    "pyproject.toml",
    "README.md",
    "consumer",
    "events",
    "deploy/local/devstack",
    "helm/dev-session-template",
)
SESSION_IMAGES = ("preview", "chat", "vscode")
PAGE_PORTS = {"preview": "3000", "chat": "3001"}


@dataclass(frozen=True)
class Built:
    """What one ensure step did: the tag and whether it was built now."""

    name: str
    tag: str
    built: bool


# Wraps the build of one image (by name) in a step whose note tells the outcome.
Around = Callable[[str], AbstractContextManager[Note]]


def _go_env(name: str) -> str:
    out = subprocess.run(
        [build_go.go_binary(), "env", name], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def page_spec(endpoint: str, base: str) -> ImageSpec:
    context = IMAGES_DIR / "page"
    return ImageSpec(
        name=endpoint,
        context=context,
        containerfile=context / "Containerfile",
        build_args={
            "BASE_IMAGE": base,
            "ENDPOINT": endpoint,
            "PORT": PAGE_PORTS[endpoint],
        },
        base=base,
    )


def vscode_spec(base: str) -> ImageSpec:
    pin = image_pins.load().vscode
    context = IMAGES_DIR / "vscode"
    return ImageSpec(
        name="vscode",
        context=context,
        containerfile=context / "Containerfile",
        build_args={
            "BASE_IMAGE": base,
            "CODE_SERVER_VERSION": pin.code_server,
            "NODE_WHEEL_VERSION": pin.node_wheel,
        },
        base=base,
    )


def python_spec(base: str) -> ImageSpec:
    context = IMAGES_DIR / "python"
    return ImageSpec(
        name="python",
        context=context,
        containerfile=context / "Containerfile",
        build_args={"BASE_IMAGE": base},
        base=base,
    )


def go_spec(base: str) -> ImageSpec:
    """The host's Go toolchain as an image; its VERSION file stands for its content."""
    goroot = Path(_go_env("GOROOT"))
    return ImageSpec(
        name="go",
        context=goroot,
        containerfile=IMAGES_DIR / "go" / "Containerfile",
        build_args={"BASE_IMAGE": base},
        sources=("VERSION",),
        base=base,
    )


def service_spec(python: str, go: str) -> ImageSpec:
    """The service image, with Go's module and build caches mounted into its helm stage."""
    volumes = [
        f"{_go_env('GOMODCACHE')}:/go/pkg/mod",
        f"{_go_env('GOCACHE')}:/root/.cache/go-build",
    ]
    return ImageSpec(
        name="service",
        context=paths.REPO_ROOT,
        containerfile=SERVICE_CONTAINERFILE,
        ignorefile=SERVICE_CONTAINERFILE.parent / "Containerfile.dockerignore",
        build_args={
            "PYTHON_IMAGE": python,
            "GO_IMAGE": go,
            "HELM_VERSION": pins.load().helm.version,
        },
        sources=SERVICE_SOURCES,
        base=python,
        volumes=volumes,
    )


def _quietly(_name: str) -> AbstractContextManager[Note]:
    return contextlib.nullcontext(Note())


def ensure_all(log: Path, *, service: bool = True, around: Around | None = None) -> list[Built]:
    """Build (or find) every local image; return them in build order, base first.

    ``around(name)`` wraps each image's step (``stack up`` passes a timed, reported step,
    so a long build shows which image it is and for how long); its note says the outcome.
    """
    wrap = around or _quietly
    with wrap("base") as note:
        base, fresh = base_image.ensure(image_pins.load().base, log)
        note.text = "built" if fresh else "cached"
    done = [Built("base", base, fresh)]

    def build(spec: ImageSpec) -> str:
        with wrap(spec.name) as note:
            result = imagebuild.ensure(spec, log)
            note.text = ("built " if result.built else "cached ") + result.tag.rpartition(":")[2]
        done.append(Built(spec.name, result.tag, result.built))
        return result.tag

    for endpoint in PAGE_PORTS:
        build(page_spec(endpoint, base))
    build(vscode_spec(base))
    if service:
        build(service_spec(build(python_spec(base)), build(go_spec(base))))
    return done


def chart_values(tags: dict[str, str]) -> dict[str, Any]:
    """Values for dev-session-template that run the session on the local images."""
    return {
        "containers": {
            name: {"image": tags[name], "imagePullPolicy": "Never", "command": [], "args": []}
            for name in ("preview", "chat")
        }
        | {"vscode": {"image": tags["vscode"], "imagePullPolicy": "Never"}},
    }

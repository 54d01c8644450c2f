"""Build a container image with podman, skipped when its content key is unchanged.

The content key hashes what decides the image: the Containerfile, the files it may copy
(the listed sources under the context, caches and bytecode left out), the build
arguments and the id of the base image. The key is the image's tag
(``localhost/devsessions/<name>:<key>``), so "the tag exists" is the cache hit, a change
anywhere gives a new tag (a pod spec that names it rolls out), and podman's own storage
and layer cache hold the result. After a build, only the newest :data:`KEEP` images of
a name are kept: enough that two checkouts on one machine (a working stack and a
fresh-clone test run) do not remove each other's current image, bounded on disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from devstack import engine

REPOSITORY = "localhost/devsessions"
SKIPPED_DIRS = frozenset({"__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".git"})
KEY_LENGTH = 16
KEEP = 3


@dataclass(frozen=True)
class ImageSpec:
    """One image to build: where from, with what, and what decides its content."""

    name: str
    context: Path
    containerfile: Path
    build_args: Mapping[str, str] = field(default_factory=dict)
    # Paths under ``context`` whose content goes into the key; empty = the whole context.
    sources: Sequence[str] = ()
    ignorefile: Path | None = None
    # The tag of the base image: its id goes into the key.
    base: str = ""
    # ``podman build --volume`` mounts (build caches); not part of the key.
    volumes: Sequence[str] = ()


@dataclass(frozen=True)
class BuiltImage:
    tag: str
    built: bool


def _files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        for name in sorted(files):
            if not name.endswith((".pyc", ".pyo")):
                yield Path(directory) / name


def content_key(spec: ImageSpec) -> str:
    """Hex digest of everything that decides the image ``spec`` describes."""
    digest = hashlib.sha256()
    digest.update(spec.containerfile.read_bytes())
    if spec.ignorefile is not None:
        digest.update(spec.ignorefile.read_bytes())
    for name, value in sorted(spec.build_args.items()):
        digest.update(f"\0arg {name}={value}".encode())
    if spec.base:
        digest.update(f"\0base {engine.image_id(spec.base) or spec.base}".encode())
    roots = [spec.context / s for s in spec.sources] if spec.sources else [spec.context]
    for root in roots:
        if not root.exists():
            raise FileNotFoundError(f"image {spec.name}: source {root} does not exist")
        for path in _files(root):
            relative = path.relative_to(spec.context).as_posix()
            mode = "x" if os.access(path, os.X_OK) else "-"
            digest.update(f"\0file {relative} {mode}\0".encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:KEY_LENGTH]


def tag_for(spec: ImageSpec) -> str:
    return f"{REPOSITORY}/{spec.name}:{content_key(spec)}"


def _build_argv(spec: ImageSpec, tag: str) -> list[str]:
    argv = ["build", "--pull=never", "--layers", "-t", tag, "-f", str(spec.containerfile)]
    if spec.ignorefile is not None:
        argv += ["--ignorefile", str(spec.ignorefile)]
    for name, value in sorted(spec.build_args.items()):
        argv += ["--build-arg", f"{name}={value}"]
    for volume in spec.volumes:
        argv += ["--volume", volume]
    return [*argv, str(spec.context)]


def tags_newest_first(name: str) -> list[str]:
    """Tags of ``localhost/devsessions/<name>``, the most recently built image first."""
    repository = f"{REPOSITORY}/{name}"
    listed = engine.run(
        ["images", "--format", "{{.Repository}}:{{.Tag}}", repository], Path(os.devnull)
    )
    tags = [t for t in listed.split() if t.startswith(f"{repository}:")]
    if not tags:
        return []
    created = engine.run(
        ["image", "inspect", "--format", "{{.Created.UnixNano}}", *tags], Path(os.devnull)
    ).split()
    return [tag for _, tag in sorted(zip(map(int, created), tags, strict=True), reverse=True)]


def prune(name: str, log: Path, *, keep: int = KEEP) -> list[str]:
    """Remove all but the newest ``keep`` tags of ``name``; return the removed tags."""
    removed = tags_newest_first(name)[keep:]
    for tag in removed:
        engine.run(["rmi", "--ignore", tag], log)
    return removed


def ensure(spec: ImageSpec, log: Path) -> BuiltImage:
    """The image for ``spec``: reused when its tag exists, else built and tagged."""
    tag = tag_for(spec)
    if engine.image_exists(tag):
        return BuiltImage(tag, built=False)
    engine.build(_build_argv(spec, tag), log)
    prune(spec.name, log)
    return BuiltImage(tag, built=True)

"""Version pins of the stack's images and Ingress controller, read from ``images.toml``.

Pure data, like :mod:`devstack.pins`; a separate file so that image and controller bumps
stay one edit apart from the processes' pins.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from devstack.pins import GoPin


@dataclass(frozen=True)
class BasePin:
    suite: str
    variant: str
    release: str

    @property
    def version(self) -> str:
        """Cache key and tag of the base: ``<suite>-<variant>-<release>``."""
        return f"{self.suite}-{self.variant}-{self.release}"


@dataclass(frozen=True)
class VscodePin:
    code_server: str
    node_wheel: str


@dataclass(frozen=True)
class ImagePins:
    base: BasePin
    vscode: VscodePin
    traefik: GoPin


def parse(text: str) -> ImagePins:
    data = tomllib.loads(text)
    base, vscode, traefik = data["base"], data["vscode"], data["traefik"]
    return ImagePins(
        base=BasePin(str(base["suite"]), str(base["variant"]), str(base["release"])),
        vscode=VscodePin(str(vscode["code_server"]), str(vscode["node_wheel"])),
        traefik=GoPin(
            module=str(traefik["module"]),
            version=str(traefik["version"]),
            commands=tuple(str(c) for c in traefik["commands"]),
        ),
    )


@cache
def load() -> ImagePins:
    """The pins shipped with this package."""
    return parse(resources.files("devstack").joinpath("images.toml").read_text("utf-8"))

"""Version pins of the local stack, read from the package's ``versions.toml``.

One file holds every version so that a bump is one edit and the cache (keyed by
component and version) follows it. Pure data: nothing here touches the machine.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class GoPin:
    """A Go module at one version and the commands built from it."""

    module: str
    version: str
    commands: tuple[str, ...]


@dataclass(frozen=True)
class KafkaPin:
    group: str
    artifact: str
    version: str
    log4j: str
    heap: str


@dataclass(frozen=True)
class PostgresPin:
    package: str
    min_major: int


@dataclass(frozen=True)
class NodePin:
    """The real node's Debian packages, pod network and pause image tag."""

    packages: tuple[str, ...]
    pod_cidr: str
    pause_tag: str


@dataclass(frozen=True)
class Pins:
    kubernetes: GoPin
    kubernetes_node: GoPin
    kubernetes_staging_version: str
    etcd: GoPin
    kwok: GoPin
    helm: GoPin
    kafka: KafkaPin
    postgresql: PostgresPin
    node: NodePin


def _go(table: dict[str, object], default_command: str = "") -> GoPin:
    commands = table.get("commands", [default_command])
    assert isinstance(commands, list)
    return GoPin(
        module=str(table["module"]),
        version=str(table["version"]),
        commands=tuple(str(c) for c in commands),
    )


def parse(text: str) -> Pins:
    """Turn the TOML text of ``versions.toml`` into :class:`Pins`."""
    data = tomllib.loads(text)
    kube, kafka, pg, node = data["kubernetes"], data["kafka"], data["postgresql"], data["node"]
    return Pins(
        kubernetes=_go(kube),
        kubernetes_node=_go({**kube, "commands": kube["node_commands"]}),
        kubernetes_staging_version=str(kube["staging_version"]),
        etcd=_go(data["etcd"]),
        kwok=_go(data["kwok"]),
        helm=_go(data["helm"], "cmd/helm"),
        kafka=KafkaPin(
            group=str(kafka["group"]),
            artifact=str(kafka["artifact"]),
            version=str(kafka["version"]),
            log4j=str(kafka["log4j"]),
            heap=str(kafka["heap"]),
        ),
        postgresql=PostgresPin(package=str(pg["package"]), min_major=int(pg["min_major"])),
        node=NodePin(
            packages=tuple(str(name) for name in node["packages"]),
            pod_cidr=str(node["pod_cidr"]),
            pause_tag=str(node["pause_tag"]),
        ),
    )


@cache
def load() -> Pins:
    """The pins shipped with this package."""
    return parse(resources.files("devstack").joinpath("versions.toml").read_text("utf-8"))

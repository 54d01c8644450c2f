"""Cached Kubernetes binaries: control plane, etcd, kwok and kwokctl.

Each group is one cache artefact built from the Go module proxy at its pin:
``kubernetes/<v>/{kube-apiserver,kube-controller-manager,kube-scheduler}``,
``etcd/<v>/etcd``, ``kwok/<v>/{kwok,kwokctl}``, and the real node's
``kubernetes-node/<v>/{kubelet,kube-proxy}``. Kubernetes gets its version
stamped into the binaries (component-base and client-go) so that clients and helm
see a real server version.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from devstack import build_go, cache, paths
from devstack.pins import GoPin, Pins

NODE_COMPONENT = "kubernetes-node"


@dataclass(frozen=True)
class KubeBinaries:
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    etcd: Path
    kwok: Path
    kwokctl: Path


def kubernetes_ldflags(version: str) -> str:
    """Version stamps as the Kubernetes release build sets them."""
    major, minor = version.removeprefix("v").split(".")[:2]
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def _ensure_from_kubernetes(
    component: str, pin: GoPin, staging_version: str, log: Path
) -> tuple[Path, bool]:
    ldflags = kubernetes_ldflags(pin.version)
    recipe = f"{pin.module}@{pin.version} {staging_version} {ldflags}"

    def build(out: Path) -> None:
        go_mod = build_go.module_go_mod(pin.module, pin.version, log)
        replaces = build_go.staging_replaces(go_mod, staging_version)
        build_go.build(pin, out, log, ldflags=ldflags, replaces=replaces)

    names = build_go.binary_names(pin)
    return cache.ensure(component, pin.version, names, build, recipe=recipe)


def ensure_kubernetes(pins: Pins, log: Path) -> tuple[Path, bool]:
    """The control plane: kube-apiserver, kube-controller-manager, kube-scheduler."""
    return _ensure_from_kubernetes(
        "kubernetes", pins.kubernetes, pins.kubernetes_staging_version, log
    )


def ensure_kubernetes_node(pins: Pins, log: Path) -> tuple[Path, bool]:
    """The real node's kubelet and kube-proxy, from the control plane's very pin."""
    return _ensure_from_kubernetes(
        NODE_COMPONENT, pins.kubernetes_node, pins.kubernetes_staging_version, log
    )


def ensure_etcd(pins: Pins, log: Path) -> tuple[Path, bool]:
    pin = pins.etcd

    def build(out: Path) -> None:
        (built,) = build_go.build(pin, out, log)
        built.rename(out / "etcd")

    recipe = f"{pin.module}@{pin.version} -s -w"
    return cache.ensure("etcd", pin.version, ["etcd"], build, recipe=recipe)


def ensure_kwok(pins: Pins, log: Path) -> tuple[Path, bool]:
    pin = pins.kwok
    kube_version = pins.kubernetes.version.removeprefix("v")
    ldflags = (
        f"-s -w -X sigs.k8s.io/kwok/pkg/consts.Version={pin.version.removeprefix('v')}"
        f" -X sigs.k8s.io/kwok/pkg/consts.KubeVersion={kube_version}"
    )

    def build(out: Path) -> None:
        build_go.build(pin, out, log, ldflags=ldflags)

    recipe = f"{pin.module}@{pin.version} {ldflags}"
    return cache.ensure("kwok", pin.version, build_go.binary_names(pin), build, recipe=recipe)


def binaries(pins: Pins) -> KubeBinaries:
    """Where the cached binaries are (whether or not they are built yet)."""
    kube = paths.cache_dir("kubernetes", pins.kubernetes.version)
    kwok = paths.cache_dir("kwok", pins.kwok.version)
    return KubeBinaries(
        kube_apiserver=kube / "kube-apiserver",
        kube_controller_manager=kube / "kube-controller-manager",
        kube_scheduler=kube / "kube-scheduler",
        etcd=paths.cache_dir("etcd", pins.etcd.version) / "etcd",
        kwok=kwok / "kwok",
        kwokctl=kwok / "kwokctl",
    )


def node_binaries_dir(pins: Pins) -> Path:
    """Where the cached kubelet and kube-proxy are (whether or not built yet)."""
    return paths.cache_dir(NODE_COMPONENT, pins.kubernetes_node.version)

"""The Ingress controller's own identity: a ServiceAccount with Traefik's read-only role.

Why not the admin kubeconfig: the controller only reads Ingresses, IngressClasses,
Services, EndpointSlices, Secrets (TLS) and Nodes, and writes Ingress status; a
ServiceAccount bound to exactly that (the role Traefik documents) is what it would get
in a cluster, so the local stack proves that role suffices. The token comes from a
``kubernetes.io/service-account-token`` Secret (filled by the controller-manager, no
expiry to renew while the stack runs), and a kubeconfig of its own, next to the
controller's config, carries it with the cluster's server and CA.
"""

from __future__ import annotations

import base64
import subprocess
import time
from pathlib import Path
from typing import Any

import yaml

from devstack import kube_checks
from devstack.paths import StateLayout

NAME = "devsessions-ingress"
NAMESPACE = "kube-system"
TOKEN_SECRET = f"{NAME}-token"
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["services", "secrets", "nodes"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["discovery.k8s.io"],
        "resources": ["endpointslices"],
        "verbs": ["list", "watch"],
    },
    {
        "apiGroups": ["networking.k8s.io"],
        "resources": ["ingresses", "ingressclasses"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["networking.k8s.io"], "resources": ["ingresses/status"], "verbs": ["update"]},
]


def manifests() -> list[dict[str, Any]]:
    labels = {"app.kubernetes.io/part-of": "devsessions"}
    meta = {"name": NAME, "labels": labels}
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**meta, "namespace": NAMESPACE},
        },
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": TOKEN_SECRET,
                "namespace": NAMESPACE,
                "labels": labels,
                "annotations": {"kubernetes.io/service-account.name": NAME},
            },
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": meta,
            "rules": RULES,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": meta,
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": NAME,
            },
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
    ]


def _kubectl(kubeconfig: Path, *args: str, stdin: str | None = None) -> str:
    proc = subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl {' '.join(args[:2])} failed: {proc.stderr.strip()}")
    return proc.stdout


def _token(kubeconfig: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        encoded = _kubectl(
            kubeconfig,
            "get",
            "secret",
            "-n",
            NAMESPACE,
            TOKEN_SECRET,
            "-o",
            "jsonpath={.data.token}",
        )
        if encoded:
            return base64.b64decode(encoded).decode()
        time.sleep(0.3)
    raise RuntimeError(f"secret {NAMESPACE}/{TOKEN_SECRET} got no token within {timeout:.0f}s")


def valid(state: StateLayout) -> bool:
    """True when the controller's kubeconfig still reads the cluster (a cluster made
    afresh has a new CA and knows no token of the old one)."""
    path = state.data("ingress") / "kubeconfig"
    if not path.is_file():
        return False
    proc = subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={path}", "get", "ingressclasses",
         "--request-timeout=10s", "-o", "name"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return proc.returncode == 0


def ensure(admin_kubeconfig: Path, state: StateLayout) -> Path:
    """Apply the ServiceAccount and its role; write and return the controller's kubeconfig."""
    _kubectl(admin_kubeconfig, "apply", "-f", "-", stdin=yaml.safe_dump_all(manifests()))
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = dict(admin["clusters"][0]["cluster"])
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": cluster}],
        "users": [{"name": NAME, "user": {"token": _token(admin_kubeconfig)}}],
        "contexts": [{"name": NAME, "context": {"cluster": "local", "user": NAME}}],
        "current-context": NAME,
    }
    path = state.data("ingress") / "kubeconfig"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path

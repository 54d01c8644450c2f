"""Helpers of the real-node tests: kubectl with the stack's env, the probe pod, containerd.

``pod_manifest`` is a Pod Security ``restricted`` pod of the probe image placed on the
real node (its nodeSelector and toleration); ``ctr`` asks the node's containerd.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any

from devstack import api, node_config
from devstack.record import StackInfo


def kubectl(stack: StackInfo, *args: str, stdin: str | None = None, timeout: float = 180) -> str:
    done = subprocess.run(
        ["kubectl", *args], input=stdin, env=stack.subprocess_env(), capture_output=True,
        text=True, timeout=timeout, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def pod_manifest(name: str, image: str, *, claim: str | None) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "probe",
        "image": image,
        "imagePullPolicy": "Never",
        "args": ["/workspace/written-by-pod"],
        "ports": [{"containerPort": 8080, "name": "http"}],
        "readinessProbe": {"httpGet": {"path": "/", "port": "http"}, "periodSeconds": 1},
        "securityContext": {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
        },
        "volumeMounts": [{"name": "workspace", "mountPath": "/workspace"}],
    }
    volume: dict[str, Any] = {"name": "workspace"}
    volume.update({"persistentVolumeClaim": {"claimName": claim}} if claim else {"emptyDir": {}})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            **node_config.REAL_NODE_PLACEMENT,
            "securityContext": {
                "runAsUser": 1000,
                "runAsGroup": 1000,
                "fsGroup": 1000,
                "runAsNonRoot": True,
                "seccompProfile": {"type": "RuntimeDefault"},
            },
            "containers": [container],
            "volumes": [volume],
        },
    }


CLAIM = {
    "apiVersion": "v1",
    "kind": "PersistentVolumeClaim",
    "metadata": {"name": "workspace"},
    "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
}


def apply(stack: StackInfo, namespace: str, *objects: dict[str, Any]) -> None:
    document = json.dumps({"apiVersion": "v1", "kind": "List", "items": list(objects)})
    kubectl(stack, "apply", "-n", namespace, "-f", "-", stdin=document)


def ctr(*args: str) -> str:
    socket = api.real_node()["containerd_socket"]
    done = subprocess.run(
        ["ctr", f"--address={socket}", "-n", "k8s.io", *args],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return done.stdout


def containers_of(namespace: str) -> list[str]:
    return ctr(
        "containers", "ls", "-q", f'labels."io.kubernetes.pod.namespace"=={namespace}'
    ).split()


def running_tasks(containers: list[str]) -> list[str]:
    """Tasks of ``containers`` that still run (``ctr tasks ls``: id, pid, status)."""
    rows = [line.split() for line in ctr("tasks", "ls").splitlines()[1:]]
    return [row[0] for row in rows if row and row[0] in containers and row[-1] == "RUNNING"]

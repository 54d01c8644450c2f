"""Real containers on the stack's real node: a restricted pod with a claim, kwok kept off.

The probe pod runs under Pod Security ``restricted`` (uid 1000, seccomp RuntimeDefault,
all capabilities dropped, read-only root) with a claim of the default StorageClass: it
must become Ready through its HTTP readiness probe, have written its file into the
claim as uid 1000, show that in ``kubectl logs``, answer on its pod IP from the host,
and leave no container behind in containerd once its namespace is deleted. A pod whose
image cannot exist stays not Ready on the real node: kwok would have faked it Running.
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from devstack import api, node_config
from devstack.record import StackInfo

pytestmark = [pytest.mark.real, pytest.mark.slow]


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


@pytest.fixture
def namespace(real_node: StackInfo) -> Iterator[str]:
    name = f"real-{uuid.uuid4().hex[:8]}"
    kubectl(real_node, "create", "namespace", name)
    kubectl(real_node, "label", "namespace", name, "pod-security.kubernetes.io/enforce=restricted")
    yield name
    kubectl(real_node, "delete", "namespace", name, "--ignore-not-found", "--wait=true")


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


def test_restricted_pod_with_a_claim_runs_writes_logs_and_goes(
    real_node: StackInfo, namespace: str, probe_image: str
) -> None:
    begin = time.monotonic()
    apply(real_node, namespace, CLAIM, pod_manifest("probe", probe_image, claim="workspace"))
    kubectl(real_node, "wait", "-n", namespace, "pod/probe", "--for=condition=Ready",
            "--timeout=120s")  # fmt: skip
    ready_after = time.monotonic() - begin
    pod = json.loads(kubectl(real_node, "get", "pod", "probe", "-n", namespace, "-o", "json"))
    assert pod["spec"]["nodeName"] == node_config.NODE_NAME
    logs = kubectl(real_node, "logs", "-n", namespace, "probe")
    assert "wrote /workspace/written-by-pod as uid 1000" in logs
    pv = kubectl(real_node, "get", "pvc", "workspace", "-n", namespace,
                 "-o", "jsonpath={.spec.volumeName}")  # fmt: skip
    host_dir = Path(kubectl(real_node, "get", "pv", pv, "-o", "jsonpath={.spec.hostPath.path}"))
    written = host_dir / "written-by-pod"
    assert written.read_text() == "uid=1000\n"
    assert written.stat().st_uid == 1000
    with urllib.request.urlopen(f"http://{pod['status']['podIP']}:8080/", timeout=5) as answer:
        assert answer.read() == b"ok\n"
    containers = containers_of(namespace)
    assert len(running_tasks(containers)) == 2, "sandbox and probe should be running"
    kubectl(real_node, "delete", "namespace", namespace, "--wait=true")
    assert running_tasks(containers) == []
    # Stopped containers' records go with the kubelet's garbage collection (every minute).
    deadline = time.monotonic() + 150
    while containers_of(namespace) and time.monotonic() < deadline:
        time.sleep(2)
    assert containers_of(namespace) == []
    print(f"restricted pod with a claim Ready after {ready_after:.1f}s")


def test_import_image_is_idempotent(probe_image: str) -> None:
    """The probe image was imported by its fixture: the same image id is not imported again."""
    assert api.import_image(probe_image) is False
    listed = ctr("images", "ls", "-q", f"name=={probe_image}").split()
    assert listed == [probe_image]


def test_kwok_leaves_the_real_node_and_its_pods_alone(
    real_node: StackInfo, namespace: str, probe_image: str
) -> None:
    node = json.loads(kubectl(real_node, "get", "node", node_config.NODE_NAME, "-o", "json"))
    assert "kwok.x-k8s.io/node" not in node["metadata"].get("annotations", {})
    ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
    assert ready["reason"] == "KubeletReady"  # the kubelet's, not kwok's
    taints = node["spec"].get("taints", [])
    assert {"key": node_config.LABEL_KEY, "value": "real", "effect": "NoSchedule"} in taints
    missing = pod_manifest("missing", "localhost/devsessions-absent:1", claim=None)
    apply(real_node, namespace, missing)
    deadline = time.monotonic() + 60
    reason = ""
    while time.monotonic() < deadline and reason != "ErrImageNeverPull":
        pod = json.loads(kubectl(real_node, "get", "pod", "missing", "-n", namespace, "-o", "json"))
        statuses = pod["status"].get("containerStatuses") or [{}]
        reason = statuses[0].get("state", {}).get("waiting", {}).get("reason", "")
        time.sleep(0.5)
    assert reason == "ErrImageNeverPull"
    assert pod["status"]["phase"] == "Pending"
    fake = json.loads(kubectl(real_node, "get", "nodes", "-l", "type=kwok", "-o", "json"))["items"]
    assert fake, "no fake node left"
    assert all(n["metadata"]["labels"].get(node_config.LABEL_KEY) == "fake" for n in fake)

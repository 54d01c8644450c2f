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
import time
import urllib.request
from pathlib import Path

import pytest
from devstack import api, node_config
from devstack.record import StackInfo

from tests.real.pods import CLAIM, apply, containers_of, ctr, kubectl, pod_manifest, running_tasks

pytestmark = [pytest.mark.real, pytest.mark.slow]


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

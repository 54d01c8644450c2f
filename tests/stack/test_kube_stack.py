"""Kubernetes of the stack: nodes, RBAC, tokens, and a helm chart's whole life.

A small chart (a Deployment of two pods and a Service) is installed with the stack's
helm into a fresh namespace, must become Available with a ClusterIP, and then
``helm uninstall`` and the namespace deletion must complete.
"""

from __future__ import annotations

import json
import re
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from devstack.record import StackInfo

CHART_YAML = "apiVersion: v2\nname: smoke\nversion: 0.1.0\nappVersion: '1'\n"
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}
  labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}
spec:
  replicas: 2
  selector:
    matchLabels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}
  template:
    metadata:
      labels: {app.kubernetes.io/instance: "{{ .Release.Name }}"}
    spec:
      containers:
        - name: web
          image: example.invalid/smoke:1
          ports: [{containerPort: 8080}]
"""
SERVICE = """apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}
spec:
  selector: {app.kubernetes.io/instance: "{{ .Release.Name }}"}
  ports: [{port: 80, targetPort: 8080}]
"""


def run(stack: StackInfo, *argv: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        list(argv),
        env=stack.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def ok(stack: StackInfo, *argv: str, timeout: float = 240) -> str:
    done = run(stack, *argv, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(argv)} failed: {done.stderr}"
    return done.stdout


def kubectl_json(stack: StackInfo, *args: str) -> Any:
    return json.loads(ok(stack, "kubectl", *args, "-o", "json"))


def is_ready(obj: dict[str, Any]) -> bool:
    conditions = obj.get("status", {}).get("conditions", [])
    return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)


def test_three_ready_nodes_and_a_real_server_version(stack: StackInfo) -> None:
    nodes = kubectl_json(stack, "get", "nodes")["items"]
    assert sum(is_ready(n) for n in nodes) >= 3
    version = kubectl_json(stack, "version")["serverVersion"]
    assert version["major"] == "1"
    assert re.fullmatch(r"v1\.\d+\.\d+", version["gitVersion"])


def test_rbac_is_on_and_service_account_tokens_work(stack: StackInfo) -> None:
    token = ok(stack, "kubectl", "create", "token", "default", "-n", "default").strip()
    assert token.count(".") == 2  # a JWT
    as_default = ["--as=system:serviceaccount:default:default"]
    denied = run(stack, "kubectl", "auth", "can-i", "list", "secrets", *as_default)
    assert denied.stdout.strip() == "no"
    assert ok(stack, "kubectl", "auth", "can-i", "list", "secrets").strip() == "yes"


@pytest.fixture
def smoke_chart(tmp_path: Path) -> Path:
    chart = tmp_path / "smoke"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text(CHART_YAML)
    (chart / "templates" / "deployment.yaml").write_text(DEPLOYMENT)
    (chart / "templates" / "service.yaml").write_text(SERVICE)
    return chart


def test_helm_install_until_available_then_uninstall_and_delete_namespace(
    stack: StackInfo, smoke_chart: Path
) -> None:
    namespace = f"devstack-smoke-{uuid.uuid4().hex[:8]}"
    helm = str(stack.helm_binary)
    ok(stack, "kubectl", "create", "namespace", namespace)
    try:
        ok(
            stack,
            helm,
            "install",
            "smoke",
            str(smoke_chart),
            "-n",
            namespace,
            "--wait",
            "--timeout=3m",
        )
        ok(stack, "kubectl", "wait", "-n", namespace, "deployment/smoke",
           "--for=condition=Available", "--timeout=120s")  # fmt: skip
        service = kubectl_json(stack, "get", "service", "smoke", "-n", namespace)
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", service["spec"]["clusterIP"])
        pods = kubectl_json(stack, "get", "pods", "-n", namespace)["items"]
        assert len(pods) == 2
        for pod in pods:
            assert pod["status"]["phase"] == "Running"
            assert is_ready(pod)
            mounts = pod["spec"]["containers"][0].get("volumeMounts", [])
            assert any(m["mountPath"].endswith("serviceaccount") for m in mounts)
        slices = kubectl_json(stack, "get", "endpointslices", "-n", namespace)["items"]
        addresses = [a for s in slices for e in s.get("endpoints") or [] for a in e["addresses"]]
        assert len(addresses) == 2
        assert "smoke" in ok(stack, helm, "list", "-n", namespace, "-q").split()
        ok(stack, helm, "uninstall", "smoke", "-n", namespace, "--wait", "--timeout=2m")
        assert ok(stack, helm, "list", "-n", namespace, "-q").strip() == ""
    finally:
        ok(stack, "kubectl", "delete", "namespace", namespace, "--wait=true", "--timeout=180s")
    gone = run(stack, "kubectl", "get", "namespace", namespace)
    assert gone.returncode != 0
    assert "NotFound" in gone.stderr

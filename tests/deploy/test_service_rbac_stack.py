"""The service chart's RBAC, applied to the local cluster and asked with ``kubectl auth can-i``.

Only the ServiceAccount, ClusterRole and ClusterRoleBinding are installed (``helm template
--show-only``); the API server's RBAC authorizer then answers for the service account. A control
question for an unbound account proves the cluster really authorizes (not AlwaysAllow).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from devstack.record import StackInfo

pytestmark = pytest.mark.stack

CHART = Path(__file__).resolve().parents[2] / "deploy" / "chart" / "devsessions"
RBAC_TEMPLATES = ("serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml")
OTHER_NS = str(uuid.uuid4())  # a project namespace the service would create later


@dataclass(frozen=True)
class Installed:
    namespace: str
    release: str
    service_account: str


def _run(
    stack: StackInfo, argv: list[str], stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**stack.subprocess_env(), "KUBECONFIG": str(stack.kubeconfig)}
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def _kubectl(stack: StackInfo) -> str:
    found = shutil.which("kubectl", path=stack.env.get("PATH")) or shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is neither on the stack's PATH nor on this machine's")
    return found


def kubectl(stack: StackInfo, *args: str, stdin: str | None = None) -> str:
    done = _run(stack, [_kubectl(stack), *args], stdin)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


def can_i(stack: StackInfo, account: str, verb: str, resource: str, namespace: str | None) -> bool:
    scope = ["--namespace", namespace] if namespace else []
    argv = [_kubectl(stack), "auth", "can-i", verb, resource, "--as", account, *scope]
    done = _run(stack, argv)
    answer = done.stdout.strip()
    assert answer in {"yes", "no"}, f"{argv}: {done.stdout} {done.stderr}"
    return answer == "yes"


@pytest.fixture(scope="module")
def installed(stack: StackInfo) -> Iterator[Installed]:
    suffix = uuid.uuid4().hex[:8]
    namespace, release = f"devsessions-rbac-{suffix}", f"rbac-{suffix}"
    show_only = [arg for t in RBAC_TEMPLATES for arg in ("--show-only", f"templates/{t}")]
    rendered = _run(
        stack,
        [str(stack.helm_binary), "template", release, str(CHART), "-n", namespace, *show_only],
    )
    assert rendered.returncode == 0, rendered.stderr
    kubectl(stack, "create", "namespace", namespace)
    try:
        kubectl(stack, "apply", "-f", "-", stdin=rendered.stdout)
        yield Installed(namespace, release, f"{release}-devsessions")
    finally:
        kubectl(stack, "delete", "--ignore-not-found", "-f", "-", stdin=rendered.stdout)
        kubectl(stack, "delete", "namespace", namespace, "--wait=false")


def test_whole_chart_passes_server_side_validation(stack: StackInfo, installed: Installed) -> None:
    # Everything but the KEDA ScaledObject (its CRD is not in the local cluster).
    argv = [str(stack.helm_binary), "template", installed.release, str(CHART)]
    rendered = _run(
        stack, [*argv, "-n", installed.namespace, "--set", "migrations.job.enabled=true"]
    )
    assert rendered.returncode == 0, rendered.stderr
    out = kubectl(stack, "apply", "--dry-run=server", "-f", "-", stdin=rendered.stdout)
    for kind in ("deployment.apps", "job.batch", "poddisruptionbudget.policy", "service"):
        assert f"{kind}/" in out, out


def account_of(installed: Installed, name: str | None = None) -> str:
    return f"system:serviceaccount:{installed.namespace}:{name or installed.service_account}"


def test_cluster_authorizes_with_rbac(stack: StackInfo, installed: Installed) -> None:
    unbound = account_of(installed, "default")
    assert not can_i(stack, unbound, "create", "namespaces", None)
    assert not can_i(stack, unbound, "create", "deployments.apps", OTHER_NS)


@pytest.mark.parametrize(
    ("verb", "resource", "namespace"),
    [
        ("create", "namespaces", None),
        ("delete", "namespaces", None),
        ("patch", "namespaces", None),
        ("watch", "namespaces", None),
        ("create", "deployments.apps", OTHER_NS),
        ("watch", "deployments.apps", None),
        ("create", "services", OTHER_NS),
        ("create", "ingresses.networking.k8s.io", OTHER_NS),
        ("create", "networkpolicies.networking.k8s.io", OTHER_NS),
        ("create", "persistentvolumeclaims", OTHER_NS),
        ("create", "secrets", OTHER_NS),
        ("delete", "resourcequotas", OTHER_NS),
        ("list", "pods", OTHER_NS),
        ("list", "events", OTHER_NS),
    ],
)
def test_service_account_may(
    stack: StackInfo, installed: Installed, verb: str, resource: str, namespace: str | None
) -> None:
    assert can_i(stack, account_of(installed), verb, resource, namespace)


@pytest.mark.parametrize(
    ("verb", "resource", "namespace"),
    [
        ("delete", "nodes", None),
        ("create", "clusterrolebindings.rbac.authorization.k8s.io", None),
        ("create", "rolebindings.rbac.authorization.k8s.io", OTHER_NS),
        ("create", "pods", OTHER_NS),
        ("delete", "replicasets.apps", OTHER_NS),
        ("create", "daemonsets.apps", OTHER_NS),
        ("update", "namespaces", None),
    ],
)
def test_service_account_may_not(
    stack: StackInfo, installed: Installed, verb: str, resource: str, namespace: str | None
) -> None:
    assert not can_i(stack, account_of(installed), verb, resource, namespace)

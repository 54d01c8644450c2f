"""The service chart's RBAC and admission policy, installed on the local cluster for one run.

Helpers of the stack tests of tests/deploy; the ``installed`` fixture is in conftest.py.

Only the ServiceAccount, both ClusterRoles, the ClusterRoleBinding and the admission policy
are installed (``helm template --show-only``), under a release name unique to the run, so
that engineers sharing the cluster never see each other's objects; the policy matches only
this run's ServiceAccount. ``Installed.service`` runs kubectl with the ServiceAccount's own
token (TokenRequest), not impersonation: what the API server answers there is what the
service's pod would get.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from devstack.record import StackInfo

CHART = Path(__file__).resolve().parents[2] / "deploy" / "chart" / "devsessions"
RBAC_TEMPLATES = (
    "serviceaccount.yaml",
    "clusterrole.yaml",
    "clusterrole-project.yaml",
    "clusterrolebinding.yaml",
    "admission-policy.yaml",
)


def run(
    stack: StackInfo, argv: list[str], *, stdin: str | None = None, kubeconfig: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = {**stack.subprocess_env(), "KUBECONFIG": str(kubeconfig or stack.kubeconfig)}
    return subprocess.run(
        argv, input=stdin, capture_output=True, text=True, env=env, timeout=120, check=False
    )


def kubectl_path(stack: StackInfo) -> str:
    found = shutil.which("kubectl", path=stack.env.get("PATH")) or shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl is neither on the stack's PATH nor on this machine's")
    return found


def admin(stack: StackInfo, *args: str, stdin: str | None = None) -> str:
    """kubectl as the cluster admin (the stack's kubeconfig); must succeed."""
    done = run(stack, [kubectl_path(stack), *args], stdin=stdin)
    assert done.returncode == 0, f"kubectl {' '.join(args)}: {done.stderr}"
    return done.stdout


@dataclass(frozen=True)
class Installed:
    """One run's install of the chart's RBAC, and the service account's own credentials."""

    stack: StackInfo
    namespace: str
    release: str
    service_account: str
    cluster_role: str
    project_role: str
    token_kubeconfig: Path

    @property
    def username(self) -> str:
        return f"system:serviceaccount:{self.namespace}:{self.service_account}"

    def service(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """kubectl with the service account's token."""
        argv = [kubectl_path(self.stack), *args]
        return run(self.stack, argv, stdin=stdin, kubeconfig=self.token_kubeconfig)


def token_kubeconfig(stack: StackInfo, namespace: str, account: str, path: Path) -> Path:
    """A kubeconfig for the cluster with a fresh TokenRequest token of ``account``."""
    token = admin(stack, "create", "token", account, "-n", namespace, "--duration=2h").strip()
    view = json.loads(
        admin(stack, "config", "view", "--raw", "--minify", "--flatten", "-o", "json")
    )
    cluster = view["clusters"][0]["cluster"]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "stack", "cluster": cluster}],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": "service", "context": {"cluster": "stack", "user": account}}],
        "current-context": "service",
    }
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def wait_policy_active(installed: Installed, namespace: str) -> None:
    """Block until the admission policy refuses what only it refuses (it loads in a moment).

    A binding of the per-project role to another subject passes RBAC (create rolebindings,
    bind on that role) and is refused by the policy alone; asked as a server-side dry run.
    """
    deadline = time.monotonic() + 60
    while True:
        done = installed.service(
            "create", "rolebinding", f"probe-{uuid.uuid4().hex[:6]}", "-n", namespace,
            f"--clusterrole={installed.project_role}", f"--serviceaccount={namespace}:default",
            "--dry-run=server",
        )  # fmt: skip
        if done.returncode != 0 and "ValidatingAdmissionPolicy" in done.stderr:
            return
        assert time.monotonic() < deadline, f"admission policy never took effect: {done}"
        time.sleep(0.5)

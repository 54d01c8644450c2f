"""Fixtures of tests/deploy: the chart's RBAC installed once per run (see service_account.py)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import yaml
from devstack.record import StackInfo

from tests.deploy.service_account import (
    CHART,
    RBAC_TEMPLATES,
    Installed,
    admin,
    kubectl_path,
    run,
    token_kubeconfig,
)


@pytest.fixture(scope="session")
def installed(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    suffix = uuid.uuid4().hex[:8]
    namespace, release = f"devsessions-rbac-{suffix}", f"rbac-{suffix}"
    show_only = [arg for t in RBAC_TEMPLATES for arg in ("--show-only", f"templates/{t}")]
    rendered = run(
        stack,
        [str(stack.helm_binary), "template", release, str(CHART), "-n", namespace, *show_only],
    )
    assert rendered.returncode == 0, rendered.stderr
    docs = [d for d in yaml.safe_load_all(rendered.stdout) if d]
    roles = [d["metadata"]["name"] for d in docs if d["kind"] == "ClusterRole"]
    project_role = next(r for r in roles if r.endswith("-project"))
    cluster_role = next(r for r in roles if r != project_role)
    account = next(d["metadata"]["name"] for d in docs if d["kind"] == "ServiceAccount")
    admin(stack, "create", "namespace", namespace)
    try:
        admin(stack, "apply", "-f", "-", stdin=rendered.stdout)
        path = tmp_path_factory.mktemp("token") / "kubeconfig"
        token_kubeconfig(stack, namespace, account, path)
        yield Installed(stack, namespace, release, account, cluster_role, project_role, path)
    finally:
        run(
            stack,
            [kubectl_path(stack), "delete", "--ignore-not-found", "-f", "-"],
            stdin=rendered.stdout,
        )
        run(stack, [kubectl_path(stack), "delete", "namespace", namespace, "--wait=false"])

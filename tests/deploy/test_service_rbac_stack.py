"""Least privilege of the service account, proven on the real API server with its own token.

The chart's RBAC and admission policy are installed for this run (``installed`` in
conftest.py); every request below is made with a TokenRequest token of the chart's
ServiceAccount. Each refusal names who refused (RBAC or the admission policy), so a test
fails if either layer widens; each "may" is the control that the refusal is not vacuous.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.record import StackInfo

from consumer.adapters.helm_cli import HelmCli
from consumer.adapters.kube_client import KubeCluster, api_client
from consumer.adapters.project_access import Grant, ProjectAccess
from consumer.domain import naming
from consumer.domain.release import ReleaseState
from tests.deploy.service_account import (
    CHART,
    Installed,
    admin,
    kubectl_path,
    run,
    wait_policy_active,
)

pytestmark = pytest.mark.stack

PROJECT_CHART = Path(__file__).resolve().parents[2] / "helm" / "dev-session-template"
POLICY = "ValidatingAdmissionPolicy"


def service_cluster(installed: Installed) -> KubeCluster:
    """The service's Kubernetes adapter, wired as bootstrap wires it, on the token."""
    api = api_client(str(installed.token_kubeconfig))
    grant = Grant(installed.project_role, installed.service_account, installed.namespace)
    return KubeCluster(api, threads=4, access=ProjectAccess(api, grant))


def refused_by_rbac(done: subprocess.CompletedProcess[str]) -> bool:
    return done.returncode != 0 and "forbidden" in done.stderr and POLICY not in done.stderr


def refused_by_policy(done: subprocess.CompletedProcess[str], installed: Installed) -> bool:
    return done.returncode != 0 and f"{POLICY} '{installed.release}-devsessions'" in done.stderr


@pytest.fixture(scope="module")
async def owned(installed: Installed) -> AsyncIterator[str]:
    """A project namespace made the way the service makes it: with the token, via the adapter."""
    project = str(uuid.uuid4())
    cluster = service_cluster(installed)
    try:
        await cluster.ensure_namespace(project, naming.namespace_labels(project))
        wait_policy_active(installed, project)
        yield project
    finally:
        cluster.close()
        admin(installed.stack, "delete", "namespace", project, "--ignore-not-found", "--wait=false")


@pytest.fixture(scope="module")
def foreign(installed: Installed) -> Iterator[str]:
    """A namespace somebody else made, without the ownership label."""
    name = f"foreign-{uuid.uuid4().hex[:8]}"
    admin(installed.stack, "create", "namespace", name)
    yield name
    admin(installed.stack, "delete", "namespace", name, "--wait=false")


def test_cluster_authorizes_with_rbac(installed: Installed) -> None:
    # Control: an unbound account of the same namespace may do nothing, so RBAC is on.
    unbound = f"system:serviceaccount:{installed.namespace}:default"
    argv = [kubectl_path(installed.stack), "auth", "can-i", "create", "namespaces"]
    assert run(installed.stack, [*argv, "--as", unbound]).stdout.strip() == "no"


def test_the_token_is_the_service_account(installed: Installed) -> None:
    done = installed.service("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == installed.username


async def test_round_trip_with_the_service_token(installed: Installed) -> None:
    project = str(uuid.uuid4())
    ns, release = naming.namespace_for(project), naming.release_for(project)
    cluster = service_cluster(installed)
    helm = HelmCli(
        binary=str(installed.stack.helm_binary),
        chart=PROJECT_CHART,
        timeout_seconds=120,
        kubeconfig=str(installed.token_kubeconfig),
    )
    try:
        assert await cluster.ensure_namespace(ns, naming.namespace_labels(project)), "created"
        assert not await cluster.ensure_namespace(ns, naming.namespace_labels(project))
        values = {"project": {"uuid": project, "id": 1}, "user": {"id": 2}}
        await helm.upgrade_install(release, ns, values)  # release Secrets: namespace rights only
        assert (await helm.status(release, ns)).state is ReleaseState.DEPLOYED
        await cluster.wait_ready(ns, release, timeout=120)
        assert (await cluster.observe(ns, release)).cluster_ip
        assert project in await cluster.managed_namespaces()
        await helm.uninstall(release, ns)
        await cluster.delete_namespace(ns)
        await cluster.wait_namespace_gone(ns, timeout=120)
        assert not await cluster.namespace_exists(ns)
    finally:
        cluster.close()
        admin(installed.stack, "delete", "namespace", ns, "--ignore-not-found", "--wait=false")


def test_binding_in_its_namespace_names_only_itself(installed: Installed, owned: str) -> None:
    got = admin(
        installed.stack, "get", "rolebinding", installed.project_role, "-n", owned,
        "-o", "jsonpath={.roleRef.name} {.subjects[*].name} {.subjects[*].namespace}",
    )  # fmt: skip
    assert got.split() == [installed.project_role, installed.service_account, installed.namespace]


def test_it_may_work_in_its_own_namespace(installed: Installed, owned: str) -> None:
    assert installed.service("get", "secrets", "-n", owned).returncode == 0
    done = installed.service(
        "create", "deployment", "probe", "--image=example.invalid/x:1", "-n", owned,
        "--dry-run=server",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("where", ["kube-system", "foreign"])
def test_it_cannot_read_secrets_elsewhere(installed: Installed, foreign: str, where: str) -> None:
    ns = foreign if where == "foreign" else where
    assert refused_by_rbac(installed.service("get", "secrets", "-n", ns))
    assert refused_by_rbac(installed.service("get", "secret", "anything", "-n", ns))


@pytest.mark.parametrize("where", ["kube-system", "foreign"])
def test_it_cannot_create_deployments_elsewhere(
    installed: Installed, foreign: str, where: str
) -> None:
    ns = foreign if where == "foreign" else where
    done = installed.service(
        "create", "deployment", "x", "--image=example.invalid/x:1", "-n", ns, "--dry-run=server"
    )
    assert refused_by_rbac(done), done.stderr


@pytest.mark.parametrize("where", ["kube-system", "foreign"])
def test_it_cannot_bind_itself_elsewhere(installed: Installed, foreign: str, where: str) -> None:
    # RBAC allows this request (create rolebindings anywhere, bind on the per-project role):
    # only the admission policy stands in the way.
    ns = foreign if where == "foreign" else where
    done = installed.service(
        "create", "rolebinding", "x", "-n", ns, f"--clusterrole={installed.project_role}",
        f"--serviceaccount={installed.namespace}:{installed.service_account}", "--dry-run=server",
    )  # fmt: skip
    assert refused_by_policy(done, installed), done.stderr
    assert "may write only in its project namespaces" in done.stderr


def test_it_cannot_bind_a_role_it_does_not_hold(installed: Installed, owned: str) -> None:
    for role in ("admin", "edit", "cluster-admin"):
        done = installed.service(
            "create", "rolebinding", "x", "-n", owned, f"--clusterrole={role}",
            f"--serviceaccount={installed.namespace}:{installed.service_account}",
            "--dry-run=server",
        )  # fmt: skip
        assert refused_by_rbac(done), (role, done.stderr)
    done = installed.service(
        "create", "clusterrolebinding", "x", f"--clusterrole={installed.project_role}",
        f"--serviceaccount={installed.namespace}:{installed.service_account}", "--dry-run=server",
    )  # fmt: skip
    assert refused_by_rbac(done), done.stderr


@pytest.fixture
def subset_role(installed: Installed) -> Iterator[str]:
    name = f"{installed.release}-subset"
    admin(installed.stack, "create", "clusterrole", name, "--verb=get", "--resource=pods")
    yield name
    admin(installed.stack, "delete", "clusterrole", name, "--ignore-not-found")


def test_it_cannot_bind_any_other_role_even_one_it_holds(
    installed: Installed, owned: str, subset_role: str
) -> None:
    # RBAC lets anyone bind a role whose rights they hold; the policy allows only the
    # per-project role, and only to the service itself.
    account = f"--serviceaccount={installed.namespace}:{installed.service_account}"
    # Its own cluster-wide role, too: it holds those rights, so RBAC would let it bind them.
    for role in (subset_role, installed.cluster_role):
        done = installed.service(
            "create", "rolebinding", "x", "-n", owned, f"--clusterrole={role}", account,
            "--dry-run=server",
        )  # fmt: skip
        assert refused_by_policy(done, installed), (role, done.stderr)
    done = installed.service(
        "create", "rolebinding", "y", "-n", owned, f"--clusterrole={installed.project_role}",
        f"--serviceaccount={owned}:default", "--dry-run=server",
    )  # fmt: skip
    assert refused_by_policy(done, installed), done.stderr


def test_it_cannot_touch_nodes(installed: Installed) -> None:
    assert refused_by_rbac(installed.service("get", "nodes"))
    nodes = admin(installed.stack, "get", "nodes", "-o", "name").split()
    assert nodes, "the stack has kwok nodes"
    node = nodes[0].removeprefix("node/")
    done = installed.service("label", "node", node, "x=y", "--dry-run=server")
    assert refused_by_rbac(done), done.stderr
    assert refused_by_rbac(installed.service("delete", "node", node, "--dry-run=server"))


@pytest.mark.parametrize("subresource", ["exec", "attach", "portforward"])
@pytest.mark.parametrize("verb", ["create", "get"])
def test_it_cannot_exec_into_pods(
    installed: Installed, owned: str, subresource: str, verb: str
) -> None:
    # The API server's own answer for this token (SelfSubjectAccessReview), in its namespace
    # (where it may read pods: the control below).
    assert installed.service("auth", "can-i", "get", "pods", "-n", owned).stdout.strip() == "yes"
    done = installed.service(
        "auth", "can-i", verb, "pods", "-n", owned, f"--subresource={subresource}"
    )
    assert done.stdout.strip() == "no", done.stdout + done.stderr


def test_it_cannot_relabel_a_foreign_namespace_as_its_own(
    installed: Installed, foreign: str
) -> None:
    done = installed.service(
        "label", "namespace", foreign, "app.kubernetes.io/managed-by=devsessions",
        f"{naming.PROJECT_LABEL}={foreign}", "--dry-run=server",
    )  # fmt: skip
    assert refused_by_rbac(done), done.stderr


@pytest.mark.parametrize(
    "change",
    [
        f"{naming.MANAGED_BY_LABEL}-",
        f"{naming.MANAGED_BY_LABEL}=someone-else",
        f"{naming.PROJECT_LABEL}=00000000-0000-0000-0000-000000000000",
        "pod-security.kubernetes.io/enforce=privileged",
    ],
)
def test_it_cannot_remove_or_change_the_label_of_its_own(
    installed: Installed, owned: str, change: str
) -> None:
    done = installed.service("label", "namespace", owned, change, "--overwrite", "--dry-run=server")
    assert refused_by_policy(done, installed), done.stderr


def test_it_may_relabel_its_own_keeping_the_labels(installed: Installed, owned: str) -> None:
    done = installed.service("label", "namespace", owned, "extra=1", "--dry-run=server")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("labels", ["none", "other-project"])
def test_it_cannot_create_a_namespace_without_its_label(installed: Installed, labels: str) -> None:
    name = str(uuid.uuid4())
    manifest = {"none": "{}", "other-project": "{%s: devsessions, %s: '%s'}"}[labels]
    if labels == "other-project":
        manifest = manifest % (naming.MANAGED_BY_LABEL, naming.PROJECT_LABEL, uuid.uuid4())
    body = f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {name}, labels: {manifest}}}\n"
    done = installed.service("create", "-f", "-", "--dry-run=server", stdin=body)
    assert refused_by_policy(done, installed), done.stderr


@pytest.mark.parametrize("where", ["kube-system", "foreign"])
def test_it_cannot_delete_a_namespace_not_its_own(
    installed: Installed, foreign: str, where: str
) -> None:
    ns = foreign if where == "foreign" else where
    assert refused_by_rbac(installed.service("delete", "namespace", ns, "--dry-run=server"))


def test_whole_chart_passes_server_side_validation(stack: StackInfo, installed: Installed) -> None:
    # Everything but the KEDA ScaledObject (its CRD is not in the local cluster).
    argv = [str(stack.helm_binary), "template", installed.release, str(CHART)]
    argv += ["-n", installed.namespace, "--set", "migrations.job.enabled=true"]
    rendered = run(stack, argv)
    assert rendered.returncode == 0, rendered.stderr
    out = admin(stack, "apply", "--dry-run=server", "-f", "-", stdin=rendered.stdout)
    for kind in ("deployment.apps", "job.batch", "poddisruptionbudget.policy", "service"):
        assert f"{kind}/" in out, out

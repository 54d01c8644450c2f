"""The Helm CLI, Kubernetes and PostgreSQL adapters against the real stack."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from devstack.record import StackInfo
from kubernetes import client

from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.adapters.helm_cli import HelmCli
from consumer.adapters.kube_client import KubeCluster, api_client
from consumer.domain import naming
from consumer.domain.errors import PermanentError, TransientError
from consumer.domain.release import ReleaseState
from tests.e2e.harness import create_database
from tests.unit.conftest import World, make_world

# What the namespace's Pod Security level (restricted) asks of every container.
RESTRICTED = {
    "securityContext": {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }
}
CHART = Path(__file__).resolve().parents[2] / "helm" / "dev-session-template"


@pytest.fixture(scope="module")
def cluster(stack: StackInfo) -> Iterator[KubeCluster]:
    kube = KubeCluster(api_client(str(stack.kubeconfig)), threads=4)
    yield kube
    kube.close()


@pytest.fixture(scope="module")
def helm(stack: StackInfo) -> HelmCli:
    return HelmCli(
        binary=str(stack.helm_binary),
        chart=CHART,
        timeout_seconds=120,
        kubeconfig=str(stack.kubeconfig),
    )


async def test_release_lifecycle_on_the_real_cluster(cluster: KubeCluster, helm: HelmCli) -> None:
    project = str(uuid.uuid4())
    ns, release = naming.namespace_for(project), naming.release_for(project)
    assert await cluster.ensure_namespace(ns, naming.namespace_labels(project)), "created"
    assert not await cluster.ensure_namespace(ns, naming.namespace_labels(project))  # found
    assert (await helm.status(release, ns)).state is ReleaseState.ABSENT
    values = {"project": {"uuid": project, "id": 1}, "user": {"id": 2}}
    await helm.upgrade_install(release, ns, values)
    info = await helm.status(release, ns)
    assert info.state is ReleaseState.DEPLOYED and info.revision == 1
    assert await helm.get_values(release, ns) == values
    await cluster.wait_ready(ns, release, timeout=120)
    observed = await cluster.observe(ns, release)
    assert observed.cluster_ip and observed.routes["vscode"].port == 8080
    assert observed.routes["preview"].path == "/preview"
    await helm.uninstall(release, ns)
    await helm.uninstall(release, ns)  # not found is fine
    await cluster.delete_namespace(ns)
    await cluster.wait_namespace_gone(ns, timeout=120)
    assert not await cluster.namespace_exists(ns)


async def test_schema_violation_is_permanent(cluster: KubeCluster, helm: HelmCli) -> None:
    project = str(uuid.uuid4())
    ns = naming.namespace_for(project)
    await cluster.ensure_namespace(ns, naming.namespace_labels(project))
    try:
        with pytest.raises(PermanentError, match="schema"):
            await helm.upgrade_install(
                naming.release_for(project), ns, {"project": {"uuid": "NOT-A-UUID", "id": 1}}
            )
    finally:
        await cluster.delete_namespace(ns)
        await cluster.wait_namespace_gone(ns, timeout=120)


async def test_foreign_namespace_is_never_adopted_or_deleted(
    cluster: KubeCluster, stack: StackInfo
) -> None:
    name = str(uuid.uuid4())
    core = client.CoreV1Api(api_client(str(stack.kubeconfig)))
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    try:
        with pytest.raises(PermanentError, match="not managed by devsessions"):
            await cluster.ensure_namespace(name, naming.namespace_labels(name))
        with pytest.raises(PermanentError, match="not ours"):
            await cluster.delete_namespace(name)
        labels = await cluster.namespace_labels(name)
        assert labels is not None and not naming.owns(labels, name)
    finally:
        core.delete_namespace(name)


async def test_wait_times_out_naming_the_step(cluster: KubeCluster) -> None:
    project = str(uuid.uuid4())
    await cluster.ensure_namespace(project, naming.namespace_labels(project))
    try:
        with pytest.raises(TransientError, match=r"wait for deployment available.*no Deployment"):
            await cluster.wait_ready(project, "nothing-here", timeout=1)
    finally:
        await cluster.delete_namespace(project)


async def test_wait_holds_until_every_routed_service_has_a_ready_endpoint(
    cluster: KubeCluster, stack: StackInfo
) -> None:
    """An Available Deployment is not enough: a routed Service that selects no ready pod
    keeps the wait going, and the timeout names that Service."""
    project = str(uuid.uuid4())
    release = "bare"
    await cluster.ensure_namespace(project, naming.namespace_labels(project))
    api = api_client(str(stack.kubeconfig))
    labels = {"app.kubernetes.io/instance": release, "app": "bare"}
    try:
        client.AppsV1Api(api).create_namespaced_deployment(
            project,
            {
                "metadata": {"name": "bare", "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {"containers": [{"name": "c", "image": "busybox", **RESTRICTED}]},
                    },
                },
            },
        )
        core = client.CoreV1Api(api)
        for name, selector in [("preview", labels), ("chat", {"app": "nothing-selected"})]:
            core.create_namespaced_service(
                project,
                {
                    "metadata": {
                        "name": name,
                        "labels": {**labels, "app.kubernetes.io/component": name},
                    },
                    "spec": {"selector": selector, "ports": [{"port": 80}]},
                },
            )
        with pytest.raises(TransientError, match=r"wait for endpoints ready.*\bchat\b") as caught:
            await cluster.wait_ready(project, release, timeout=60)
        assert "preview" not in str(caught.value), "preview selects the ready pod"
    finally:
        api.close()
        await cluster.delete_namespace(project)


@pytest.fixture(scope="module")
async def pg_world(stack: StackInfo) -> AsyncIterator[World]:
    url = await create_database(stack.database_url, f"adapters_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engine = make_engine(url, pool_size=4)
    world = make_world(uow=sql_uow.factory(engine))  # PostgreSQL under the real service
    yield world
    await engine.dispose()


async def test_store_flow_on_postgresql(pg_world: World) -> None:
    world = pg_world
    project = str(uuid.uuid4())
    first = world.record(world.created(project))
    assert (await world.intake.handle(first)).value == "applied"
    assert (await world.intake.handle(first)).value == "duplicate"
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status.value == "running"
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    assert (await world.sessions.get(project)).status.value == "deleted"
    assert await world.relay.flush() == 2
    assert await world.relay.flush() == 0


async def test_lease_gives_one_owner_at_a_time(pg_world: World) -> None:
    world = pg_world
    project = str(uuid.uuid4())
    await world.intake.handle(world.record(world.created(project)))

    async def claim(owner: str, seconds: float) -> object:
        async with world.uow() as uow:
            session = await uow.leases.claim(project, owner, seconds)
            await uow.commit()
        return session

    a, b = await asyncio.gather(claim("a", 60), claim("b", 60))
    assert (a is None) != (b is None)
    owner = "a" if a is not None else "b"
    other = "b" if owner == "a" else "a"
    assert await claim(other, 60) is None
    assert await claim(owner, 0.5) is not None  # renewal, short
    await asyncio.sleep(0.8)  # the database's clock, not the caller's, decides expiry
    assert await claim(other, 60) is not None


async def test_pruned_inbox_and_outbox_never_reapply_old_events(pg_world: World) -> None:
    from datetime import UTC, datetime, timedelta

    world = pg_world
    project = str(uuid.uuid4())
    create, delete = world.record(world.created(project)), world.record(world.deleted(project))
    for record in (create, delete):
        await world.intake.handle(record)
        await world.settle()
    assert await world.relay.flush() >= 2  # SessionReady, SessionDeleted
    async with world.uow() as uow:
        before = datetime.now(UTC) + timedelta(days=1)
        pruned = await uow.inbox.prune(before) + await uow.outbox.prune(before)
        await uow.commit()
    assert pruned >= 4  # two inbox ids, two published outbox rows
    assert (await world.intake.handle(create)).value == "unchanged"  # stale by high-water mark
    session = await world.sessions.get(project)
    assert session is not None and session.desired.value == "absent"


async def test_project_overrides_reach_the_running_pod(
    cluster: KubeCluster, helm: HelmCli, stack: StackInfo
) -> None:
    import events
    from consumer.domain import values
    from tests.unit.test_values import session

    project = str(uuid.uuid4())
    overrides = events.ChartOverrides(
        vscode_image="codercom/code-server:4.99.0", cpu_request="250m", env={"TEAM": "blue"}
    )
    state = session(overrides.model_dump(exclude_defaults=True))
    state = type(state)(
        **{
            **state.__dict__,
            "project_uuid": project,
            "namespace": project,
            "release_name": naming.release_for(project),
        }
    )
    await cluster.ensure_namespace(project, naming.namespace_labels(project))
    try:
        wanted = values.chart_values(state, ingress_host=f"{project}.dev.example.com")
        await helm.upgrade_install(state.release_name, project, wanted)
        await cluster.wait_ready(project, state.release_name, timeout=120)
        apps = client.AppsV1Api(api_client(str(stack.kubeconfig)))
        pod = apps.read_namespaced_deployment("dev-session", project).spec.template.spec
        by_name = {c.name: c for c in pod.containers}
        assert by_name["vscode"].image == "codercom/code-server:4.99.0"
        assert all(c.resources.requests["cpu"] == "250m" for c in pod.containers)
        assert all(
            {"name": "TEAM", "value": "blue"} in [{"name": e.name, "value": e.value} for e in c.env]
            for c in pod.containers
        )
        net = client.NetworkingV1Api(api_client(str(stack.kubeconfig)))
        [ingress] = net.list_namespaced_ingress(project).items
        assert ingress.spec.rules[0].host == f"{project}.dev.example.com"
    finally:
        await helm.uninstall(naming.release_for(project), project)
        await cluster.delete_namespace(project)

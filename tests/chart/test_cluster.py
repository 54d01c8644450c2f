"""The per-project chart on the real local cluster (kwok nodes), driven like the service.

One lifecycle per run, in a fresh namespace named by a new project UUID and labelled as
the service labels it (Pod Security Admission ``restricted`` enforced, so the hardening
is checked by the API server): install, Deployment Available, every Service has a
ClusterIP and endpoints, the Ingress routes the three paths; upgrade with changed
values; uninstall leaves no object with the project label; the namespace goes away.
kwok never pulls images or runs processes, so this checks objects, not traffic. kwok has
no volume provisioner either: the test pre-binds a PersistentVolume to the claim.
"""

from __future__ import annotations

import functools
import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol, TypeVar

import pytest
from devstack import node_config
from kubernetes import client, config
from kubernetes.client.exceptions import ApiException

from . import helm_chart as hc

pytestmark = pytest.mark.stack

T = TypeVar("T")
WAIT_SECONDS = 180.0
UUID_LABEL = "devsessions.io/project-uuid"


class Stack(Protocol):
    """What this module uses of the ``stack`` session fixture."""

    @property
    def kubeconfig(self) -> Path: ...
    @property
    def helm_binary(self) -> Path: ...
    @property
    def env(self) -> dict[str, str]: ...


class Project:
    """One project's namespace, release and API clients for the duration of the test."""

    def __init__(self, stack: Stack, tmp_path: Path) -> None:
        self.uuid = str(uuid.uuid4())
        self.release = f"dev-session-{self.uuid}"
        self.stack = stack
        self.tmp_path = tmp_path
        api = config.new_client_from_config(config_file=str(stack.kubeconfig))
        self.api = api
        self.core = client.CoreV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.net = client.NetworkingV1Api(api)
        self.discovery = client.DiscoveryV1Api(api)
        self.storage = client.StorageV1Api(api)

    def helm(self, *args: str, values: dict[str, Any] | None = None) -> str:
        values_file = None
        if values is not None:
            values_file = hc.write_values(
                self.tmp_path, values, f"values-{time.monotonic_ns()}.yaml"
            )
        done = hc.helm(
            self.stack.helm_binary,
            [*args, "--namespace", self.uuid],
            values_file,
            timeout=WAIT_SECONDS,
            env={**os.environ, **self.stack.env},
        )
        assert done.returncode == 0, f"helm {' '.join(args)}: {done.stderr}"
        return done.stdout

    def plain(self, obj: object) -> Any:
        """An API object as the JSON the server sent (camelCase keys), for plain access."""
        return self.api.sanitize_for_serialization(obj)

    def values(self, **extra: Any) -> dict[str, Any]:
        """What the service writes: ids, plus tolerations for the kwok nodes' taints (not
        the local stack's real node's, which keeps pods of public images away)."""
        tolerations = [
            {"key": t["key"], "operator": "Exists", "effect": t["effect"]}
            for node in self.plain(self.core.list_node())["items"]
            for t in node["spec"].get("taints", [])
            if t["effect"] in ("NoSchedule", "NoExecute") and t["key"] != node_config.LABEL_KEY
        ]
        unique = [dict(s) for s in {tuple(sorted(t.items())) for t in tolerations}]
        return {
            "project": {"uuid": self.uuid, "id": 456},
            "user": {"id": 123},
            "tolerations": unique,
            **extra,
        }


def wait_for(what: str, probe: Callable[[], T | None], seconds: float = WAIT_SECONDS) -> T:
    """Poll ``probe`` until it returns something other than None/False."""
    deadline = time.monotonic() + seconds
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")
        time.sleep(1.0)


def create_namespace(p: Project) -> None:
    labels = {
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "app.kubernetes.io/managed-by": "devsessions",
        UUID_LABEL: p.uuid,
    }
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=p.uuid, labels=labels))
    p.core.create_namespace(body)


def default_storage_class(p: Project) -> str:
    for sc in p.plain(p.storage.list_storage_class())["items"]:
        annotations = sc["metadata"].get("annotations", {})
        if annotations.get("storageclass.kubernetes.io/is-default-class") == "true":
            return str(sc["metadata"]["name"])
    return ""


def create_workspace_volume(p: Project) -> str:
    """A PersistentVolume pre-bound to the chart's claim (kwok provisions nothing)."""
    name = f"workspace-{p.uuid}"
    spec = client.V1PersistentVolumeSpec(
        capacity={"storage": "10Gi"},
        access_modes=["ReadWriteOnce"],
        persistent_volume_reclaim_policy="Retain",
        storage_class_name=default_storage_class(p),
        host_path=client.V1HostPathVolumeSource(path=f"/devsessions/{p.uuid}"),
        claim_ref=client.V1ObjectReference(namespace=p.uuid, name="workspace"),
    )
    meta = client.V1ObjectMeta(name=name, labels={UUID_LABEL: p.uuid})
    p.core.create_persistent_volume(client.V1PersistentVolume(metadata=meta, spec=spec))
    return name


def ignore_missing(call: Callable[[], object]) -> None:
    try:
        call()
    except ApiException as exc:
        if exc.status != 404:
            raise


@pytest.fixture
def project(stack: Stack, tmp_path: Path) -> Iterator[Project]:
    p = Project(stack, tmp_path)
    create_namespace(p)
    volume = create_workspace_volume(p)
    try:
        yield p
    finally:
        hc.helm(
            stack.helm_binary,
            ["uninstall", p.release, "--namespace", p.uuid, "--ignore-not-found"],
            timeout=WAIT_SECONDS,
            env={**os.environ, **stack.env},
        )
        ignore_missing(lambda: p.core.delete_namespace(p.uuid))
        ignore_missing(lambda: p.core.delete_persistent_volume(volume))


def deployment_available(p: Project, image: str | None = None) -> bool:
    dep = p.plain(p.apps.read_namespaced_deployment("dev-session", p.uuid))
    status = dep.get("status", {})
    conditions = {c["type"]: c["status"] for c in status.get("conditions", [])}
    rolled_out = (
        status.get("observedGeneration", 0) >= dep["metadata"]["generation"]
        and status.get("updatedReplicas") == 1
        and status.get("availableReplicas") == 1
        and status.get("replicas") == 1
    )
    if image is not None:
        pods = p.plain(
            p.core.list_namespaced_pod(
                p.uuid, label_selector=f"app.kubernetes.io/instance={p.release}"
            )
        )["items"]
        live = [pod for pod in pods if "deletionTimestamp" not in pod["metadata"]]
        images = {
            c["image"] for pod in live for c in pod["spec"]["containers"] if c["name"] == "preview"
        }
        rolled_out = rolled_out and images == {image}
    return conditions.get("Available") == "True" and rolled_out


def ready_endpoints(p: Project, service: str) -> int:
    slices = p.plain(
        p.discovery.list_namespaced_endpoint_slice(
            p.uuid, label_selector=f"kubernetes.io/service-name={service}"
        )
    )["items"]
    return sum(
        1 for s in slices for e in s.get("endpoints", []) if e.get("conditions", {}).get("ready")
    )


def owned_objects(p: Project) -> list[str]:
    """Every namespaced object of the kinds the chart (and its controllers) create."""
    selector = f"{UUID_LABEL}={p.uuid}"
    listers: dict[str, Callable[..., Any]] = {
        "Deployment": p.apps.list_namespaced_deployment,
        "ReplicaSet": p.apps.list_namespaced_replica_set,
        "Pod": p.core.list_namespaced_pod,
        "Service": p.core.list_namespaced_service,
        "EndpointSlice": p.discovery.list_namespaced_endpoint_slice,
        "ServiceAccount": p.core.list_namespaced_service_account,
        "PersistentVolumeClaim": p.core.list_namespaced_persistent_volume_claim,
        "Ingress": p.net.list_namespaced_ingress,
        "NetworkPolicy": p.net.list_namespaced_network_policy,
        "ResourceQuota": p.core.list_namespaced_resource_quota,
        "LimitRange": p.core.list_namespaced_limit_range,
    }
    return [
        f"{kind}/{item['metadata']['name']}"
        for kind, lister in listers.items()
        for item in p.plain(lister(p.uuid, label_selector=selector))["items"]
    ]


def namespace_gone(p: Project) -> bool:
    try:
        p.core.read_namespace(p.uuid)
    except ApiException as exc:
        if exc.status == 404:
            return True
        raise
    return False


def test_install_upgrade_uninstall_lifecycle(project: Project) -> None:
    p = project
    timings: dict[str, float] = {}

    start = time.monotonic()
    p.helm("install", p.release, str(hc.CHART), values=p.values())
    wait_for("Deployment dev-session Available", lambda: deployment_available(p))
    timings["install->available"] = time.monotonic() - start

    pvc = p.plain(p.core.read_namespaced_persistent_volume_claim("workspace", p.uuid))
    assert pvc["status"]["phase"] == "Bound"
    for name in (*hc.ENDPOINTS, "session"):
        svc = p.plain(p.core.read_namespaced_service(name, p.uuid))
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"].get("clusterIP") not in (None, "", "None"), name
        assert svc["metadata"]["labels"][UUID_LABEL] == p.uuid
        wait_for(f"ready endpoints of Service {name}", functools.partial(ready_endpoints, p, name))
    session = p.plain(p.core.read_namespaced_service("session", p.uuid))
    assert {port["name"]: port["port"] for port in session["spec"]["ports"]} == {
        "preview": 3000,
        "chat": 3001,
        "vscode": 8080,
    }
    ingress = p.plain(p.net.read_namespaced_ingress("dev-session", p.uuid))
    routes = {
        path["path"]: path["backend"]["service"]["name"]
        for rule in ingress["spec"]["rules"]
        for path in rule["http"]["paths"]
    }
    assert routes == {f"/{name}": name for name in hc.ENDPOINTS}

    new_image = "node:22.17.1-bookworm-slim"
    upgraded = p.values(
        containers={"preview": {"image": new_image, "resources": {"requests": {"cpu": "300m"}}}},
        extraEnv=[{"name": "FEATURE_FLAG", "value": "on"}],
        ingress={"host": "session.example.test"},
    )
    start = time.monotonic()
    p.helm("upgrade", p.release, str(hc.CHART), values=upgraded)
    wait_for("the upgraded pod", lambda: deployment_available(p, image=new_image))
    timings["upgrade->available"] = time.monotonic() - start
    deployment = p.plain(p.apps.read_namespaced_deployment("dev-session", p.uuid))
    ctrs = {c["name"]: c for c in deployment["spec"]["template"]["spec"]["containers"]}
    assert ctrs["preview"]["resources"]["requests"]["cpu"] == "300m"
    for ctr in ctrs.values():
        assert {e["name"]: e.get("value") for e in ctr["env"]}["FEATURE_FLAG"] == "on"
    ingress = p.plain(p.net.read_namespaced_ingress("dev-session", p.uuid))
    assert [rule.get("host") for rule in ingress["spec"]["rules"]] == ["session.example.test"]
    assert "REVISION: 2" in p.helm("status", p.release)

    start = time.monotonic()
    p.helm("uninstall", p.release, "--wait", "--timeout", "3m")
    leftovers = wait_for("no labelled objects", lambda: not owned_objects(p) or None, 120)
    assert leftovers is True
    timings["uninstall->clean"] = time.monotonic() - start
    assert owned_objects(p) == []

    start = time.monotonic()
    p.core.delete_namespace(p.uuid)
    wait_for(f"namespace {p.uuid} to be gone", lambda: namespace_gone(p))
    timings["namespace delete->gone"] = time.monotonic() - start
    print("chart lifecycle timings:", {k: round(v, 2) for k, v in timings.items()})

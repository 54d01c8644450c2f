"""The service itself, deployed by its chart onto the real node, does a full round trip.

The image from deploy/container/Containerfile is imported into the node's containerd and
installed with deploy/chart/devsessions (``imagePullPolicy: Never``, the real node's
placement). The pod runs with its chart's least-privilege ServiceAccount through the
in-cluster configuration (no kubeconfig: the ``kubernetes`` Service, whose endpoint is the
node's bridge address), and reaches Kafka and PostgreSQL there (``devstack.api.
pod_endpoints()``: Kafka's node listener, the database with a password). A
``ProjectCreated`` becomes a session (on fake nodes: the chart's default values) and a
``SessionReady``; a ``ProjectDeleted`` removes it and its namespace. Then the pod's own
mounted token is asked what it may do: it is the ServiceAccount, it may create
namespaces, and it may not read Secrets or create Deployments outside its namespaces.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from devstack import api, node_config
from devstack.record import StackInfo

import events
from events.publish import EventPublisher
from tests.e2e.harness import OutputWatcher, Topology, created, deleted, make_topology, new_project
from tests.e2e.harness import of as of_project
from tests.real.pods import kubectl

pytestmark = [pytest.mark.real, pytest.mark.slow]

CHART = Path(__file__).resolve().parents[2] / "deploy" / "chart" / "devsessions"
TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token"


@pytest.fixture(scope="module")
def topo(real_node: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Topology:
    prefix = f"incluster-{uuid.uuid4().hex[:8]}"
    return make_topology(real_node, tmp_path_factory.mktemp(prefix), prefix)


def values(topo: Topology, image: str, namespace: str) -> dict[str, object]:
    repository, _, tag = image.rpartition(":")
    pod = api.pod_endpoints()
    return {
        "fullnameOverride": namespace,
        "image": {"repository": repository, "tag": tag, "pullPolicy": "Never"},
        "config": {
            "kafkaBootstrapServers": pod["kafka_bootstrap_servers"],
            "inputTopic": topo.input_topic,
            "outputTopic": topo.output_topic,
            "deadLetterTopic": topo.dead_letter_topic,
            "consumerGroup": f"{topo.prefix}-group",
            "workerConcurrency": 2,
            "helmTimeoutSeconds": 120,
            "readyTimeoutSeconds": 120,
            "publicUrlTemplate": topo.stack.env["DEVSESSIONS_PUBLIC_URL_TEMPLATE"],
        },
        "kafka": {"inputTopicPartitions": 3},
        "resources": {"requests": {"cpu": "50m", "memory": "192Mi"}, "limits": {"memory": "512Mi"}},
        **node_config.REAL_NODE_PLACEMENT,
    }


def database_url_for_pods(topo: Topology) -> str:
    """The module's own database, at the address and with the password pods use."""
    server = api.pod_endpoints()["database_url"].rsplit("/", 1)[0]
    return f"{server}/{topo.database_url.rsplit('/', 1)[1]}"


@pytest.fixture(scope="module")
def deployed(topo: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service installed by its chart in a namespace of its own; yields the namespace."""
    stack = topo.stack
    image = api.ensure_images(service=True)["service"]
    api.import_image(image)
    namespace = f"devsessions-{uuid.uuid4().hex[:6]}"
    kubectl(stack, "create", "namespace", namespace)
    kubectl(
        stack, "create", "secret", "generic", "devsessions-database", "-n", namespace,
        f"--from-literal=url={database_url_for_pods(topo)}",
    )  # fmt: skip
    # The chart mounts the API's bearer tokens from a Secret the operator creates.
    kubectl(
        stack, "create", "secret", "generic", "devsessions-api-tokens", "-n", namespace,
        f"--from-literal=tokens={uuid.uuid4().hex}",
    )  # fmt: skip
    values_file = tmp_path_factory.mktemp("chart") / "values.yaml"
    values_file.write_text(yaml.safe_dump(values(topo, image, namespace)))
    helm = [str(stack.helm_binary), "--kubeconfig", str(stack.kubeconfig)]
    try:
        done = subprocess.run(
            [*helm, "upgrade", "--install", namespace, str(CHART), "-n", namespace,
             "-f", str(values_file), "--wait", "--timeout", "240s"],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            pods = kubectl(stack, "get", "pods", "-n", namespace, "-o", "wide")
            logs = subprocess.run(
                ["kubectl", "logs", "-n", namespace, f"deploy/{namespace}", "--tail=60"],
                env=stack.subprocess_env(), capture_output=True, text=True, check=False,
            )  # fmt: skip
            pytest.fail(f"helm install: {done.stderr}\n{pods}\n{logs.stdout}{logs.stderr}")
        yield namespace
    finally:
        subprocess.run(
            [*helm, "uninstall", namespace, "-n", namespace, "--wait", "--timeout", "120s"],
            capture_output=True, timeout=180, check=False,
        )  # fmt: skip
        kubectl(stack, "delete", "namespace", namespace, "--ignore-not-found", "--wait=false")


def service_pod(stack: StackInfo, namespace: str) -> dict[str, object]:
    listed = json.loads(kubectl(stack, "get", "pods", "-n", namespace, "-o", "json"))["items"]
    [pod] = [p for p in listed if p["metadata"].get("deletionTimestamp") is None]
    return dict(pod)


async def test_the_service_in_the_cluster_creates_and_deletes_a_session(
    topo: Topology, deployed: str
) -> None:
    stack = topo.stack
    pod = service_pod(stack, deployed)
    spec = pod["spec"]
    assert isinstance(spec, dict)
    assert spec["nodeName"] == node_config.NODE_NAME
    assert spec["serviceAccountName"] == deployed
    env_names = {e["name"] for e in spec["containers"][0].get("env", [])}
    assert "KUBECONFIG" not in env_names and "DEVSESSIONS_KUBECONFIG" not in env_names
    project = new_project()
    bootstrap = stack.kafka_bootstrap_servers
    async with (
        EventPublisher(bootstrap, topic=topo.input_topic) as publisher,
        OutputWatcher(bootstrap, topo.output_topic) as out,
    ):
        await publisher.publish(created(project))
        seen = await out.wait_for(lambda s: of_project(s, project, events.SessionReady), 240)
        ready = of_project(seen, project, events.SessionReady)[0].data
        assert ready.namespace == project and ready.ip_address
        binding = kubectl(stack, "get", "rolebinding", "-n", project, "-o", "json")
        subjects = [s for b in json.loads(binding)["items"] for s in b.get("subjects", [])]
        assert {"kind": "ServiceAccount", "name": deployed, "namespace": deployed} in subjects
        await publisher.publish(deleted(project))
        await out.wait_for(lambda s: of_project(s, project, events.SessionDeleted), 240)
    left = kubectl(stack, "get", "namespace", project, "--ignore-not-found", "-o", "name")
    assert left.strip() == "", "SessionDeleted before the namespace went"


def test_the_pods_own_token_holds_only_the_least_privilege(topo: Topology, deployed: str) -> None:
    """The RBAC proof with the very token the running pod holds (not a TokenRequest)."""
    stack = topo.stack
    name = str(service_pod(stack, deployed)["metadata"]["name"])
    token = kubectl(stack, "exec", "-n", deployed, name, "--", "cat", TOKEN).strip()
    cluster = json.loads(kubectl(stack, "config", "view", "--minify", "-o", "json"))
    cluster = cluster["clusters"][0]["cluster"]

    def as_pod(*args: str) -> str:
        done = subprocess.run(
            ["kubectl", "--kubeconfig=/dev/null", f"--server={cluster['server']}",
             f"--certificate-authority={cluster['certificate-authority']}", f"--token={token}",
             *args],
            capture_output=True, text=True, check=False, timeout=60,
        )  # fmt: skip
        return done.stdout.strip()

    whoami = json.loads(as_pod("auth", "whoami", "-o", "json"))
    assert whoami["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{deployed}:{deployed}"
    )
    assert as_pod("auth", "can-i", "create", "namespaces") == "yes"
    assert as_pod("auth", "can-i", "get", "secrets", "-n", "kube-system") == "no"
    assert as_pod("auth", "can-i", "create", "deployments", "-n", "kube-system") == "no"
    assert as_pod("auth", "can-i", "create", "pods/exec", "-n", deployed) == "no"
    assert as_pod("auth", "can-i", "get", "nodes") == "no"

"""Render the service's own chart (deploy/chart/devsessions) with the pinned helm and check it.

These tests need only the helm binary (``helm_bin`` fixture), not a cluster: ``helm lint
--strict``, ``helm template`` with default and feature-enabled values, the rendered objects
parsed with PyYAML, and values that the schema or the render-time checks must refuse.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from consumer.domain import naming

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "deploy" / "chart" / "devsessions"
PROJECT_CHART = ROOT / "helm" / "dev-session-template"
NAMESPACE = "devsessions-system"
RELEASE = "prov"
ALL_FEATURES: dict[str, Any] = {"keda": {"enabled": True}, "migrations": {"job": {"enabled": True}}}
WRITE = {"create", "update", "patch", "delete", "get", "list", "watch"}
READ = {"get", "list", "watch"}

Manifest = dict[str, Any]


def _helm(helm_bin: Path, tmp_path: Path, verb: list[str], values: dict[str, Any]) -> Any:
    values_file = tmp_path / "values.yaml"
    values_file.write_text(yaml.safe_dump(values))
    return subprocess.run(
        [str(helm_bin), *verb, "-f", str(values_file)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def render(helm_bin: Path, tmp_path: Path, values: dict[str, Any] | None = None) -> list[Manifest]:
    verb = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    done = _helm(helm_bin, tmp_path, verb, values or {})
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render_error(helm_bin: Path, tmp_path: Path, values: dict[str, Any]) -> str:
    verb = ["template", RELEASE, str(CHART), "--namespace", NAMESPACE]
    done = _helm(helm_bin, tmp_path, verb, values)
    assert done.returncode != 0, f"helm accepted {values}"
    return str(done.stderr)


def named(docs: list[Manifest], kind: str, name: str) -> Manifest:
    found = [doc for doc in docs if doc["kind"] == kind and doc["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, got {len(found)}"
    return found[0]


def cluster_rules(docs: list[Manifest]) -> list[Manifest]:
    """Rules of the cluster-wide ClusterRole (the one the ClusterRoleBinding grants)."""
    bound = one(docs, "ClusterRoleBinding")["roleRef"]["name"]
    return list(named(docs, "ClusterRole", bound)["rules"])


def project_rules(docs: list[Manifest]) -> list[Manifest]:
    """Rules of the per-project ClusterRole (bound by the service in each project namespace)."""
    env = env_of(container(docs))
    return list(
        named(docs, "ClusterRole", env["DEVSESSIONS_PROJECT_CLUSTER_ROLE"]["value"])["rules"]
    )


def one(docs: list[Manifest], kind: str) -> Manifest:
    found = [doc for doc in docs if doc["kind"] == kind]
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def container(docs: list[Manifest], kind: str = "Deployment") -> Manifest:
    pod = one(docs, kind)["spec"]["template"]["spec"]
    assert len(pod["containers"]) == 1
    return dict(pod["containers"][0])


def env_of(ctr: Manifest) -> dict[str, Manifest]:
    return {item["name"]: item for item in ctr["env"]}


def allowed(rules: list[Manifest], group: str, resource: str, verb: str) -> bool:
    return any(
        group in rule.get("apiGroups", [])
        and resource in rule.get("resources", [])
        and verb in rule.get("verbs", [])
        for rule in rules
    )


@pytest.mark.parametrize("values", [{}, ALL_FEATURES], ids=["default", "keda+migrations"])
def test_lint_strict_passes(helm_bin: Path, tmp_path: Path, values: dict[str, Any]) -> None:
    done = _helm(helm_bin, tmp_path, ["lint", "--strict", str(CHART)], values)
    assert done.returncode == 0, done.stdout + done.stderr


def test_default_render_has_the_service_objects_only(helm_bin: Path, tmp_path: Path) -> None:
    kinds = sorted(doc["kind"] for doc in render(helm_bin, tmp_path))
    assert kinds == sorted(
        [
            "ClusterRole",
            "ClusterRole",
            "ClusterRoleBinding",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
            "Deployment",
            "PodDisruptionBudget",
            "Service",
            "ServiceAccount",
        ]
    )


def test_api_token_comes_from_a_mounted_secret(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    ctr = container(docs)
    mounts = {m["name"]: m for m in ctr["volumeMounts"]}
    assert mounts["api-tokens"]["readOnly"] is True
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["api-tokens"]["secret"]["secretName"] == "devsessions-api-tokens"
    env = env_of(ctr)
    path = mounts["api-tokens"]["mountPath"] + "/tokens"
    assert env["DEVSESSIONS_API_TOKENS_FILE"]["value"] == path
    assert env["DEVSESSIONS_API_AUTH_READS"]["value"] == "false"
    own = {"http": {"api": {"tokenSecret": {"name": "mine", "key": "k"}, "authReads": True}}}
    docs = render(helm_bin, tmp_path, own)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "api-tokens")
    assert volume["secret"] == {"secretName": "mine", "items": [{"key": "k", "path": "k"}]}
    env = env_of(container(docs))
    assert env["DEVSESSIONS_API_TOKENS_FILE"]["value"].endswith("/k")
    assert env["DEVSESSIONS_API_AUTH_READS"]["value"] == "true"


def test_access_keys_come_from_a_mounted_secret_when_named(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    env = env_of(container(docs))
    assert "DEVSESSIONS_ACCESS_KEYS_FILE" not in env  # no keys: access endpoints answer 503
    assert env["DEVSESSIONS_ACCESS_TOKEN_TTL_SECONDS"]["value"] == "600"
    own = {"http": {"api": {"accessKeySecret": {"name": "keys", "key": "k"}}}}
    docs = render(helm_bin, tmp_path, own)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v["name"] == "access-keys")
    assert volume["secret"] == {"secretName": "keys", "items": [{"key": "k", "path": "k"}]}
    ctr = container(docs)
    mount = next(m for m in ctr["volumeMounts"] if m["name"] == "access-keys")
    assert mount["readOnly"] is True
    path = env_of(ctr)["DEVSESSIONS_ACCESS_KEYS_FILE"]["value"]
    assert path == mount["mountPath"] + "/k"


def test_cluster_wide_rights_are_the_minimum(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    rules = cluster_rules(docs)
    project_role = env_of(container(docs))["DEVSESSIONS_PROJECT_CLUSTER_ROLE"]["value"]
    # Exactly these, so any widening fails here first.
    assert sorted(
        (r["apiGroups"], r["resources"], sorted(r["verbs"]), r.get("resourceNames")) for r in rules
    ) == sorted(
        [
            ([""], ["namespaces"], ["create", "get", "list", "watch"], None),
            (["rbac.authorization.k8s.io"], ["rolebindings"], ["create"], None),
            (["rbac.authorization.k8s.io"], ["clusterroles"], ["bind"], [project_role]),
        ]
    )


def test_project_role_covers_namespace_and_project_kinds(helm_bin: Path, tmp_path: Path) -> None:
    rules = project_rules(render(helm_bin, tmp_path))
    for verb in ("get", "delete", "patch"):
        assert allowed(rules, "", "namespaces", verb), verb
    managed = [
        ("apps", "deployments"),
        ("", "services"),
        ("", "persistentvolumeclaims"),
        ("networking.k8s.io", "ingresses"),
        ("networking.k8s.io", "networkpolicies"),
        ("", "resourcequotas"),
        ("", "limitranges"),
        ("", "serviceaccounts"),
        ("", "secrets"),
    ]
    for group, resource in managed:
        for verb in WRITE:
            assert allowed(rules, group, resource, verb), (resource, verb)
    readable = [
        ("apps", "replicasets"),
        ("", "pods"),
        ("", "events"),
        ("discovery.k8s.io", "endpointslices"),
    ]
    for group, resource in readable:
        assert all(allowed(rules, group, resource, verb) for verb in READ), resource
        assert not allowed(rules, group, resource, "create"), resource
        assert not allowed(rules, group, resource, "delete"), resource
    assert not allowed(rules, "", "nodes", "delete")
    assert not allowed(rules, "", "namespaces", "update")
    assert not allowed(rules, "", "pods/exec", "create")
    assert not any("rbac.authorization.k8s.io" in rule["apiGroups"] for rule in rules)
    for rule in rules:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"], rule


def plural(kind: str) -> str:
    lower = kind.lower()
    if lower.endswith("y"):
        return lower[:-1] + "ies"
    return lower + ("es" if lower.endswith("s") else "s")


@pytest.mark.parametrize(
    "project_values", sorted(PROJECT_CHART.glob("ci/*.yaml")), ids=lambda p: p.stem
)
def test_rbac_covers_every_kind_of_the_project_chart(
    helm_bin: Path, tmp_path: Path, project_values: Path
) -> None:
    rules = project_rules(render(helm_bin, tmp_path))
    values = yaml.safe_load(project_values.read_text())
    namespace = str(values["project"]["uuid"])
    argv = [str(helm_bin), "template", f"dev-session-{namespace}", str(PROJECT_CHART)]
    done = subprocess.run(
        [*argv, "-n", namespace, "-f", str(project_values)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    kinds = {(d["apiVersion"], d["kind"]) for d in yaml.safe_load_all(done.stdout) if d}
    assert ("apps/v1", "Deployment") in kinds
    for api_version, kind in kinds:
        group = api_version.rpartition("/")[0]
        for verb in WRITE:
            assert allowed(rules, group, plural(kind), verb), (api_version, kind, verb)


def test_rbac_binds_the_pods_service_account(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    account = one(docs, "ServiceAccount")["metadata"]
    binding = one(docs, "ClusterRoleBinding")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": NAMESPACE}
    ]
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == account["name"]
    env = env_of(container(docs))
    assert binding["roleRef"]["name"] != env["DEVSESSIONS_PROJECT_CLUSTER_ROLE"]["value"]
    assert env["DEVSESSIONS_SERVICE_ACCOUNT_NAME"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "spec.serviceAccountName"}
    }
    assert env["DEVSESSIONS_SERVICE_ACCOUNT_NAMESPACE"]["valueFrom"] == {
        "fieldRef": {"fieldPath": "metadata.namespace"}
    }


def test_admission_policy_matches_only_the_service_account(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    account = one(docs, "ServiceAccount")["metadata"]["name"]
    policy = one(docs, "ValidatingAdmissionPolicy")
    (condition,) = policy["spec"]["matchConditions"]
    assert condition["expression"] == (
        f'request.userInfo.username == "system:serviceaccount:{NAMESPACE}:{account}"'
    )
    assert policy["spec"]["failurePolicy"] == "Fail"
    binding = one(docs, "ValidatingAdmissionPolicyBinding")
    assert binding["spec"]["policyName"] == policy["metadata"]["name"]
    assert binding["spec"]["validationActions"] == ["Deny"]
    assert "matchResources" not in binding["spec"], "the policy's own constraints apply"


def test_admission_policy_uses_the_services_ownership_labels(
    helm_bin: Path, tmp_path: Path
) -> None:
    text = yaml.safe_dump(one(render(helm_bin, tmp_path), "ValidatingAdmissionPolicy"))
    labels = naming.namespace_labels("x")
    for key in (
        naming.MANAGED_BY_LABEL,
        naming.PROJECT_LABEL,
        "pod-security.kubernetes.io/enforce",
    ):
        assert f"'{key}'" in text, key
    assert f"'{naming.MANAGER}'" in text
    assert f"'{labels['pod-security.kubernetes.io/enforce']}'" in text


def test_pod_runs_non_root_on_a_read_only_root(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path)
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    ctr = container(docs)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
    assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
    assert ctr["securityContext"]["capabilities"]["drop"] == ["ALL"]
    mounts = {m["mountPath"]: m["name"] for m in ctr["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = env_of(ctr)
    for name in ("HELM_CACHE_HOME", "HELM_CONFIG_HOME", "HELM_DATA_HOME"):
        assert env[name]["value"].startswith("/tmp/"), name


def test_image_allow_list_reaches_the_service(helm_bin: Path, tmp_path: Path) -> None:
    default = env_of(container(render(helm_bin, tmp_path)))
    assert default["DEVSESSIONS_IMAGE_ALLOW_LIST"]["value"] == ""
    allow = ["ghcr.io/acme", "registry.local:5000/x/app@sha256:" + "a" * 64]
    docs = render(helm_bin, tmp_path, {"config": {"imageAllowList": allow}})
    assert env_of(container(docs))["DEVSESSIONS_IMAGE_ALLOW_LIST"]["value"] == ",".join(allow)


@pytest.mark.parametrize("kind", ["Deployment", "Job"])
def test_every_pod_is_hardened(helm_bin: Path, tmp_path: Path, kind: str) -> None:
    docs = render(helm_bin, tmp_path, ALL_FEATURES)
    pod = one(docs, kind)["spec"]["template"]["spec"]
    ctr = container(docs, kind)
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert ctr["securityContext"]["readOnlyRootFilesystem"] is True
    assert ctr["securityContext"]["allowPrivilegeEscalation"] is False
    assert ctr["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    for mount in ctr["volumeMounts"]:
        volume = volumes[mount["name"]]
        writable = not mount.get("readOnly", False)
        assert "emptyDir" in volume or not writable, "writable only on emptyDirs"
    assert "hostNetwork" not in pod and "hostPID" not in pod


def test_only_the_service_pod_gets_an_api_token(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path, ALL_FEATURES)
    service = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert service["automountServiceAccountToken"] is True, "it talks to the Kubernetes API"
    job = one(docs, "Job")["spec"]["template"]["spec"]
    assert job["automountServiceAccountToken"] is False, "migrations need no Kubernetes API"
    assert job.get("serviceAccountName") in (None, "default"), "never the service's account"


def test_probes_and_metrics_hit_the_service_port(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path, {"http": {"port": 8123}, "service": {"port": 9000}})
    ctr = container(docs)
    env = env_of(ctr)
    assert env["DEVSESSIONS_HTTP_HOST"]["value"] == "0.0.0.0"
    assert env["DEVSESSIONS_HTTP_PORT"]["value"] == "8123"
    ports = {p["name"]: p["containerPort"] for p in ctr["ports"]}
    assert ports == {"http": 8123}
    assert ctr["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert ctr["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert ctr["startupProbe"]["httpGet"]["path"] == "/healthz"
    annotations = one(docs, "Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8123"
    assert annotations["prometheus.io/path"] == "/metrics"
    service = one(docs, "Service")["spec"]
    assert service["ports"][0]["targetPort"] == "http"
    assert service["ports"][0]["port"] == 9000


def test_selectors_pick_the_provisioner_pods(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path, ALL_FEATURES)
    pod_labels = one(docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    job_labels = one(docs, "Job")["spec"]["template"]["metadata"]["labels"]
    for selector in (
        one(docs, "Service")["spec"]["selector"],
        one(docs, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
        one(docs, "Deployment")["spec"]["selector"]["matchLabels"],
    ):
        assert selector.items() <= pod_labels.items()
        assert not selector.items() <= job_labels.items()


@pytest.mark.parametrize("helm_timeout", [60, 300, 900])
def test_grace_period_outlasts_the_helm_timeout(
    helm_bin: Path, tmp_path: Path, helm_timeout: int
) -> None:
    docs = render(helm_bin, tmp_path, {"config": {"helmTimeoutSeconds": helm_timeout}})
    pod = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > helm_timeout
    env = env_of(container(docs))
    assert env["DEVSESSIONS_HELM_TIMEOUT_SECONDS"]["value"] == str(helm_timeout)


def test_grace_period_not_longer_than_helm_timeout_is_refused(
    helm_bin: Path, tmp_path: Path
) -> None:
    values = {"config": {"helmTimeoutSeconds": 300}, "terminationGracePeriodSeconds": 300}
    assert "terminationGracePeriodSeconds" in render_error(helm_bin, tmp_path, values)


def test_database_url_comes_from_a_secret(helm_bin: Path, tmp_path: Path) -> None:
    secret = {"name": "pg-credentials", "key": "dsn"}
    docs = render(helm_bin, tmp_path, {"database": {"existingSecret": secret}, **ALL_FEATURES})
    for kind in ("Deployment", "Job"):
        url = env_of(container(docs, kind))["DEVSESSIONS_DATABASE_URL"]
        assert "value" not in url, kind
        assert url["valueFrom"] == {"secretKeyRef": secret}, kind


def test_rendered_output_holds_no_plain_text_secret(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path, ALL_FEATURES)
    assert all(doc["kind"] != "Secret" for doc in docs)
    text = yaml.safe_dump_all(docs)
    assert not re.search(r"postgres(ql)?(\+\w+)?://", text)
    assert not re.search(r"://[^/\s:@]+:[^/\s@]+@", text), "credentials in a URL"
    assert "password" not in text.lower()


def test_keda_scales_on_the_service_consumer_group(helm_bin: Path, tmp_path: Path) -> None:
    values = {
        "config": {
            "consumerGroup": "prov-group-x",
            "inputTopic": "projects.in",
            "kafkaBootstrapServers": "k1:9092,k2:9092",
        },
        "kafka": {"inputTopicPartitions": 4},
        "keda": {"enabled": True, "minReplicaCount": 2, "maxReplicaCount": 4},
    }
    docs = render(helm_bin, tmp_path, values)
    deployment = one(docs, "Deployment")
    scaled = one(docs, "ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
    assert scaled["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    assert 1 <= scaled["spec"]["minReplicaCount"] <= scaled["spec"]["maxReplicaCount"] <= 4
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "kafka"
    meta = trigger["metadata"]
    env = env_of(container(docs))
    assert meta["consumerGroup"] == env["DEVSESSIONS_CONSUMER_GROUP"]["value"] == "prov-group-x"
    assert meta["topic"] == env["DEVSESSIONS_INPUT_TOPIC"]["value"] == "projects.in"
    assert meta["bootstrapServers"] == env["DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS"]["value"]
    assert meta["offsetResetPolicy"] == "earliest"
    assert all(isinstance(v, str) for v in meta.values()), "KEDA metadata values are strings"


def test_migration_job_runs_before_install_and_upgrade(helm_bin: Path, tmp_path: Path) -> None:
    docs = render(helm_bin, tmp_path, ALL_FEATURES)
    job = one(docs, "Job")
    hooks = set(job["metadata"]["annotations"]["helm.sh/hook"].split(","))
    assert hooks == {"pre-install", "pre-upgrade"}
    assert container(docs, "Job")["args"] == ["migrate"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    env = env_of(container(docs))
    assert env["DEVSESSIONS_MIGRATE_ON_START"]["value"] == "false"
    default_env = env_of(container(render(helm_bin, tmp_path)))
    assert default_env["DEVSESSIONS_MIGRATE_ON_START"]["value"] == "true"


@pytest.mark.parametrize(
    ("values", "mentions"),
    [
        ({"replicaCount": 0}, "replicaCount"),
        ({"unknownKey": 1}, "unknownKey"),
        ({"database": {"existingSecret": {"name": "", "key": "url"}}}, "existingSecret"),
        ({"securityContext": {"readOnlyRootFilesystem": False}}, "readOnlyRootFilesystem"),
        ({"podSecurityContext": {"runAsNonRoot": False}}, "runAsNonRoot"),
        ({"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}}, "seccompProfile"),
        ({"podSecurityContext": {"seccompProfile": None}}, "seccompProfile"),
        ({"securityContext": {"allowPrivilegeEscalation": True}}, "allowPrivilegeEscalation"),
        ({"securityContext": {"privileged": True}}, "privileged"),
        ({"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}}, "drop"),
        ({"securityContext": {"capabilities": {"add": ["SYS_ADMIN"]}}}, "add"),
        ({"keda": {"enabled": True, "minReplicaCount": 0}}, "minReplicaCount"),
        ({"config": {"consumerGroup": ""}}, "consumerGroup"),
        ({"config": {"workerConcurrency": "eight"}}, "workerConcurrency"),
        ({"extraEnv": [{"name": "DEVSESSIONS_DATABASE_URL", "value": "x"}]}, "extraEnv"),
        ({"replicaCount": 7, "kafka": {"inputTopicPartitions": 6}}, "inputTopicPartitions"),
        ({"keda": {"enabled": True, "maxReplicaCount": 9}}, "maxReplicaCount"),
        ({"config": {"imageAllowList": ["library/node"]}}, "imageAllowList"),
        ({"config": {"imageAllowList": ["ghcr.io/a,quay.io"]}}, "imageAllowList"),
    ],
)
def test_bad_values_are_refused(
    helm_bin: Path, tmp_path: Path, values: dict[str, Any], mentions: str
) -> None:
    assert mentions in render_error(helm_bin, tmp_path, values)

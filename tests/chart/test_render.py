"""Render helm/dev-session-template with the pinned helm (no cluster) and check the objects.

``helm lint --strict`` and ``helm template`` run with the ``helm_bin`` fixture; the output
is parsed with PyYAML and held against the chart contract (docs/architecture.md): names,
labels, ports, paths, limits, security context, claim size, for default and overridden
values. Values that break values.schema.json or the render-time checks must be refused
with a message naming the bad key. overrides.schema.json must admit exactly the
per-project allow-list.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from . import helm_chart as hc
from .helm_chart import ENDPOINTS, PROJECT_UUID, RELEASE, Manifest

EXPECTED = {
    ("Deployment", "dev-session"),
    ("ServiceAccount", "dev-session"),
    ("PersistentVolumeClaim", "workspace"),
    ("Service", "preview"),
    ("Service", "chat"),
    ("Service", "vscode"),
    ("Service", "session"),
    ("Ingress", "dev-session"),
    ("NetworkPolicy", "dev-session"),
    ("NetworkPolicy", "dev-session-egress"),
    ("ResourceQuota", "dev-session"),
    ("LimitRange", "dev-session"),
}
NS_LABEL = "kubernetes.io/metadata.name"
DEFAULT_PORTS = {"preview": 3000, "chat": 3001, "vscode": 8080}
OVERRIDES_FILE = hc.CHART / "ci" / "overrides-values.yaml"


def overrides_values() -> dict[str, Any]:
    loaded = yaml.safe_load(OVERRIDES_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture
def default_docs(helm_bin: Path, tmp_path: Path) -> list[Manifest]:
    return hc.render(helm_bin, tmp_path, hc.project_values())


@pytest.mark.parametrize("values_file", ["default-values.yaml", "overrides-values.yaml"])
def test_lint_strict_is_clean(helm_bin: Path, values_file: str) -> None:
    done = hc.helm(
        helm_bin,
        ["lint", "--strict", str(hc.CHART), "--namespace", PROJECT_UUID],
        hc.CHART / "ci" / values_file,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout
    assert "[ERROR]" not in done.stdout
    assert "0 chart(s) failed" in done.stdout


def test_renders_exactly_the_contract_objects(default_docs: list[Manifest]) -> None:
    rendered = [(d["kind"], d["metadata"]["name"]) for d in default_docs]
    assert sorted(rendered) == sorted(EXPECTED)
    assert not hc.by_kind(default_docs, "Namespace"), "the service owns the namespace"
    assert all("namespace" not in d["metadata"] for d in default_docs)


def test_every_object_carries_the_ownership_labels(default_docs: list[Manifest]) -> None:
    pod_labels = hc.one(default_docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    for labels in [d["metadata"]["labels"] for d in default_docs] + [pod_labels]:
        assert labels["app.kubernetes.io/name"] == "dev-session"
        assert labels["app.kubernetes.io/instance"] == RELEASE
        assert labels["app.kubernetes.io/version"]
        assert labels["app.kubernetes.io/component"]
        assert labels["app.kubernetes.io/part-of"] == "devsessions"
        assert labels["app.kubernetes.io/managed-by"] == "Helm"
        assert labels["helm.sh/chart"].startswith("dev-session-template-")
        assert labels["devsessions.io/project-uuid"] == PROJECT_UUID
        assert labels["devsessions.io/project-id"] == "456"
        assert labels["devsessions.io/user-id"] == "123"
    assert pod_labels["app.kubernetes.io/component"] == "session"


def test_large_ids_render_as_decimal_labels(helm_bin: Path, tmp_path: Path) -> None:
    values = hc.project_values()
    values["project"]["id"] = 12345678901
    values["user"]["id"] = 7654321
    docs = hc.render(helm_bin, tmp_path, values)
    for doc in docs:
        assert doc["metadata"]["labels"]["devsessions.io/project-id"] == "12345678901"
        assert doc["metadata"]["labels"]["devsessions.io/user-id"] == "7654321"


def test_services_expose_each_endpoint_and_the_combined_session(
    default_docs: list[Manifest],
) -> None:
    pod_labels = hc.one(default_docs, "Deployment")["spec"]["template"]["metadata"]["labels"]
    selector = hc.one(default_docs, "Deployment")["spec"]["selector"]["matchLabels"]
    assert selector == {
        "app.kubernetes.io/name": "dev-session",
        "app.kubernetes.io/instance": RELEASE,
    }
    for name, port in DEFAULT_PORTS.items():
        svc = hc.one(default_docs, "Service", name)
        assert svc["metadata"]["labels"]["app.kubernetes.io/component"] == name
        assert svc["spec"]["type"] == "ClusterIP"
        assert svc["spec"]["ports"] == [
            {"name": "http", "port": port, "targetPort": name, "protocol": "TCP"}
        ]
        assert svc["spec"]["selector"].items() <= pod_labels.items()
    session = hc.one(default_docs, "Service", "session")
    assert session["metadata"]["labels"]["app.kubernetes.io/component"] == "session"
    assert {p["name"]: p["port"] for p in session["spec"]["ports"]} == DEFAULT_PORTS
    assert session["spec"]["selector"] == selector


def test_deployment_runs_three_probed_containers(default_docs: list[Manifest]) -> None:
    deployment = hc.one(default_docs, "Deployment")
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    ctrs = hc.containers(default_docs)
    assert list(ctrs) == list(ENDPOINTS)
    for name, port in DEFAULT_PORTS.items():
        ctr = ctrs[name]
        assert ctr["ports"] == [{"name": name, "containerPort": port, "protocol": "TCP"}]
        for probe in ("readinessProbe", "livenessProbe"):
            assert ctr[probe]["httpGet"]["port"] == name
            assert ctr[probe]["httpGet"]["path"].startswith("/")
            assert ctr[probe]["periodSeconds"] >= 1
        assert ctr["resources"]["limits"] == {"cpu": "2000m", "memory": "4Gi"}
        for key in ("cpu", "memory"):
            requested = hc.quantity(ctr["resources"]["requests"][key])
            assert 0 < requested <= hc.quantity(ctr["resources"]["limits"][key])
        assert ctr["volumeMounts"] == [{"name": "workspace", "mountPath": "/workspace"}]
        env = hc.env_of(ctr)
        assert env["DEVSESSIONS_PORT"] == str(port)
        assert env["DEVSESSIONS_BASE_PATH"] == f"/{name}"
        assert env["DEVSESSIONS_PROJECT_UUID"] == PROJECT_UUID
        assert ":" in ctr["image"], "default images are pinned"
    assert "code-server" in ctrs["vscode"]["image"]
    assert ctrs["vscode"]["readinessProbe"]["httpGet"]["path"] == "/healthz"
    volumes = hc.pod_spec(default_docs)["volumes"]
    assert volumes == [{"name": "workspace", "persistentVolumeClaim": {"claimName": "workspace"}}]


def test_pod_is_hardened(default_docs: list[Manifest]) -> None:
    pod = hc.pod_spec(default_docs)
    assert pod["serviceAccountName"] == "dev-session"
    assert pod["automountServiceAccountToken"] is False
    assert hc.one(default_docs, "ServiceAccount")["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] > 0
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for ctr in pod["containers"]:
        ctx = ctr["securityContext"]
        assert ctx["allowPrivilegeEscalation"] is False
        assert ctx["privileged"] is False
        assert ctx["runAsNonRoot"] is True
        assert ctx["capabilities"] == {"drop": ["ALL"]}
        assert ctx["seccompProfile"] == {"type": "RuntimeDefault"}


def test_workspace_claim_defaults_to_10gi_on_the_default_class(
    default_docs: list[Manifest],
) -> None:
    pvc = hc.one(default_docs, "PersistentVolumeClaim", "workspace")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "10Gi"
    assert pvc["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert "storageClassName" not in pvc["spec"]


def test_ingress_routes_the_three_paths(default_docs: list[Manifest]) -> None:
    ingress = hc.one(default_docs, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "nginx"
    assert "tls" not in ingress["spec"]
    [rule] = ingress["spec"]["rules"]
    assert "host" not in rule
    routes = {
        p["path"]: (p["pathType"], p["backend"]["service"]["name"], p["backend"]["service"]["port"])
        for p in rule["http"]["paths"]
    }
    assert routes == {f"/{n}": ("Prefix", n, {"name": "http"}) for n in ENDPOINTS}


def test_network_policy_admits_namespace_and_ingress_controller(
    default_docs: list[Manifest],
) -> None:
    policy = hc.one(default_docs, "NetworkPolicy", "dev-session")["spec"]
    assert policy["podSelector"] == {}
    assert policy["policyTypes"] == ["Ingress"]
    same_namespace, controller = policy["ingress"]
    assert same_namespace == {"from": [{"podSelector": {}}]}
    assert controller["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "ingress-nginx"}}}
    ]
    assert sorted(p["port"] for p in controller["ports"]) == sorted(DEFAULT_PORTS.values())


def assert_budget_admits_pod(docs: list[Manifest]) -> None:
    """ResourceQuota and LimitRange must admit the rendered pod and its claim."""
    hard = hc.one(docs, "ResourceQuota")["spec"]["hard"]
    ctrs = hc.containers(docs).values()
    for kind in ("requests", "limits"):
        for key in ("cpu", "memory"):
            total = sum(hc.quantity(c["resources"][kind][key]) for c in ctrs)
            assert total <= hc.quantity(hard[f"{kind}.{key}"]), (kind, key)
    limits = {item["type"]: item for item in hc.one(docs, "LimitRange")["spec"]["limits"]}
    for ctr in ctrs:
        for key in ("cpu", "memory"):
            limit = hc.quantity(ctr["resources"]["limits"][key])
            request = hc.quantity(ctr["resources"]["requests"][key])
            assert limit <= hc.quantity(limits["Container"]["max"][key])
            assert request >= hc.quantity(limits["Container"]["min"][key])
    size = hc.quantity(
        hc.one(docs, "PersistentVolumeClaim")["spec"]["resources"]["requests"]["storage"]
    )
    assert size <= hc.quantity(hard["requests.storage"])
    claim_range = limits["PersistentVolumeClaim"]
    assert hc.quantity(claim_range["min"]["storage"]) <= size
    assert size <= hc.quantity(claim_range["max"]["storage"])
    assert int(hard["pods"]) >= 1


def test_quota_and_limit_range_admit_the_default_pod(default_docs: list[Manifest]) -> None:
    assert_budget_admits_pod(default_docs)


def test_quota_admits_the_largest_allowed_overrides(helm_bin: Path, tmp_path: Path) -> None:
    biggest = {"requests": {"cpu": "2000m", "memory": "4Gi"}}
    values = hc.project_values(containers={n: {"resources": biggest} for n in ENDPOINTS})
    assert_budget_admits_pod(hc.render(helm_bin, tmp_path, values))


def test_per_project_overrides_land_in_every_container(helm_bin: Path, tmp_path: Path) -> None:
    values = overrides_values()
    docs = hc.render(helm_bin, tmp_path, values)
    ctrs = hc.containers(docs)
    for name in ENDPOINTS:
        wanted = values["containers"][name]
        assert ctrs[name]["image"] == wanted["image"]
        assert ctrs[name]["resources"]["requests"] == wanted["resources"]["requests"]
        assert ctrs[name]["resources"]["limits"] == {"cpu": "2000m", "memory": "4Gi"}
        env = hc.env_of(ctrs[name])
        for item in values["extraEnv"]:
            assert env[item["name"]] == item["value"]
    [rule] = hc.one(docs, "Ingress")["spec"]["rules"]
    assert rule["host"] == values["ingress"]["host"]
    assert_budget_admits_pod(docs)


def test_operator_values_change_the_rendered_objects(helm_bin: Path, tmp_path: Path) -> None:
    values = hc.project_values(
        containers={
            "preview": {"port": 4000, "path": "/app", "env": [{"name": "A", "value": "1"}]},
            "vscode": {"command": ["/usr/bin/entrypoint.sh"]},
        },
        persistence={"size": "25Gi", "storageClassName": "fast-ssd", "mountPath": "/home/dev"},
        ingress={"className": "traefik", "host": "p.example.com", "tls": {"secretName": "p-tls"}},
        networkPolicy={
            "ingressControllerNamespaceSelector": {"matchLabels": {NS_LABEL: "traefik"}}
        },
        tolerations=[{"key": "kwok.x-k8s.io/node", "operator": "Exists", "effect": "NoSchedule"}],
    )
    docs = hc.render(helm_bin, tmp_path, values)
    preview = hc.containers(docs)["preview"]
    assert preview["ports"][0]["containerPort"] == 4000
    assert hc.env_of(preview)["A"] == "1"
    assert "A" not in hc.env_of(hc.containers(docs)["chat"])
    assert hc.containers(docs)["vscode"]["command"] == ["/usr/bin/entrypoint.sh"]
    assert all(
        c["volumeMounts"][0]["mountPath"] == "/home/dev" for c in hc.containers(docs).values()
    )
    assert hc.one(docs, "Service", "preview")["spec"]["ports"][0]["port"] == 4000
    pvc = hc.one(docs, "PersistentVolumeClaim")["spec"]
    assert (pvc["resources"]["requests"]["storage"], pvc["storageClassName"]) == (
        "25Gi",
        "fast-ssd",
    )
    ingress = hc.one(docs, "Ingress")["spec"]
    assert ingress["ingressClassName"] == "traefik"
    assert ingress["tls"] == [{"secretName": "p-tls", "hosts": ["p.example.com"]}]
    paths = {p["path"] for p in ingress["rules"][0]["http"]["paths"]}
    assert paths == {"/app", "/chat", "/vscode"}
    controller = hc.one(docs, "NetworkPolicy", "dev-session")["spec"]["ingress"][1]
    assert controller["from"][0]["namespaceSelector"] == {"matchLabels": {NS_LABEL: "traefik"}}
    assert 4000 in {p["port"] for p in controller["ports"]}
    assert hc.pod_spec(docs)["tolerations"][0]["key"] == "kwok.x-k8s.io/node"


def test_optional_objects_can_be_switched_off(helm_bin: Path, tmp_path: Path) -> None:
    off = {"enabled": False}
    values = hc.project_values(ingress=off, networkPolicy=off, resourceQuota=off, limitRange=off)
    kinds = {d["kind"] for d in hc.render(helm_bin, tmp_path, values)}
    assert kinds == {"Deployment", "ServiceAccount", "PersistentVolumeClaim", "Service"}


def test_ephemeral_workspace_replaces_the_claim(helm_bin: Path, tmp_path: Path) -> None:
    values = hc.project_values(persistence={"enabled": False, "size": "5Gi"})
    docs = hc.render(helm_bin, tmp_path, values)
    assert not hc.by_kind(docs, "PersistentVolumeClaim")
    assert hc.pod_spec(docs)["volumes"] == [{"name": "workspace", "emptyDir": {"sizeLimit": "5Gi"}}]
    assert all(c["volumeMounts"][0]["name"] == "workspace" for c in hc.containers(docs).values())


INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("uuid-missing", {"project": {"uuid": None}}, "/project"),
    ("uuid-uppercase", {"project": {"uuid": PROJECT_UUID.upper()}}, "/project/uuid"),
    ("project-id-negative", {"project": {"id": -1}}, "/project/id"),
    ("user-id-string", {"user": {"id": "123"}}, "/user/id"),
    ("unknown-top-level", {"replicas": 2}, "replicas"),
    ("unknown-nested", {"containers": {"chat": {"gpu": 1}}}, "/containers/chat"),
    ("privileged-port", {"containers": {"preview": {"port": 80}}}, "/containers/preview/port"),
    ("bad-image", {"containers": {"chat": {"image": "Not An Image"}}}, "/containers/chat/image"),
    (
        "bad-cpu",
        {"containers": {"vscode": {"resources": {"requests": {"cpu": "two"}}}}},
        "/containers/vscode/resources/requests/cpu",
    ),
    (
        "bad-memory",
        {"containers": {"vscode": {"resources": {"limits": {"memory": "4 GB"}}}}},
        "/containers/vscode/resources/limits/memory",
    ),
    ("root-path", {"containers": {"chat": {"path": "/"}}}, "/containers/chat/path"),
    ("pull-policy", {"containers": {"chat": {"imagePullPolicy": "Sometimes"}}}, "imagePullPolicy"),
    (
        "liveness-success",
        {"containers": {"chat": {"probes": {"liveness": {"successThreshold": 2}}}}},
        "/containers/chat/probes/liveness/successThreshold",
    ),
    ("reserved-env", {"extraEnv": [{"name": "DEVSESSIONS_X", "value": "1"}]}, "/extraEnv/0/name"),
    ("env-number", {"extraEnv": [{"name": "X", "value": 1}]}, "/extraEnv/0/value"),
    ("pvc-size", {"persistence": {"size": "10 GB"}}, "/persistence/size"),
    ("path-type", {"ingress": {"pathType": "Regex"}}, "/ingress/pathType"),
    ("ingress-host", {"ingress": {"host": "Not_A_Host"}}, "/ingress/host"),
    (
        "open-selector",
        {"networkPolicy": {"ingressControllerNamespaceSelector": {"matchLabels": None}}},
        "/networkPolicy/ingressControllerNamespaceSelector",
    ),
    ("quota-amount", {"resourceQuota": {"hard": {"pods": "many"}}}, "/resourceQuota/hard/pods"),
    (
        "escalation",
        {"securityContext": {"allowPrivilegeEscalation": True}},
        "allowPrivilegeEscalation",
    ),
    (
        "keep-caps",
        {"securityContext": {"capabilities": {"drop": ["NET_RAW"]}}},
        "capabilities/drop",
    ),
    ("add-caps", {"securityContext": {"capabilities": {"add": ["NET_ADMIN"]}}}, "capabilities"),
    (
        "root-user",
        {"podSecurityContext": {"runAsNonRoot": False}},
        "/podSecurityContext/runAsNonRoot",
    ),
    (
        "seccomp",
        {"podSecurityContext": {"seccompProfile": {"type": "Unconfined"}}},
        "seccompProfile",
    ),
]


@pytest.mark.parametrize(("fragment", "key"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID])
def test_schema_refuses_bad_values_naming_the_key(
    helm_bin: Path, tmp_path: Path, fragment: dict[str, Any], key: str
) -> None:
    values = merge(hc.project_values(), fragment)
    message = hc.render_error(helm_bin, tmp_path, values)
    assert "values don't meet the specifications of the schema" in message
    assert key in message


@pytest.mark.parametrize(
    ("fragment", "message"),
    [
        (
            {"containers": {"chat": {"port": 3000}}},
            "containers.chat.port: port 3000 is already used",
        ),
        ({"containers": {"vscode": {"path": "/chat"}}}, "containers.vscode.path: path /chat"),
    ],
)
def test_render_refuses_clashing_ports_and_paths(
    helm_bin: Path, tmp_path: Path, fragment: dict[str, Any], message: str
) -> None:
    assert message in hc.render_error(helm_bin, tmp_path, merge(hc.project_values(), fragment))


def test_render_refuses_a_foreign_namespace(helm_bin: Path, tmp_path: Path) -> None:
    done = hc.template(helm_bin, tmp_path, hc.project_values(), namespace="default")
    assert done.returncode != 0
    assert f'must be the project namespace "{PROJECT_UUID}"' in done.stderr


def merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge ``fragment`` into a copy of ``base``. A None stays: in a values file
    it is a null, which makes helm drop that key from the chart's defaults."""
    merged = copy.deepcopy(base)
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_schema(name: str) -> dict[str, Any]:
    loaded = json.loads((hc.CHART / name).read_text())
    assert isinstance(loaded, dict)
    jsonschema.Draft7Validator.check_schema(loaded)
    return loaded


def test_values_yaml_defaults_satisfy_the_schema() -> None:
    schema = load_schema("values.schema.json")
    values = merge(hc.load_values_yaml(), hc.project_values())
    jsonschema.Draft7Validator(schema).validate(values)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(hc.load_values_yaml())


def test_overrides_schema_accepts_the_allow_list() -> None:
    overrides = load_schema("overrides.schema.json")
    values_schema = load_schema("values.schema.json")
    per_project = overrides_values()
    jsonschema.Draft7Validator(overrides).validate(per_project)
    jsonschema.Draft7Validator(overrides).validate(hc.project_values())
    # Whatever the allow-list admits is also a valid chart configuration.
    merged = merge(hc.load_values_yaml(), per_project)
    jsonschema.Draft7Validator(values_schema).validate(merged)


OUTSIDE_ALLOW_LIST: list[tuple[str, dict[str, Any]]] = [
    ("port", {"containers": {"preview": {"port": 4000}}}),
    ("command", {"containers": {"chat": {"command": ["sh"]}}}),
    ("limits", {"containers": {"chat": {"resources": {"limits": {"cpu": "4"}}}}}),
    ("cpu-over-cap", {"containers": {"chat": {"resources": {"requests": {"cpu": "2001m"}}}}}),
    ("cpu-cores-over-cap", {"containers": {"chat": {"resources": {"requests": {"cpu": "2.5"}}}}}),
    ("memory-over-cap", {"containers": {"vscode": {"resources": {"requests": {"memory": "5Gi"}}}}}),
    (
        "memory-mi-over-cap",
        {"containers": {"vscode": {"resources": {"requests": {"memory": "4097Mi"}}}}},
    ),
    ("reserved-env", {"extraEnv": [{"name": "DEVSESSIONS_TOKEN", "value": "x"}]}),
    ("bad-env-name", {"extraEnv": [{"name": "1BAD", "value": "x"}]}),
    ("too-much-env", {"extraEnv": [{"name": f"V{i}", "value": "x"} for i in range(33)]}),
    ("security", {"securityContext": {"privileged": False}}),
    ("persistence", {"persistence": {"size": "100Gi"}}),
    ("ingress-class", {"ingress": {"className": "other"}}),
    ("unknown-container", {"containers": {"jupyter": {"image": "jupyter/base:1"}}}),
]


@pytest.mark.parametrize(
    "fragment", [c[1] for c in OUTSIDE_ALLOW_LIST], ids=[c[0] for c in OUTSIDE_ALLOW_LIST]
)
def test_overrides_schema_rejects_anything_else(fragment: dict[str, Any]) -> None:
    validator = jsonschema.Draft7Validator(load_schema("overrides.schema.json"))
    assert list(validator.iter_errors(merge(hc.project_values(), fragment)))


def schema_leaves(schema: dict[str, Any], prefix: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    props = schema.get("properties")
    if not props:
        return {prefix}
    leaves: set[tuple[str, ...]] = set()
    for key, sub in props.items():
        leaves |= schema_leaves(sub, (*prefix, key))
    return leaves


def resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """Inline local ``$ref``s so the property tree can be walked."""
    if "$ref" in schema:
        target: Any = root
        for part in schema["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        return resolve(target, root)
    out = dict(schema)
    if "properties" in out:
        out["properties"] = {k: resolve(v, root) for k, v in out["properties"].items()}
    return out


def test_every_override_key_is_a_chart_value() -> None:
    overrides = load_schema("overrides.schema.json")
    values = hc.load_values_yaml()
    for path in schema_leaves(resolve(overrides, overrides)):
        node: Any = values
        for part in path[:-1]:
            assert isinstance(node, dict), path
            assert part in node, path
            node = node[part]
        assert path[-1] in node, path


def test_readme_documents_every_value() -> None:
    schema = load_schema("values.schema.json")
    readme = (hc.CHART / "README.md").read_text()
    for path in schema_leaves(resolve(schema, schema)):
        parts = ("containers", "<name>", *path[2:]) if path[0] == "containers" else path
        assert f"`{'.'.join(parts)}`" in readme, ".".join(parts)

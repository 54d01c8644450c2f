"""A session is reachable only through the Ingress: no way around a check placed there.

The owner-only access design (docs/security.md) puts authentication at the Ingress, so
nothing else may reach the session ports: Services stay ClusterIP, the quota allows no
NodePort or LoadBalancer Service, the ingress NetworkPolicy admits only the namespace
itself and the ingress controller, and no override can add Ingress annotations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from . import helm_chart as hc
from .helm_chart import Manifest


@pytest.fixture
def default_docs(helm_bin: Path, tmp_path: Path) -> list[Manifest]:
    return hc.render(helm_bin, tmp_path, hc.project_values())


def test_services_stay_inside_the_cluster(default_docs: list[Manifest]) -> None:
    for service in hc.by_kind(default_docs, "Service"):
        assert service["spec"].get("type", "ClusterIP") == "ClusterIP", service["metadata"]
        assert "externalIPs" not in service["spec"]
    hard = hc.one(default_docs, "ResourceQuota")["spec"]["hard"]
    assert hard["services.nodeports"] == "0"
    assert hard["services.loadbalancers"] == "0"


def test_only_the_namespace_and_the_controller_reach_the_ports(
    default_docs: list[Manifest],
) -> None:
    policy = hc.one(default_docs, "NetworkPolicy", "dev-session")["spec"]
    assert policy["podSelector"] == {} and "Ingress" in policy["policyTypes"]
    peers = [peer for rule in policy["ingress"] for peer in rule["from"]]
    assert {"podSelector": {}} in peers
    for peer in peers:
        assert "ipBlock" not in peer
        if "namespaceSelector" in peer:
            assert peer["namespaceSelector"], "never every namespace"


def test_no_override_reaches_the_ingress_annotations() -> None:
    schema = json.loads((hc.CHART / "overrides.schema.json").read_text())
    ingress = schema["properties"].get("ingress", {})
    assert set(ingress.get("properties", {})) <= {"host"}

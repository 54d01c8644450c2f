"""The session's egress NetworkPolicy, as rendered (no cluster enforces it here).

The local stack has no network plugin that enforces NetworkPolicy (kwok's pods never run),
so the policy is held to its meaning on paper: only addresses outside the cluster's own
ranges and the metadata endpoints, DNS to the cluster resolver, and the namespace itself.
The checks evaluate the rendered rules the way NetworkPolicy does (a union of allows), so a
rule that widens what a session may reach fails them.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from . import helm_chart as hc
from .helm_chart import Manifest

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def egress(docs: list[Manifest]) -> Manifest:
    policy = hc.one(docs, "NetworkPolicy", "dev-session-egress")["spec"]
    assert policy["podSelector"] == {}, "applies to every pod of the namespace"
    assert policy["policyTypes"] == ["Egress"]
    return dict(policy)


def ip_allowed(policy: Manifest, address: str, port: int = 443) -> bool:
    """Whether any rule's ipBlock admits ``address`` (NetworkPolicy: a union of allows)."""
    ip: Address = ipaddress.ip_address(address)
    for rule in policy["egress"]:
        ports = rule.get("ports")
        if ports and port not in {p["port"] for p in ports}:
            continue
        for peer in rule.get("to", []):
            block = peer.get("ipBlock")
            if block is None or ip not in ipaddress.ip_network(block["cidr"]):
                continue
            if not any(ip in ipaddress.ip_network(e) for e in block.get("except", [])):
                return True
    return False


@pytest.fixture
def default_policy(helm_bin: Path, tmp_path: Path) -> Manifest:
    return egress(hc.render(helm_bin, tmp_path, hc.project_values()))


@pytest.mark.parametrize(
    "address",
    [
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack metadata
        "fd00:ec2::254",  # AWS metadata over IPv6
        "100.100.100.200",  # Alibaba metadata
        "10.96.0.1",  # a typical service CIDR: the API server's ClusterIP
        "10.244.1.17",  # a typical pod CIDR: other namespaces' pods
        "172.17.0.2",  # docker bridge / kind nodes
        "192.168.49.2",  # minikube node
        "100.64.3.4",  # shared address space used by some clouds' pod networks
        "127.0.0.1",
        "fe80::1",
    ],
)
def test_the_cluster_and_metadata_are_unreachable(default_policy: Manifest, address: str) -> None:
    assert not ip_allowed(default_policy, address)
    assert not ip_allowed(default_policy, address, port=53)


@pytest.mark.parametrize("address", ["1.1.1.1", "140.82.112.3", "104.16.0.1", "2606:4700::1111"])
def test_the_internet_is_reachable(default_policy: Manifest, address: str) -> None:
    assert ip_allowed(default_policy, address)


def test_dns_only_to_the_cluster_resolver(default_policy: Manifest) -> None:
    rules = [r for r in default_policy["egress"] if r.get("ports")]
    assert len(rules) == 1
    (dns,) = rules
    assert sorted((p["protocol"], p["port"]) for p in dns["ports"]) == [("TCP", 53), ("UDP", 53)]
    (peer,) = dns["to"]
    assert peer == {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
        "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
    }


def test_other_namespaces_are_not_selected(default_policy: Manifest) -> None:
    peers = [peer for rule in default_policy["egress"] for peer in rule["to"]]
    for peer in peers:
        if "namespaceSelector" in peer:
            assert peer["namespaceSelector"]["matchLabels"], "never all namespaces"
            assert "podSelector" in peer, "never a whole namespace"
    assert {"podSelector": {}} in peers, "its own namespace stays reachable"


def test_ranges_and_exceptions_are_configurable(helm_bin: Path, tmp_path: Path) -> None:
    extra: dict[str, Any] = {
        "deniedCIDRs": ["10.0.0.0/8", "169.254.0.0/16", "203.0.113.10/32"],
        "allowedCIDRs": ["10.0.0.53/32"],
    }
    values = hc.project_values(networkPolicy={"egress": extra})
    policy = egress(hc.render(helm_bin, tmp_path, values))
    assert not ip_allowed(policy, "203.0.113.10"), "a public API server address can be denied"
    assert ip_allowed(policy, "10.0.0.53"), "an egress proxy can be allowed"
    assert not ip_allowed(policy, "10.0.0.54")


def test_egress_policy_can_be_switched_off(helm_bin: Path, tmp_path: Path) -> None:
    values = hc.project_values(networkPolicy={"egress": {"enabled": False}})
    names = [
        d["metadata"]["name"]
        for d in hc.by_kind(hc.render(helm_bin, tmp_path, values), "NetworkPolicy")
    ]
    assert names == ["dev-session"]


@pytest.mark.parametrize("cidr", ["10.0.0.0", "not-a-cidr", "10.0.0.0/8; rm"])
def test_bad_ranges_are_refused(helm_bin: Path, tmp_path: Path, cidr: str) -> None:
    values = hc.project_values(networkPolicy={"egress": {"deniedCIDRs": [cidr]}})
    assert "deniedCIDRs" in hc.render_error(helm_bin, tmp_path, values)

"""The real node's pure pieces and the progress of long steps, without the stack.

Fast: the generated configurations parse and carry the settings the notes found
necessary, a cluster made before kwok was restricted to fake nodes is made afresh, a
long step reports the last line of its log while it runs, and a claim held by a live
stack refuses a second one while a dead holder's does not.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml
from devstack import kube_config, node, node_claim, node_config, node_images, pins, procs, steps


def test_node_configs_parse_and_carry_the_needed_settings(tmp_path: Path) -> None:
    np = node_config.NodePaths(tmp_path / "node")
    cidr = pins.load().node.pod_cidr
    toml = node_config.containerd_toml(np, "localhost/pause:x", "/usr/sbin/runc", "/usr/lib/cni")
    for needed in ("restrict_oom_score_adj = true", "SystemdCgroup = false", '"overlayfs"'):
        assert needed in toml
    import tomllib

    assert tomllib.loads(toml)["grpc"]["address"] == str(np.containerd_socket)
    conf = json.loads(node_config.cni_conflist(np, cidr))
    bridge = conf["plugins"][0]
    assert bridge["isGateway"] and bridge["ipMasq"] and bridge["hairpinMode"]
    assert bridge["ipam"]["ranges"][0][0]["gateway"] == node_config.gateway(cidr)
    kubelet = yaml.safe_load(
        node_config.kubelet_yaml(np, ca_file=Path("ca"), port=1, healthz_port=2, node_ip="10.0.0.1")
    )
    assert kubelet["failCgroupV1"] is False
    assert kubelet["authentication"]["anonymous"]["enabled"] is False
    assert kubelet["registerWithTaints"][0]["key"] == node_config.LABEL_KEY
    proxy = yaml.safe_load(
        node_config.kube_proxy_yaml(Path("kc"), cidr, healthz_port=3, metrics_port=4)
    )
    assert proxy["mode"] == "nftables"
    assert proxy["healthzBindAddress"].startswith("127.0.0.1:")


def test_kwok_is_restricted_to_fake_nodes_with_ports_of_ours_and_older_clusters_remade() -> None:
    ports = {name: 40000 + i for i, name in enumerate(kube_config.COMPONENT_PORTS)}
    config = kube_config.kwokctl_config(Path("/pki"), ports)
    assert "manage-all-nodes" in config and node_config.FAKE_ANNOTATION in config
    assert '"/pki/admin.crt"' in config
    options = yaml.safe_load(config)["options"]
    assert options["etcdPeerPort"] == ports["etcd_peer"]
    assert options["kwokControllerPort"] == ports["kwok_controller"]
    assert options["bindAddress"] == "127.0.0.1"
    saved = yaml.safe_dump(yaml.safe_load(config))
    assert kube_config.is_current(saved + "127.0.0.1")
    older = saved.replace(kube_config.KWOK_MANAGE_FLAG, "x")
    assert not kube_config.is_current(older + "127.0.0.1")


def test_image_references_are_normalized_as_the_cri_sees_them() -> None:
    assert node_images.normalized("pause:1") == "localhost/pause:1"
    assert node_images.normalized("localhost/a/b:2") == "localhost/a/b:2"
    assert node_images.normalized("localhost/c") == "localhost/c:latest"
    one = node_images.static_tag("localhost/p", "1", "int main(){}", "0:0")
    assert one != node_images.static_tag("localhost/p", "1", "int main(){return 1;}", "0:0")


class Beats(steps.NullReporter):
    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []

    def progress(self, step: str, seconds: float, text: str) -> None:
        self.seen.append((seconds, text))


def test_a_long_step_reports_what_its_log_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(steps, "HEARTBEAT_SECONDS", 0.1)
    log = tmp_path / "build.log"
    reporter = Beats()
    with steps.step(reporter, "build", log):
        for package in ("k8s.io/api", "k8s.io/kubelet"):
            with log.open("a") as out:
                out.write(f"{package}\n\n")
            time.sleep(0.35)
    texts = [text for _seconds, text in reporter.seen]
    assert "k8s.io/api" in texts and texts[-1] == "k8s.io/kubelet"
    assert reporter.seen[-1][0] > reporter.seen[0][0]


def test_a_live_holder_refuses_a_second_stack_and_a_dead_one_does_not(tmp_path: Path) -> None:
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        pid_file = tmp_path / "node-kubelet.pid"
        pid_file.write_text(procs.PidRecord(live.pid, procs.start_time(live.pid)).render())
        claim = node_claim.Claim("/elsewhere", "/elsewhere/node", "/s.sock", [str(pid_file)])
        assert claim.alive()
        busy = node_claim.NodeBusy(claim.state_root)
        assert "/elsewhere" in str(busy) and "stack down" in str(busy)
    finally:
        live.kill()
        live.wait()
    assert not claim.alive()
    assert node.PORT_NAMES and len(set(node.COMPONENTS)) == 5


@pytest.mark.parametrize("cidr", ["10.244.77.0/24", "192.168.5.0/24"])
def test_gateway_is_the_first_host(cidr: str) -> None:
    assert node_config.gateway(cidr).endswith(".1")

"""How the real node is configured: containerd, the CNI bridge, kubelet and kube-proxy.

Pure text building, no I/O; :mod:`devstack.node` writes these files and starts the
processes. The settings are the ones checked on this machine kind (cgroup v1 in hybrid
mode, root without ``CAP_SYS_RESOURCE``), and why:

- containerd: ``restrict_oom_score_adj`` (a negative score for sandboxes fails without
  ``CAP_SYS_RESOURCE``), runc with ``SystemdCgroup = false`` (no systemd here; crun
  refuses cgroup v1 hybrid mode), overlayfs, its own root, state and sockets, and the
  CRI streaming server on a random loopback port instead of the fixed 10010.
- CNI: ``bridge`` (gateway, masquerade, hairpin) with ``host-local`` IPAM on one /24
  whose data lives under the state dir. The bridge is made before the kubelet starts,
  so its gateway address is the node's InternalIP that the API server reaches.
- kubelet: cgroup v1 allowed, cgroupfs driver, no swap check, no read-only port,
  webhook authentication against the cluster CA and webhook authorization (so
  ``kubectl logs/exec`` work through the API server), health and serving ports chosen
  free, pod logs under the state dir, no image garbage collection (images come from
  local builds and cannot be pulled again), and the node tainted so that only pods that
  ask for it land there.
- kube-proxy: nftables mode, node ports only on the bridge address, conntrack left as
  the host has it, health and metrics ports on loopback.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from pathlib import Path

NODE_NAME = "devsessions-node"
BRIDGE = "dsnode0"
NETWORK_NAME = "devsessions-node"
# How pods select the real node, and how the real node keeps every other pod away.
LABEL_KEY = "devsessions.io/node"
LABEL_VALUE = "real"
TAINT = f"{LABEL_KEY}={LABEL_VALUE}:NoSchedule"
# Fake (kwok) nodes carry this annotation; kwok manages only nodes that do.
FAKE_ANNOTATION = "kwok.x-k8s.io/node=fake"
FAKE_LABEL = f"{LABEL_KEY}=fake"
# Pod spec fields (and the session chart's values of the same names) for the real node.
REAL_NODE_PLACEMENT = {
    "nodeSelector": {LABEL_KEY: LABEL_VALUE},
    "tolerations": [
        {"key": LABEL_KEY, "operator": "Equal", "value": LABEL_VALUE, "effect": "NoSchedule"}
    ],
}


@dataclass(frozen=True)
class NodePaths:
    """Where the real node keeps its files, all under ``<state>/node``."""

    root: Path

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd" / "containerd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd" / "config.toml"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "conf"

    @property
    def cni_data_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet-config.yaml"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy-config.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    def mount_roots(self) -> list[Path]:
        """Directories below which the node's mounts live (unmounted on cleanup)."""
        return [self.root]


def gateway(pod_cidr: str) -> str:
    """The bridge's address: the first host of the pod range; also the node's IP."""
    return str(next(ipaddress.ip_network(pod_cidr).hosts()))


def containerd_toml(paths: NodePaths, pause_image: str, runc: str, cni_bin: str) -> str:
    return f"""version = 2
root = "{paths.containerd_root}"
state = "{paths.containerd_state}"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.internal.v1.opt", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "{paths.containerd_socket}"

[ttrpc]
  address = "{paths.containerd_socket}.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{pause_image}"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "{runc}"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{cni_bin}"
    conf_dir = "{paths.cni_conf_dir}"
    max_conf_num = 1
"""


def cni_conflist(paths: NodePaths, pod_cidr: str) -> str:
    bridge = {
        "type": "bridge",
        "bridge": BRIDGE,
        "isGateway": True,
        "ipMasq": True,
        "hairpinMode": True,
        "ipam": {
            "type": "host-local",
            "dataDir": str(paths.cni_data_dir),
            "ranges": [[{"subnet": pod_cidr, "gateway": gateway(pod_cidr)}]],
            "routes": [{"dst": "0.0.0.0/0"}],
        },
    }
    conf = {
        "cniVersion": "0.4.0",
        "name": NETWORK_NAME,
        "plugins": [bridge, {"type": "loopback"}],
    }
    return json.dumps(conf, indent=2) + "\n"


def kubelet_yaml(
    paths: NodePaths, *, ca_file: Path, port: int, healthz_port: int, node_ip: str
) -> str:
    return f"""apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
containerRuntimeEndpoint: unix://{paths.containerd_socket}
failSwapOn: false
readOnlyPort: 0
address: {node_ip}
port: {port}
healthzBindAddress: 127.0.0.1
healthzPort: {healthz_port}
podLogsDir: {paths.pod_logs}
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  imagefs.available: "1%"
  nodefs.inodesFree: "1%"
registerWithTaints:
- key: {LABEL_KEY}
  value: {LABEL_VALUE}
  effect: NoSchedule
authentication:
  anonymous:
    enabled: false
  webhook:
    enabled: true
  x509:
    clientCAFile: {ca_file}
authorization:
  mode: Webhook
"""


def kubelet_argv(kubelet: Path, paths: NodePaths, kubeconfig: Path, node_ip: str) -> list[str]:
    return [
        str(kubelet),
        f"--config={paths.kubelet_config}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={paths.kubelet_root}",
        f"--hostname-override={NODE_NAME}",
        f"--node-ip={node_ip}",
        f"--node-labels={LABEL_KEY}={LABEL_VALUE}",
        f"--volume-plugin-dir={paths.kubelet_root / 'volume-plugins'}",
        f"--cert-dir={paths.kubelet_root / 'pki'}",
        "--v=1",
    ]


def kube_proxy_yaml(
    kubeconfig: Path, pod_cidr: str, *, healthz_port: int, metrics_port: int
) -> str:
    return f"""apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
hostnameOverride: {NODE_NAME}
clusterCIDR: {pod_cidr}
nodePortAddresses: ["{gateway(pod_cidr)}/32"]
healthzBindAddress: 127.0.0.1:{healthz_port}
metricsBindAddress: 127.0.0.1:{metrics_port}
clientConnection:
  kubeconfig: {kubeconfig}
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
"""

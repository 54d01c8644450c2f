"""How the local cluster is made: kwokctl's configuration and ``create cluster`` flags.

Pure data and argument building, no I/O. Choices, and why:

- Every component binds 127.0.0.1 only.
- RBAC and admission on: service-account tokens work, as in a real cluster.
- No leader election for the controller-manager and scheduler: there is one of each,
  and a restarted one would otherwise wait for the dead one's lease to expire.
- No node leases for kwok: a restarted kwok controller has a new identity and would
  leave every node (and so every pod) unmanaged until the old leases expire (200 s).
- A /16 service range (the API server's default is a /24, 254 addresses): every session
  has four Services, so the default would run out after about 60 live sessions.
- kwok simulates kubelets but provisions no volumes, so a pod with a
  PersistentVolumeClaim would stay Pending: the controller-manager's built-in
  host-path provisioner (a testing feature, fine for a single-machine stack) binds
  claims of the default StorageClass below.
- Fake nodes sized for 1000 sessions at the chart's requests (850m CPU, 1.75Gi memory,
  one pod each): kwok's default node (32 CPU, 256Gi, 110 pods, a /24 of pod IPs) would
  hold about 110 sessions on three nodes. See ``NODE_PARAMS``.
- kwok manages only the nodes annotated as fake (``kwokctl scale node`` makes them so):
  with its default ``--manage-all-nodes`` it would also take over the real node (mark
  it Ready, fake its pods' status, delete terminating pods at once).
- The API server holds a kubelet client certificate (the admin one) and reaches
  kubelets by InternalIP, so ``kubectl logs/exec`` work on the real node.
- The API server advertises the real node's bridge address, so the ``kubernetes``
  Service's endpoint is where pods reach it (forwarded to 127.0.0.1 by the node), and its
  certificate (:mod:`devstack.kube_pki`, made before kwokctl's) names that Service's IP.

A cluster made by an older recipe (its ``kwok.yaml`` lacks a marker) is made afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from devstack.kube_build import KubeBinaries
from devstack.node_config import FAKE_ANNOTATION

CLUSTER = "devsessions"
HOSTPATH_FLAG = "enable-hostpath-provisioner"
NO_LEADER_ELECTION = "leader-elect"
NODE_LEASE_FLAG = "--node-lease-duration-seconds=0"
SERVICE_RANGE_FLAG = "service-cluster-ip-range"
SERVICE_RANGE = "10.96.0.0/16"

# ``kwokctl scale node --param``: three nodes of 400 CPU, 1Ti, 500 pods and a /22 of pod
# IPs each hold 1000 sessions (850 CPU, 1750Gi, 1000 pods) with room to spare.
NODE_PARAMS = (
    '.allocatable.cpu="400"',
    '.allocatable.memory="1Ti"',
    '.allocatable.pods="500"',
)

KWOK_MANAGE_FLAG = "manage-nodes-with-annotation-selector"
KUBELET_CLIENT_FLAG = "kubelet-client-certificate"
# The ``kubernetes`` Service's endpoint: the real node's bridge address, where pods reach
# the API server (forwarded there by devstack.node_access); it still binds 127.0.0.1 only.
ADVERTISE_FLAG = "advertise-address"

KWOKCTL_CONFIG_TEMPLATE = f"""\
kind: KwokctlConfiguration
apiVersion: config.kwok.x-k8s.io/v1alpha1
options:
  bindAddress: 127.0.0.1
componentsPatches:
- name: kube-apiserver
  extraArgs:
  - key: {SERVICE_RANGE_FLAG}
    value: "{SERVICE_RANGE}"
  - key: {KUBELET_CLIENT_FLAG}
    value: "{{pki}}/admin.crt"
  - key: kubelet-client-key
    value: "{{pki}}/admin.key"
  - key: kubelet-preferred-address-types
    value: "InternalIP"
  - key: {ADVERTISE_FLAG}
    value: "{{advertise}}"
- name: kube-controller-manager
  extraArgs:
  - key: {HOSTPATH_FLAG}
    value: "true"
  - key: {NO_LEADER_ELECTION}
    value: "false"
- name: kube-scheduler
  extraArgs:
  - key: {NO_LEADER_ELECTION}
    value: "false"
- name: kwok-controller
  extraArgs:
  - key: manage-all-nodes
    value: "false"
  - key: {KWOK_MANAGE_FLAG}
    value: "{FAKE_ANNOTATION}"
"""


# kwokctl would pick these ports itself, scanning down from 32765 for one unused at that
# moment: two stacks made at once got the same one, and one stack's kwok-controller
# could not start. The stack chooses them (free ephemeral ports, kept in stack.json).
COMPONENT_PORTS = {
    "etcd": "etcdPort",
    "etcd_peer": "etcdPeerPort",
    "kube_controller_manager": "kubeControllerManagerPort",
    "kube_scheduler": "kubeSchedulerPort",
    "kwok_controller": "kwokControllerPort",
}


def kwokctl_config(pki: Path, ports: Mapping[str, int], advertise: str = "10.244.77.1") -> str:
    """kwokctl's configuration; ``pki`` is the cluster's certificate directory, ``ports``
    holds a port for each name of :data:`COMPONENT_PORTS`, ``advertise`` is the address of
    the ``kubernetes`` Service's endpoint (the real node's bridge)."""
    options = "".join(f"  {key}: {ports[name]}\n" for name, key in COMPONENT_PORTS.items())
    text = KWOKCTL_CONFIG_TEMPLATE.replace("{pki}", str(pki)).replace("{advertise}", advertise)
    return text.replace("options:\n", "options:\n" + options, 1)


STORAGE_CLASS = """\
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: Immediate
"""


def create_argv(bins: KubeBinaries, port: int, config: Path) -> list[str]:
    """``kwokctl create cluster`` with local binaries only (nothing is downloaded)."""
    return [
        str(bins.kwokctl),
        "create",
        "cluster",
        f"--config={config}",
        f"--name={CLUSTER}",
        "--runtime=binary",
        f"--kube-apiserver-port={port}",
        "--secure-port=true",
        "--kube-authorization=true",
        "--kube-admission=true",
        NODE_LEASE_FLAG,
        "--kubeconfig=",
        f"--kube-apiserver-binary={bins.kube_apiserver}",
        f"--kube-controller-manager-binary={bins.kube_controller_manager}",
        f"--kube-scheduler-binary={bins.kube_scheduler}",
        f"--kwok-controller-binary={bins.kwok}",
        f"--etcd-binary={bins.etcd}",
        "--quiet-pull",
        "--timeout=5m",
    ]


def is_current(kwok_yaml: str) -> bool:
    """True when a cluster's saved ``kwok.yaml`` was made by this recipe."""
    return (
        HOSTPATH_FLAG in kwok_yaml
        and SERVICE_RANGE in kwok_yaml
        and NO_LEADER_ELECTION in kwok_yaml
        and "nodeLeaseDurationSeconds" not in kwok_yaml
        and "127.0.0.1" in kwok_yaml
        and KWOK_MANAGE_FLAG in kwok_yaml
        and KUBELET_CLIENT_FLAG in kwok_yaml
        and ADVERTISE_FLAG in kwok_yaml
    )

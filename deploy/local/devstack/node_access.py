"""How pods on the real node reach the stack's services: the API server, Kafka, PostgreSQL.

Pods reach the host only on the real node's bridge address (the gateway of the pod
range); the stack's services listen on 127.0.0.1. A forwarder of the node
(:mod:`devstack.bridge_proxy`, started and stopped with it) listens on the bridge address
and connects to loopback:

- the API server's port: the ``kubernetes`` Service's endpoint is that address and port
  (the API server advertises it, :mod:`devstack.kube_config`), so in-cluster clients reach
  it through the Service's ClusterIP, and its certificate names that IP
  (:mod:`devstack.kube_pki`);
- Kafka's node listener (``NODE``, its own port on loopback), which Kafka advertises at the
  bridge address, so a client in a pod reconnects there after the bootstrap;
- PostgreSQL's port, from the source address :data:`POD_SOURCE`, for which ``pg_hba.conf``
  asks for the role's password (``trust`` stays for host clients on 127.0.0.1 only). The
  password is made once per state dir and kept beside it (mode 0600).

:func:`endpoints` is what a pod is given: Kafka's bootstrap address and the database URL.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from devstack import postgres
from devstack.bridge_proxy import Forward
from devstack.paths import StateLayout

POD_SOURCE = "127.0.0.2"
PASSWORD_FILE = "postgres-pods.secret"


def forwards(ports: dict[str, int]) -> list[Forward]:
    return [
        Forward(ports["kube_apiserver"], ports["kube_apiserver"]),
        Forward(ports["kafka_node"], ports["kafka_node"]),
        Forward(ports["postgres"], ports["postgres"], POD_SOURCE),
    ]


def password(state: StateLayout) -> str:
    """The database role's password for pods, made on first use."""
    path: Path = state.root / PASSWORD_FILE
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


def endpoints(state: StateLayout, ports: dict[str, int], bridge_ip: str) -> dict[str, str]:
    """What a pod on the real node uses: ``kafka_bootstrap_servers`` and ``database_url``."""
    return {
        "kafka_bootstrap_servers": f"{bridge_ip}:{ports['kafka_node']}",
        "database_url": (
            f"postgresql+asyncpg://{postgres.ROLE}:{password(state)}@{bridge_ip}:"
            f"{ports['postgres']}/{postgres.DATABASE}"
        ),
    }

"""Which per-project rights the service binds to itself: plain data, no client import.

Kept apart from ``project_access`` so the composition root can describe the grant
without importing the Kubernetes client (commands that never reach the cluster, such as
a replay of an applied log, start faster without it).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Grant:
    """Which ClusterRole to bind, to which ServiceAccount (the service's own)."""

    cluster_role: str
    service_account: str
    service_account_namespace: str

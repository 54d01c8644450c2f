"""Teardown: uninstall the release, delete the namespace, wait until it is gone.

Deletion is reported only when the namespace no longer exists; a namespace stuck in
``Terminating`` surfaces as a timeout naming what still blocks it. Helm keeps its
release records inside the namespace, so no namespace means nothing to uninstall and
no Helm call is made.
"""

from __future__ import annotations

from consumer.domain.model import SessionState
from consumer.ports import Cluster, Helm


async def teardown(session: SessionState, *, helm: Helm, cluster: Cluster, timeout: float) -> None:
    """Remove everything ``session`` owns in the cluster."""
    ns = session.namespace
    if not await cluster.namespace_exists(ns):
        return
    await helm.uninstall(session.release_name, ns)
    await cluster.delete_namespace(ns)
    await cluster.wait_namespace_gone(ns, timeout)

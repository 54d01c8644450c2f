"""Teardown: uninstall the release, delete the namespace, wait until it is gone.

Ownership is checked first, before the first destructive call: a namespace that has the
project's name but not our labels is left alone, release and all (a permanent failure
that names it), rather than uninstalled and then refused only at the namespace delete.

Deletion is reported only when the namespace no longer exists; a namespace stuck in
``Terminating`` surfaces as a timeout naming what still blocks it. Helm keeps its
release records inside the namespace, so no namespace means nothing to uninstall and
no Helm call is made.
"""

from __future__ import annotations

from consumer.domain import naming
from consumer.domain.errors import PermanentError
from consumer.domain.model import SessionState
from consumer.ports import Cluster, Helm


async def teardown(session: SessionState, *, helm: Helm, cluster: Cluster, timeout: float) -> None:
    """Remove everything ``session`` owns in the cluster."""
    ns = session.namespace
    labels = await cluster.namespace_labels(ns)
    if labels is None:
        return
    if not naming.owns(labels, session.project_uuid):
        raise PermanentError("check namespace ownership", f"refusing to tear down {ns}: not ours")
    await helm.uninstall(session.release_name, ns)
    await cluster.delete_namespace(ns)
    await cluster.wait_namespace_gone(ns, timeout)

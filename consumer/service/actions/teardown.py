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

OWNERSHIP_STEP = "check namespace ownership"


async def teardown(session: SessionState, *, helm: Helm, cluster: Cluster, timeout: float) -> None:
    """Remove everything ``session`` owns in the cluster."""
    await remove_owned(
        session.project_uuid,
        session.namespace,
        session.release_name,
        helm=helm,
        cluster=cluster,
        timeout=timeout,
    )


async def remove_owned(
    project_uuid: str,
    namespace: str,
    release: str,
    *,
    helm: Helm,
    cluster: Cluster,
    timeout: float | None,
) -> bool:
    """Uninstall ``release`` and delete ``namespace``, only if the namespace is ours.

    The one destructive path, shared by teardown and the orphan sweep. Waits until the
    namespace is gone unless ``timeout`` is None (the sweep does not hold the resync up
    for it; a namespace still terminating is no longer listed as ours). False when the
    namespace did not exist.
    """
    labels = await cluster.namespace_labels(namespace)
    if labels is None:
        return False
    if not naming.owns(labels, project_uuid):
        raise PermanentError(OWNERSHIP_STEP, f"refusing to tear down {namespace}: not ours")
    await helm.uninstall(release, namespace)
    await cluster.delete_namespace(namespace)
    if timeout is not None:
        await cluster.wait_namespace_gone(namespace, timeout)
    return True

"""Provision: namespace, Helm release, wait until Available, read the endpoints.

Every step is idempotent, so an interrupted provision is simply run again. An existing
release with the same values is adopted without an upgrade (a replay into an empty
database makes no install). A release stuck in ``pending-*`` is recovered first: the
caller holds the project's lease, so no live worker owns that operation any more.
"""

from __future__ import annotations

import dataclasses

import structlog

from consumer.domain import endpoints, naming, values
from consumer.domain.errors import PermanentError
from consumer.domain.images import ImagePolicy
from consumer.domain.model import Endpoints, SessionState
from consumer.ports import Cluster, Helm, ReleaseState

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class ProvisionConfig:
    """What provisioning needs from settings."""

    url_template: str
    ready_timeout: float
    images: ImagePolicy = dataclasses.field(default_factory=ImagePolicy)  # re-checked here


async def provision(
    session: SessionState, *, helm: Helm, cluster: Cluster, config: ProvisionConfig
) -> Endpoints:
    """Bring ``session``'s release to its desired values and return its endpoints."""
    ns, release = session.namespace, session.release_name
    if refusal := config.images.refusal(session.overrides):  # the list may have shrunk since
        raise PermanentError("check image allow-list", refusal)
    await cluster.ensure_namespace(ns, naming.namespace_labels(session.project_uuid))
    wanted = values.chart_values(
        session, ingress_host=endpoints.ingress_host(config.url_template, session.project_uuid)
    )
    info = await helm.status(release, ns)
    if info.state is ReleaseState.PENDING:
        log.warning(
            "recovering interrupted helm operation", release=release, status=info.raw_status
        )
        if info.raw_status == "pending-install":
            await helm.uninstall(release, ns)
        else:
            await helm.rollback(release, ns)
        info = await helm.status(release, ns)
    if info.state is ReleaseState.DEPLOYED and await helm.get_values(release, ns) == wanted:
        log.info("adopting existing release", release=release, revision=info.revision)
    else:
        await helm.upgrade_install(release, ns, wanted)
    await cluster.wait_deployment_available(ns, release, config.ready_timeout)
    observed = await cluster.observe(ns, release)
    return endpoints.build(config.url_template, session.project_uuid, ns, observed)

"""Provision: namespace, Helm release, wait until Available, read the endpoints.

Every step is idempotent, so an interrupted provision is simply run again. What to do
with the release is the domain's decision (``domain.release.next_action``); this module
only observes the release, runs the action it names, and observes again after a
recovery, so an existing release with the same values is adopted without an upgrade, one
stuck in ``pending-*`` is recovered first, and one whose Deployment was deleted or scaled
to zero by hand is upgraded (which puts back what the chart describes).

The first observation is skipped when this provision created the namespace: Helm keeps a
release's records in its namespace, so a namespace made a moment ago holds none, and
``helm status`` (a whole Helm process) would only say "absent". That is a fact of the
cluster, not of the database, so adoption after a database wipe and recovery after a
killed install still observe first: their namespace exists already.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import structlog

from consumer.domain import endpoints, naming, release, values
from consumer.domain.errors import PermanentError, TransientError
from consumer.domain.images import ImagePolicy
from consumer.domain.model import Endpoints, SessionState
from consumer.domain.release import NextAction, ObservedRelease, ReleaseInfo, ReleaseState
from consumer.ports import Cluster, Helm

log = structlog.get_logger(__name__)
MAX_RECOVERIES = 2  # a release still pending after this many recoveries is left for a retry


@dataclasses.dataclass(frozen=True)
class ProvisionConfig:
    """What provisioning needs from settings."""

    url_template: str
    ready_timeout: float
    # The operator's values for every release (``DEVSESSIONS_CHART_VALUES_FILE``), under
    # each project's own values; one merged file goes to Helm, so adoption compares alike.
    base_values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    images: ImagePolicy = dataclasses.field(default_factory=ImagePolicy)  # re-checked here


async def provision(
    session: SessionState, *, helm: Helm, cluster: Cluster, config: ProvisionConfig
) -> Endpoints:
    """Bring ``session``'s release to its desired values and return its endpoints."""
    ns, name = session.namespace, session.release_name
    if refusal := config.images.refusal(session.overrides):  # the list may have shrunk since
        raise PermanentError("check image allow-list", refusal)
    created = await cluster.ensure_namespace(ns, naming.namespace_labels(session.project_uuid))
    wanted = values.merged(
        config.base_values,
        values.chart_values(
            session, ingress_host=endpoints.ingress_host(config.url_template, session.project_uuid)
        ),
    )
    await converge_release(helm, name, ns, wanted, fresh_namespace=created, cluster=cluster)
    observed = await cluster.wait_ready(ns, name, config.ready_timeout)
    return endpoints.build(config.url_template, session.project_uuid, ns, observed)


async def observe_release(
    helm: Helm, name: str, ns: str, cluster: Cluster | None = None
) -> ObservedRelease:
    """The release's status, and its current values and (given the cluster) whether its
    workload is in place, when the decision needs them."""
    info = await helm.status(name, ns)
    if not release.reads_values(info):
        return ObservedRelease(info)
    current = await helm.get_values(name, ns)
    present = await cluster.workload_present(ns, name) if cluster is not None else True
    return ObservedRelease(info, current, present)


async def converge_release(
    helm: Helm,
    name: str,
    ns: str,
    wanted: dict[str, Any],
    *,
    fresh_namespace: bool = False,
    cluster: Cluster | None = None,
) -> NextAction:
    """Observe, run the next action, repeat after a recovery; returns the last action.

    ``fresh_namespace``: the namespace was created just now, so the release is absent
    without asking Helm."""
    for attempt in range(MAX_RECOVERIES + 1):
        if fresh_namespace and attempt == 0:
            observed = ObservedRelease(ReleaseInfo(ReleaseState.ABSENT), None)
        else:
            observed = await observe_release(helm, name, ns, cluster)
        action = release.next_action(observed, wanted)
        log.info(
            "helm release action",
            release=name,
            release_action=action.value,
            status=observed.info.raw_status,
            revision=observed.info.revision,
            workload_present=observed.workload_present,
        )
        if action is NextAction.UNINSTALL_INTERRUPTED:
            await helm.uninstall(name, ns)
        elif action is NextAction.ROLLBACK_INTERRUPTED:
            await helm.rollback(name, ns)
        elif action in (NextAction.INSTALL, NextAction.UPGRADE):
            await helm.upgrade_install(name, ns, wanted)
        if not action.recovers:
            return action
    raise TransientError("recover helm release", f"{name} still pending after recovery")

"""Chart values for one project: identity plus its allow-listed overrides.

Values go to Helm in a file (``-f``), never as ``--set`` strings built from event data,
so no event can smuggle in Helm's ``--set`` syntax. The overrides were validated against
the allow-list when the event was decoded; this mapping is the only place that knows
where each allowed override lands in the chart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consumer.domain.endpoints import COMPONENTS
from consumer.domain.model import SessionState


def merged(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` on top of ``base``, maps merged key by key (as Helm merges values files).

    The base is the operator's values file for every release (e.g. the local stack's
    images); the project's own values win wherever both set a key.
    """
    out: dict[str, Any] = dict(base)
    for key, value in over.items():
        below = out.get(key)
        if isinstance(below, Mapping) and isinstance(value, Mapping):
            out[key] = merged(below, value)
        else:
            out[key] = value
    return out


def chart_values(session: SessionState, *, ingress_host: str) -> dict[str, Any]:
    """The values file content for ``session``'s release."""
    values: dict[str, Any] = {
        "project": {"uuid": session.project_uuid, "id": session.project_id},
        "user": {"id": session.user_id},
    }
    if ingress_host:
        values["ingress"] = {"host": ingress_host}
    overrides = session.overrides
    containers: dict[str, dict[str, Any]] = {}
    requests = {
        key: overrides[field]
        for key, field in (("cpu", "cpu_request"), ("memory", "memory_request"))
        if overrides.get(field)
    }
    for name in COMPONENTS:
        spec: dict[str, Any] = {}
        if image := overrides.get(f"{name}_image"):
            spec["image"] = image
        if requests:
            spec["resources"] = {"requests": dict(requests)}
        if spec:
            containers[name] = spec
    if containers:
        values["containers"] = containers
    if env := overrides.get("env"):
        values["extraEnv"] = [{"name": k, "value": v} for k, v in sorted(env.items())]
    return values

"""Build the URLs a ready session is reached at, from what the cluster reports."""

from __future__ import annotations

import dataclasses
from urllib.parse import urlsplit

from consumer.domain.model import Endpoints

COMPONENTS = ("preview", "chat", "vscode")


@dataclasses.dataclass(frozen=True)
class Route:
    """One endpoint as observed: its Service, port and Ingress path."""

    service: str
    port: int
    path: str


@dataclasses.dataclass(frozen=True)
class Observed:
    """What the cluster shows for a ready release."""

    cluster_ip: str
    routes: dict[str, Route]


def public_url(
    template: str, *, project_uuid: str, namespace: str, ip_address: str, path: str
) -> str:
    """Fill the configured public URL template (``{project_uuid}``, ``{path}``, ...)."""
    return template.format(
        project_uuid=project_uuid, namespace=namespace, ip_address=ip_address, path=path
    )


def ingress_host(template: str, project_uuid: str) -> str:
    """The Ingress host for a project, or "" when the template names no stable host."""
    if "{ip_address}" in template:
        return ""
    url = public_url(
        template, project_uuid=project_uuid, namespace=project_uuid, ip_address="", path=""
    )
    return urlsplit(url).hostname or ""


def build(template: str, project_uuid: str, namespace: str, observed: Observed) -> Endpoints:
    """Endpoints for ``SessionReady``; raises KeyError if a component is missing."""
    fields: dict[str, str] = {"ip_address": observed.cluster_ip}
    for name in COMPONENTS:
        route = observed.routes[name]
        fields[f"{name}_path"] = route.path
        fields[f"{name}_url"] = public_url(
            template,
            project_uuid=project_uuid,
            namespace=namespace,
            ip_address=observed.cluster_ip,
            path=route.path,
        )
        fields[f"{name}_internal_url"] = (
            f"http://{route.service}.{namespace}.svc.cluster.local:{route.port}{route.path}"
        )
    return Endpoints(**fields)

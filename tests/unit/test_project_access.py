"""The per-project RoleBinding the service makes, and the settings that ask for it."""

from __future__ import annotations

import pytest
from kubernetes import client

from consumer import bootstrap
from consumer.adapters.project_access import Grant, ProjectAccess, role_binding
from consumer.settings import Settings


def test_binding_grants_the_per_project_role_to_the_service_alone() -> None:
    body = role_binding("p-1", Grant("prov-devsessions-project", "prov-devsessions", "sys"))
    assert (body.metadata.name, body.metadata.namespace) == ("prov-devsessions-project", "p-1")
    assert (body.role_ref.kind, body.role_ref.name) == ("ClusterRole", "prov-devsessions-project")
    assert [(s.kind, s.name, s.namespace) for s in body.subjects] == [
        ("ServiceAccount", "prov-devsessions", "sys")
    ]


def test_no_role_configured_means_no_binding() -> None:
    assert bootstrap.project_access(Settings(), client.ApiClient()) is None


def test_a_role_without_the_service_account_is_refused_at_start() -> None:
    settings = Settings(project_cluster_role="prov-devsessions-project")
    with pytest.raises(ValueError, match="SERVICE_ACCOUNT"):
        bootstrap.project_access(settings, client.ApiClient())


def test_a_role_with_the_service_account_makes_bindings() -> None:
    settings = Settings(
        project_cluster_role="r", service_account_name="sa", service_account_namespace="ns"
    )
    assert isinstance(bootstrap.project_access(settings, client.ApiClient()), ProjectAccess)

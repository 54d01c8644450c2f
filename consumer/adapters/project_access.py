"""The service's own rights inside a project namespace: one RoleBinding, made on creation.

Why: the service holds only a cluster-wide minimum (create namespaces, read them, create
RoleBindings, ``bind`` one ClusterRole). Everything it does inside a project namespace (Helm
release records, the chart's objects, relabelling and deleting the namespace) comes from a
RoleBinding of the per-project ClusterRole to its own ServiceAccount in that namespace, which
this module creates right after the namespace. The chart's admission policy allows exactly
this binding and only in namespaces labelled as the service's own.

RBAC caches bindings in the API server, so a fresh binding takes a moment to count; ``ensure``
waits until the API server answers "allowed" for a right the binding grants, so the next Helm
call does not fail for a reason that is gone a second later.
"""

from __future__ import annotations

import time

from kubernetes import client
from kubernetes.client.exceptions import ApiException

from consumer.adapters.project_grant import Grant

__all__ = ["Grant", "ProjectAccess", "role_binding"]

PROPAGATION_TIMEOUT_SECONDS = 10.0
PROPAGATION_POLL_SECONDS = 0.2


def role_binding(namespace: str, grant: Grant) -> client.V1RoleBinding:
    """The RoleBinding that gives the service its per-project rights in ``namespace``."""
    return client.V1RoleBinding(
        metadata=client.V1ObjectMeta(
            name=grant.cluster_role,
            namespace=namespace,
            labels={"app.kubernetes.io/managed-by": "devsessions"},
        ),
        role_ref=client.V1RoleRef(
            api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=grant.cluster_role
        ),
        subjects=[
            client.RbacV1Subject(
                kind="ServiceAccount",
                name=grant.service_account,
                namespace=grant.service_account_namespace,
            )
        ],
    )


class ProjectAccess:
    """Creates the per-project RoleBinding and waits until the API server honours it."""

    def __init__(self, api: client.ApiClient, grant: Grant) -> None:
        self._rbac = client.RbacAuthorizationV1Api(api)
        self._authz = client.AuthorizationV1Api(api)
        self._grant = grant

    def ensure(self, namespace: str, request_timeout: tuple[int, int]) -> None:
        """Bind the per-project role in ``namespace`` (idempotent; blocking, run on a pool)."""
        try:
            self._rbac.create_namespaced_role_binding(
                namespace, role_binding(namespace, self._grant), _request_timeout=request_timeout
            )
        except ApiException as exc:
            if exc.status != 409:  # 409: it exists already (made by an earlier attempt)
                raise
        self._wait_effective(namespace, request_timeout)

    def _wait_effective(self, namespace: str, request_timeout: tuple[int, int]) -> None:
        review = client.V1SelfSubjectAccessReview(
            spec=client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=client.V1ResourceAttributes(
                    namespace=namespace, verb="list", resource="secrets"
                )
            )
        )
        deadline = time.monotonic() + PROPAGATION_TIMEOUT_SECONDS
        while True:
            answer = self._authz.create_self_subject_access_review(
                review, _request_timeout=request_timeout
            )
            if (answer.status and answer.status.allowed) or time.monotonic() >= deadline:
                return  # if still not allowed, the next call fails and is retried
            time.sleep(PROPAGATION_POLL_SECONDS)

"""Names derived from a project UUID: its namespace and its Helm release.

The namespace is the UUID itself (as the design has it); the release name carries a
prefix so ``helm list -A`` shows what it is. Both stay within Kubernetes' limits
(63 for a namespace, 53 for a release) because a canonical UUID has 36 characters.
"""

from __future__ import annotations

import re

RELEASE_PREFIX = "dev-session-"
PROJECT_LABEL = "devsessions.io/project-uuid"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGER = "devsessions"
# Suffix of a lease owner that works only while holding the project's lock: its lease may
# be taken over as soon as that lock is free (the owner died), not only when it expires.
LOCK_HOLDER = "+lock"
_PROJECT_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def is_project_uuid(name: str) -> bool:
    """True for a canonical (lowercase) UUID: the only names project namespaces have."""
    return _PROJECT_UUID.fullmatch(name) is not None


def namespace_for(project_uuid: str) -> str:
    """The namespace that holds one project's session."""
    return project_uuid


def release_for(project_uuid: str) -> str:
    """The Helm release name of one project's session."""
    return f"{RELEASE_PREFIX}{project_uuid}"


def namespace_labels(project_uuid: str) -> dict[str, str]:
    """Labels on a project namespace: ownership plus Pod Security Admission enforcement."""
    return {
        MANAGED_BY_LABEL: MANAGER,
        PROJECT_LABEL: project_uuid,
        "pod-security.kubernetes.io/enforce": "restricted",
        "pod-security.kubernetes.io/enforce-version": "latest",
        "pod-security.kubernetes.io/audit": "restricted",
        "pod-security.kubernetes.io/warn": "restricted",
    }


def owns(labels: dict[str, str], project_uuid: str) -> bool:
    """True when a namespace with ``labels`` is ours and belongs to ``project_uuid``.

    Decides before anything destructive runs in it: a namespace that merely has the
    project's name (made by hand, or by another tool) is never uninstalled or deleted.
    """
    project = labels.get(PROJECT_LABEL)
    return labels.get(MANAGED_BY_LABEL) == MANAGER and project in (None, project_uuid)


def project_lock(project_uuid: str) -> str:
    """The name of the session-level lock a worker holds while it works on a project."""
    return f"devsessions.project:{project_uuid}"

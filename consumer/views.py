"""Read-side views of a session with the design's field names (CLI and HTTP share them)."""

from __future__ import annotations

from typing import Any

from consumer.domain.model import SessionState, endpoint_values


def session_view(session: SessionState) -> dict[str, Any]:
    """The design's session document: ``id``, ``project_uuid``, ``status``, URLs, times."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": session.id,
        "project_uuid": session.project_uuid,
        "project_id": session.project_id,
        "user_id": session.user_id,
        "namespace": session.namespace,
        "release_name": session.release_name,
        "status": session.status.value,
        "desired": session.desired.value,
        **endpoint_values(session.endpoints),
        "generation": session.generation,
        "observed_generation": session.observed_generation,
        "attempts": session.attempts,
        "last_error": session.last_error,
        "created_at": iso(session.created_at),
        "updated_at": iso(session.updated_at),
        "ready_at": iso(session.ready_at),
        "deleted_at": iso(session.deleted_at),
        "expires_at": iso(session.expires_at),
    }

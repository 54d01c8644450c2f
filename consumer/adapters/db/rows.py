"""Mapping between ``sessions`` rows and the domain's ``SessionState`` snapshots."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consumer.domain.model import (
    ENDPOINT_FIELDS,
    RECONCILER_FIELDS,
    Cause,
    Desired,
    Endpoints,
    EndReason,
    LogPosition,
    SessionState,
    Status,
    endpoint_values,
)

# Columns the reconciler owns; intake owns the rest (see SqlSessions.save_outcome).
RECONCILER_COLUMNS = tuple(
    column
    for name in RECONCILER_FIELDS
    for column in (ENDPOINT_FIELDS if name == "endpoints" else (name,))
)


def to_state(row: Mapping[Any, Any]) -> SessionState:
    """A domain snapshot from a row mapping."""
    endpoints = None
    if row["ip_address"] is not None:
        endpoints = Endpoints(**{name: row[name] for name in ENDPOINT_FIELDS})
    high_water = None
    if row["hw_partition"] is not None:
        high_water = LogPosition(row["hw_partition"], row["hw_offset"], row["hw_topic_id"])
    return SessionState(
        id=row["id"],
        project_uuid=row["project_uuid"],
        project_id=row["project_id"],
        user_id=row["user_id"],
        namespace=row["namespace"],
        release_name=row["release_name"],
        status=Status(row["status"]),
        desired=Desired(row["desired"]),
        generation=row["generation"],
        observed_generation=row["observed_generation"],
        high_water=high_water,
        cause=Cause(row["cause_event_id"], row["cause_source"]),
        overrides=dict(row["overrides"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        expires_at=row["expires_at"],
        endpoints=endpoints,
        ready_at=row["ready_at"],
        deleted_at=row["deleted_at"],
        attempts=row["attempts"],
        retries=row["retries"],
        last_error=row["last_error"],
        next_attempt_at=row["next_attempt_at"],
        end_reason=EndReason(row["end_reason"]) if row["end_reason"] else None,
    )


def to_row(state: SessionState) -> dict[str, Any]:
    """Every column of ``state`` except the identity and lease columns."""
    return {
        "project_uuid": state.project_uuid,
        "project_id": state.project_id,
        "user_id": state.user_id,
        "namespace": state.namespace,
        "release_name": state.release_name,
        "status": state.status.value,
        "desired": state.desired.value,
        "generation": state.generation,
        "observed_generation": state.observed_generation,
        "overrides": state.overrides,
        "hw_partition": state.high_water.partition if state.high_water else None,
        "hw_offset": state.high_water.offset if state.high_water else None,
        "hw_topic_id": state.high_water.topic_id if state.high_water else None,
        "cause_event_id": state.cause.id,
        "cause_source": state.cause.source,
        "attempts": state.attempts,
        "retries": state.retries,
        "last_error": state.last_error,
        "next_attempt_at": state.next_attempt_at,
        "created_at": state.created_at,
        "updated_at": state.updated_at,
        "expires_at": state.expires_at,
        "ready_at": state.ready_at,
        "deleted_at": state.deleted_at,
        "end_reason": state.end_reason.value if state.end_reason else None,
        **endpoint_values(state.endpoints),
    }

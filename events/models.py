"""The event payloads (CloudEvents ``data``): what producers and consumers agree on.

Input events come from the upstream project service; output events are written by the
provisioner for downstream UIs. All models are frozen and strict (no coercion: ``"1"``
is not an int, a naive datetime is not a time).

Unknown-field policy, chosen per direction:

* Input events (``ProjectCreated``, ``ProjectDeleted``) *ignore* unknown top-level
  fields, so the upstream service can add optional fields within ``v1`` without
  breaking consumers that have not been upgraded yet.
* ``ChartOverrides`` *forbids* unknown fields: it is the chart's allow-list, and an
  override that is silently dropped would leave a user with a session that is not what
  they asked for.
* Output events (``SessionReady``, ``SessionDeleted``, ``SessionFailed``) *forbid*
  unknown fields: we are their only producer, so an unknown field is our own bug.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from events.fields import (
    ENV_JSON_SCHEMA,
    MAX_ENV_ENTRIES,
    CpuQuantity,
    DnsLabel,
    EnvName,
    EnvValue,
    ImageRef,
    IpAddress,
    MemoryQuantity,
    NonNegativeId,
    ProjectUUID,
    Reason,
    ReleaseName,
    Url,
    UrlPath,
)

__all__ = [
    "AnyEvent",
    "ChartOverrides",
    "ProjectCreated",
    "ProjectDeleted",
    "ProjectEvent",
    "ProjectUUID",
    "SessionDeleted",
    "SessionEvent",
    "SessionFailed",
    "SessionReady",
]


class _InputEvent(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="ignore")

    project_uuid: ProjectUUID


class _OutputEvent(BaseModel):
    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    project_uuid: ProjectUUID


class ChartOverrides(BaseModel):
    """Per-project overrides; exactly the chart's allow-list, nothing else."""

    model_config = ConfigDict(frozen=True, strict=True, extra="forbid")

    preview_image: ImageRef | None = None
    chat_image: ImageRef | None = None
    vscode_image: ImageRef | None = None
    cpu_request: CpuQuantity | None = None
    memory_request: MemoryQuantity | None = None
    env: dict[EnvName, EnvValue] = Field(
        default_factory=dict, max_length=MAX_ENV_ENTRIES, json_schema_extra=ENV_JSON_SCHEMA
    )


class ProjectCreated(_InputEvent):
    """A project exists upstream: it must get an always-on session."""

    project_id: NonNegativeId
    user_id: NonNegativeId
    overrides: ChartOverrides | None = None
    created_at: AwareDatetime


class ProjectDeleted(_InputEvent):
    """A project is gone upstream: its session must be torn down."""

    deleted_at: AwareDatetime


class SessionReady(_OutputEvent):
    """The project's session runs and answers on these endpoints."""

    namespace: DnsLabel
    release_name: ReleaseName
    status: Literal["running"] = "running"
    ip_address: IpAddress
    preview_url: Url
    preview_path: UrlPath
    chat_url: Url
    chat_path: UrlPath
    vscode_url: Url
    vscode_path: UrlPath
    preview_internal_url: Url
    chat_internal_url: Url
    vscode_internal_url: Url
    ready_at: AwareDatetime
    expires_at: AwareDatetime


class SessionDeleted(_OutputEvent):
    """The project's release is uninstalled and its namespace is gone.

    ``reason`` says why: the project was deleted, or its session expired without renewal.
    It is left out of the JSON at its default, so every ``SessionDeleted`` a reader of
    the older contract could receive is unchanged; only ``expired`` ones carry it.
    """

    namespace: DnsLabel
    release_name: ReleaseName
    deleted_at: AwareDatetime
    reason: Literal["deleted", "expired"] = Field(
        default="deleted",
        exclude_if=lambda value: value == "deleted",
        description=(
            "Why the session ended: the project was deleted (the default, omitted on"
            " the wire), or the session expired without renewal."
        ),
    )


class SessionFailed(_OutputEvent):
    """Provisioning or teardown failed; will_retry tells whether it is final."""

    operation: Literal["provision", "teardown"]
    reason: Reason
    will_retry: bool
    attempts: int = Field(ge=1, le=1_000_000)
    failed_at: AwareDatetime


ProjectEvent = ProjectCreated | ProjectDeleted
SessionEvent = SessionReady | SessionDeleted | SessionFailed
AnyEvent = ProjectEvent | SessionEvent

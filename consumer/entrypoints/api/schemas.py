"""Request and response shapes, for validation and for the generated OpenAPI document.

Responses are the design's session document (``consumer.views.session_view``); these
models describe it for ``/openapi.json`` and the docs page.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictInt

from consumer.domain.intents import MAX_ID


class CreateSession(BaseModel):
    """``POST /api/v1/sessions``: the design's body."""

    model_config = ConfigDict(extra="forbid")

    user_id: StrictInt = Field(ge=0, le=MAX_ID)
    project_id: StrictInt = Field(ge=0, le=MAX_ID)
    project_uuid: str = Field(
        description="canonical lowercase UUID", examples=["550e8400-e29b-41d4-a716-446655440000"]
    )


class Session(BaseModel):
    """A project's session with the design's field names (plus bookkeeping)."""

    id: int | None
    project_uuid: str
    project_id: int
    user_id: int
    namespace: str
    release_name: str
    status: str = Field(description="pending, provisioning, running, deleting, deleted, failed")
    desired: str
    ip_address: str | None
    preview_url: str | None
    preview_path: str | None
    chat_url: str | None
    chat_path: str | None
    vscode_url: str | None
    vscode_path: str | None
    preview_internal_url: str | None
    chat_internal_url: str | None
    vscode_internal_url: str | None
    generation: int
    observed_generation: int
    attempts: int
    last_error: str | None
    created_at: str | None
    updated_at: str | None
    ready_at: str | None
    deleted_at: str | None
    expires_at: str | None


class SessionPage(BaseModel):
    """One page of ``GET /api/v1/sessions``; pass ``next_cursor`` back for the next."""

    items: list[Session]
    next_cursor: str | None


class Error(BaseModel):
    """Every error the API answers."""

    code: str
    message: str


ERRORS: dict[int | str, dict[str, object]] = {
    code: {"model": Error, "description": text}
    for code, text in {
        400: "bad input (UUID not canonical lowercase, bad ids, bad JSON)",
        401: "no bearer token",
        403: "token not accepted",
        404: "no such session",
        413: "body too large",
        503: "the event log cannot take the event; nothing was published",
    }.items()
}

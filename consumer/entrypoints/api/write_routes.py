"""Writes: create and delete, each one event on the input topic.

The API never changes a session itself; it publishes the event the upstream service
would have sent, with an id derived from the state the request saw, and answers 202
with the session as it will stand. A replay of the log rebuilds what the API did.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from consumer.domain import intents
from consumer.domain.intents import Verdict
from consumer.entrypoints.api import schemas
from consumer.entrypoints.api.context import ApiContext, context, writer
from consumer.entrypoints.api.errors import ApiError
from consumer.entrypoints.api.read_routes import answer
from consumer.views import session_view
from events import ProjectCreated, ProjectDeleted

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"], dependencies=[Depends(writer)])
Ctx = Annotated[ApiContext, Depends(context)]


@router.post(
    "",
    summary="Create a project's session",
    responses={200: {"model": schemas.Session}, 202: {"model": schemas.Session}, **schemas.ERRORS},
)
async def create(ctx: Ctx, body: schemas.CreateSession) -> JSONResponse:
    """Publish ``ProjectCreated``: 202 while it is provisioned, 200 if already running.
    Also revives a failed session and applies changed ids."""
    project_uuid = intents.check_uuid(body.project_uuid)
    ids = intents.Ids(user_id=body.user_id, project_id=body.project_id)
    session = await ctx.reads.by_project(project_uuid)
    decision = intents.on_create(project_uuid, session, ids)
    location = f"/api/v1/sessions/project/{project_uuid}"
    if decision.verdict is Verdict.PUBLISH:
        event = ProjectCreated(
            project_uuid=project_uuid,
            project_id=ids.project_id,
            user_id=ids.user_id,
            created_at=datetime.now(UTC),
        )
        await ctx.intents.publish(event, decision.event_id)
        session = intents.as_requested(project_uuid, session, ids, ctx.now())
    assert session is not None
    return answer(session, location=location)


@router.delete(
    "/{session_id}",
    summary="Delete a session by its numeric id or its project UUID",
    responses={200: {"model": schemas.Session}, 202: {"model": schemas.Session}, **schemas.ERRORS},
)
async def delete(ctx: Ctx, session_id: str) -> JSONResponse:
    """Publish ``ProjectDeleted``: 202 while it is torn down, 200 if already deleted."""
    ref = intents.session_ref(session_id)
    if isinstance(ref, int):
        session = await ctx.reads.by_id(ref)
    else:
        session = await ctx.reads.by_project(ref)
    decision = intents.on_delete(session)
    if decision.verdict is Verdict.NOT_FOUND or session is None:
        raise ApiError(404, "not_found", f"no session {session_id}")
    if decision.verdict is Verdict.PUBLISH:
        event = ProjectDeleted(project_uuid=session.project_uuid, deleted_at=datetime.now(UTC))
        await ctx.intents.publish(event, decision.event_id)
        session = intents.as_deleting(session)
    if decision.verdict is Verdict.GONE:
        return JSONResponse(session_view(session), 200)
    location = f"/api/v1/sessions/project/{session.project_uuid}"
    return JSONResponse(session_view(session), 202, headers={"Location": location})

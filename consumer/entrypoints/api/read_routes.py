"""Reads: get-or-create (with ``?wait=``), the Server-Sent Events stream, the list.

Get-or-create only ever publishes; it reads the session the consumer wrote. A
``?wait=`` request subscribes to the project's change notifications before reading, so
a change between the read and the wait is never missed, and holds until the session is
running or failed (or the wait ends).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent

from consumer.api_ports import Watch
from consumer.domain import intents
from consumer.domain.intents import Verdict
from consumer.domain.model import SessionState, Status
from consumer.entrypoints.api import schemas
from consumer.entrypoints.api.context import ApiContext, canonical_project, context, reader
from consumer.entrypoints.api.errors import ApiError
from consumer.views import session_view
from events import ProjectCreated

router = APIRouter(prefix="/api/v1/sessions", tags=["sessions"])
Ctx = Annotated[ApiContext, Depends(context)]
Project = Annotated[str, Depends(canonical_project)]
STREAM_IDLE_SECONDS = 30.0


def answer(session: SessionState, *, location: str | None = None) -> JSONResponse:
    """200 for a settled (running or failed) session, 202 while work is under way."""
    status = 200 if intents.settled(session) or session.status is Status.DELETED else 202
    headers = {"Location": location} if location and status == 202 else None
    return JSONResponse(session_view(session), status, headers=headers)


async def hold(
    ctx: ApiContext, watch: Watch, project_uuid: str, session: SessionState | None, seconds: float
) -> SessionState | None:
    """Re-read on each notification until the session settles or ``seconds`` pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not intents.settled(session) and (left := deadline - loop.time()) > 0:
        if await watch.changed(left):
            session = await ctx.reads.by_project(project_uuid)
    return session


@router.get(
    "/project/{project_uuid}",
    summary="Get (or create) a project's session",
    responses={200: {"model": schemas.Session}, 202: {"model": schemas.Session}, **schemas.ERRORS},
)
async def get_or_create(  # noqa: PLR0917 (FastAPI passes query parameters by name)
    ctx: Ctx,
    request: Request,
    project_uuid: str,
    user_id: Annotated[int | None, Query(ge=0, le=intents.MAX_ID)] = None,
    project_id: Annotated[int | None, Query(ge=0, le=intents.MAX_ID)] = None,
    wait: Annotated[float | None, Query(description="seconds to hold for running/failed")] = None,
) -> JSONResponse:
    """A live session answers as it stands; an unknown or deleted project with both
    ids is created (``ProjectCreated`` on the input topic) and answers 202."""
    ctx.require_read(request)
    intents.check_uuid(project_uuid)
    ids = intents.check_ids(user_id, project_id)
    seconds = intents.wait_seconds(wait, ctx.max_wait_seconds)
    location = f"/api/v1/sessions/project/{project_uuid}"
    async with ctx.changes.watch(project_uuid) as watch:
        session = await ctx.reads.by_project(project_uuid)
        decision = intents.on_get(project_uuid, session, ids)
        if decision.verdict is Verdict.NOT_FOUND:
            raise ApiError(
                404, "not_found", "no session for this project; give user_id and project_id"
            )
        if decision.verdict is Verdict.PUBLISH:
            assert ids is not None
            ctx.require_write(request)
            event = ProjectCreated(
                project_uuid=project_uuid,
                project_id=ids.project_id,
                user_id=ids.user_id,
                created_at=datetime.now(UTC),
            )
            await ctx.intents.publish(event, decision.event_id)
        if seconds > 0:
            session = await hold(ctx, watch, project_uuid, session, seconds)
    if not intents.is_live(session):  # published, not yet taken in: as it will stand
        session = intents.as_requested(project_uuid, session, ids, ctx.now())
    assert session is not None
    return answer(session, location=location)


@router.get(
    "/project/{project_uuid}/events",
    summary="Stream a project's session as it changes (Server-Sent Events)",
    response_class=EventSourceResponse,
    responses=schemas.ERRORS,
    dependencies=[Depends(reader)],
)
async def events(ctx: Ctx, project_uuid: Project) -> AsyncIterator[ServerSentEvent]:
    """One ``session`` event with the current state, then one per change."""
    async with ctx.changes.watch(project_uuid) as watch:
        last: dict[str, Any] | None = None
        while True:
            session = await ctx.reads.by_project(project_uuid)
            if session is not None:
                view = session_view(session)
                if view != last:
                    last = view
                    yield ServerSentEvent(data=view, event="session")
            await watch.changed(STREAM_IDLE_SECONDS)


@router.get(
    "",
    summary="List sessions, a page at a time",
    response_model=schemas.SessionPage,
    responses=schemas.ERRORS,
    dependencies=[Depends(reader)],
)
async def list_sessions(
    ctx: Ctx,
    status: Status | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: str | None = None,
) -> JSONResponse:
    """Sessions in ``id`` order; ``next_cursor`` is null on the last page."""
    after = intents.decode_cursor(cursor)
    page = await ctx.reads.page(status=status, after_id=after, limit=limit)
    last = page[-1].id if len(page) == limit and page[-1].id is not None else None
    next_cursor = intents.encode_cursor(last) if last is not None else None
    return JSONResponse({"items": [session_view(s) for s in page], "next_cursor": next_cursor})

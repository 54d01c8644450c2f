"""Session access: minting a token for a project's owner, and the forward-auth check.

``POST /api/v1/sessions/project/{uuid}/access`` (authenticated like every write) mints a
short-lived token for the user the caller names, if that user owns the session, and
returns the session's URLs with ``?access=<token>``. ``GET /api/v1/auth/forward`` is what
the Ingress controller calls before every request to a session; the decision itself is
``consumer.domain.session_access.decide``. The design is in docs/security.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from consumer.domain import access_token, expiry, intents, session_access
from consumer.domain.model import SessionState, Status
from consumer.domain.session_access import Verdict
from consumer.entrypoints.api import schemas
from consumer.entrypoints.api.context import ApiContext, canonical_project, context, writer
from consumer.entrypoints.api.errors import ApiError

router = APIRouter(tags=["access"])
Ctx = Annotated[ApiContext, Depends(context)]
Project = Annotated[str, Depends(canonical_project)]
_LIVE = (Status.PENDING, Status.PROVISIONING, Status.RUNNING, Status.FAILED)


class AccessRequest(BaseModel):
    user_id: int = Field(ge=0, le=intents.MAX_ID, description="the user who will open it")
    ttl_seconds: int | None = Field(default=None, ge=1, le=3600)


def _keys(ctx: ApiContext) -> tuple[bytes, ...]:
    keys = ctx.access_keys.all()
    if not keys:
        raise ApiError(503, "unavailable", "no access keys configured")
    return keys


def _owner(session: SessionState | None) -> int | None:
    return session.user_id if session is not None and session.status in _LIVE else None


@router.post(
    "/api/v1/sessions/project/{project_uuid}/access",
    summary="Mint a short-lived link for the session's owner to open it",
    dependencies=[Depends(writer)],
    responses=schemas.ERRORS,
)
async def grant(ctx: Ctx, project_uuid: Project, body: AccessRequest) -> JSONResponse:
    """403 unless ``user_id`` owns the session; the token is in the URLs, never in events.

    Minting renews the session's expiry: the owner opening it shows the project lives.
    """
    keys = _keys(ctx)
    session = await ctx.reads.by_project(project_uuid)
    owner = _owner(session)
    if owner is None:
        raise ApiError(404, "not_found", f"no live session for {project_uuid}")
    if owner != body.user_id:
        raise ApiError(403, "forbidden", "that user does not own this session")
    ttl = min(ctx.access_ttl, timedelta(seconds=body.ttl_seconds or 3600))
    now = ctx.now()
    if ctx.renewals is not None:  # the owner opening it: evidence that the project lives
        await ctx.renewals.renew(
            project_uuid, until=expiry.renewed_until(now, ctx.session_lifetime)
        )
    token = access_token.mint(keys[0], user_id=owner, project_uuid=project_uuid, now=now, ttl=ttl)
    urls: dict[str, str | None] = {}
    assert session is not None
    for name in ("vscode", "preview", "chat"):
        url = getattr(session.endpoints, f"{name}_url", None)
        urls[f"{name}_url"] = session_access.with_token(url, token) if url else None
    expires = (now + ttl).isoformat()
    return JSONResponse({"token": token, "expires_at": expires, **urls})


@router.head("/api/v1/auth/forward", include_in_schema=False)
@router.get(
    "/api/v1/auth/forward",
    summary="Forward-auth check of a request to a session (called by the Ingress controller)",
)
async def forward(ctx: Ctx, request: Request) -> Response:
    """2xx lets the request through; 302 sets the access cookie; 401 or 403 refuses."""
    headers = request.headers
    asked = session_access.Request(
        host=headers.get("x-forwarded-host", ""),
        uri=headers.get("x-forwarded-uri", "/"),
        proto=headers.get("x-forwarded-proto", "http"),
        cookie_token=request.cookies.get(session_access.COOKIE_NAME),
    )
    project = session_access.project_for_host(ctx.public_url_template, asked.host)
    session = await ctx.reads.by_project(project) if project else None
    decision = session_access.decide(
        asked,
        template=ctx.public_url_template,
        owner_id=_owner(session),
        keys=_keys(ctx),
        now=ctx.now(),
    )
    return answer(decision, secure=asked.proto == "https")


def answer(decision: session_access.Decision, *, secure: bool) -> Response:
    """The HTTP answer of a decision (the reason stays in the logs)."""
    if decision.verdict is Verdict.ALLOW:
        return Response(status_code=200)
    if decision.verdict is Verdict.REDIRECT:
        reply = Response(status_code=302, headers={"Location": decision.location})
        reply.set_cookie(
            session_access.COOKIE_NAME,
            decision.cookie,
            max_age=decision.max_age,
            path="/",
            httponly=True,
            secure=secure,
            samesite="lax",
        )
        return reply
    status = 401 if decision.verdict is Verdict.UNAUTHORIZED else 403
    return Response(status_code=status, headers={"Cache-Control": "no-store"})

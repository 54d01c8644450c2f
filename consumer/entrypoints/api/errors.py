"""One JSON shape for every error: ``{"code": ..., "message": ...}``.

FastAPI's own answers (422 validation details, ``{"detail": ...}``) are replaced so a
client can rely on one shape: bad input is 400 (a UUID that is not canonical lowercase
says so), unknown paths 404, wrong methods 405, oversized bodies 413 (``BodyLimit``),
and a log that cannot take an event 503.
"""

from __future__ import annotations

from collections.abc import Mapping
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from consumer.domain.intents import UUID_MESSAGE, BadRequest, LogUnavailable


class ApiError(Exception):
    """An answer other than success, raised from a route."""

    def __init__(
        self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = dict(headers or {})


def body(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}


def _code(status: int) -> str:
    if status == 413:
        return "content_too_large"
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_")
    except ValueError:
        return "error"


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors():
        loc = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(loc) or "body"
        if error.get("type") == "json_invalid":
            parts.append(f"body is not valid JSON: {error.get('msg', '')}")
        elif where == "project_uuid":
            parts.append(f"project_uuid {UUID_MESSAGE}")
        else:
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the handlers that turn every failure into the JSON shape."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(body(exc.code, exc.message), exc.status, headers=exc.headers)

    @app.exception_handler(BadRequest)
    async def bad_request(_: Request, exc: BadRequest) -> JSONResponse:
        return JSONResponse(body("bad_request", f"{exc.field} {exc.message}"), 400)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(body("bad_request", _validation_message(exc)), 400)

    @app.exception_handler(LogUnavailable)
    async def unavailable(_: Request, exc: LogUnavailable) -> JSONResponse:
        message = f"{exc}; nothing was published, try again"
        return JSONResponse(body("log_unavailable", message), 503, headers={"Retry-After": "5"})

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else _code(exc.status_code)
        return JSONResponse(
            body(_code(exc.status_code), message), exc.status_code, headers=exc.headers
        )


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` is answered 413, unread."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", ()))
        declared = headers.get(b"content-length", b"").decode() or "0"
        message = f"request body larger than {self.max_bytes} bytes"
        if declared.isdigit() and int(declared) > self.max_bytes:
            response = JSONResponse(body("content_too_large", message), 413)
            await response(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            # A body without a length (chunked) is counted as it arrives; the exception
            # reaches FastAPI's handlers while the body is read, before any answer.
            nonlocal received
            chunk = await receive()
            if chunk["type"] == "http.request":
                received += len(chunk.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, message)
            return chunk

        await self.app(scope, limited, send)

"""HTTP endpoints: health, readiness, Prometheus metrics, the event contract (AsyncAPI),
and the read-only session API.

``/readyz`` is 503 while a dependency fails its probe and names it (``failing``:
dependency -> error), e.g. ``{"ready": false, "failing": {"postgresql": "..."}}``.

``GET /api/v1/sessions/project/{project_uuid}`` keeps the design's endpoint and field
names for UIs that poll instead of consuming ``SessionReady``; sessions are created by
events only, so it never creates one (404 when unknown).
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from importlib import resources
from typing import Any

from prometheus_client import make_asgi_app

from consumer.service.queries import SessionQueries
from consumer.views import session_view

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SESSION_PATH = re.compile(r"^/api/v1/sessions/project/(?P<uuid>[0-9a-f-]{36})$")


async def _json(send: Send, status: int, body: Any) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


def with_routes(
    app: ASGIApp,
    *,
    sessions: SessionQueries,
    failing: Callable[[], Awaitable[Mapping[str, str]]],
) -> ASGIApp:
    """Wrap the FastStream ASGI app with our routes; everything else goes to ``app``."""
    metrics_app = make_asgi_app()
    asyncapi = json.loads(resources.files("events").joinpath("asyncapi.json").read_text())

    async def router(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        path = scope["path"]
        if path == "/healthz":
            await _json(send, 200, {"status": "ok"})
        elif path == "/readyz":
            down = dict(await failing())
            await _json(send, 503 if down else 200, {"ready": not down, "failing": down})
        elif path == "/metrics":
            await metrics_app(scope, receive, send)
        elif path == "/asyncapi.json":
            await _json(send, 200, asyncapi)
        elif match := SESSION_PATH.match(path):
            session = await sessions.get(match["uuid"])
            if session is None:
                await _json(send, 404, {"error": "no session for this project"})
            else:
                await _json(send, 200, session_view(session))
        else:
            await app(scope, receive, send)

    return router

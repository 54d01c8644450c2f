"""HTTP endpoints: health, readiness, Prometheus metrics, the event contract (AsyncAPI);
every other HTTP request goes to the session API (``consumer.entrypoints.api``).

``/readyz`` is 503 while a dependency fails its probe and names it (``failing``:
dependency -> error), e.g. ``{"ready": false, "failing": {"kubernetes": "..."}}``;
without Kubernetes the service still records intent.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from importlib import resources
from typing import Any

from prometheus_client import make_asgi_app

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


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
    api: ASGIApp,
    failing: Callable[[], Awaitable[Mapping[str, str]]],
) -> ASGIApp:
    """Serve our routes and the session API; the lifespan goes to the FastStream ``app``."""
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
        else:
            await api(scope, receive, send)

    return router

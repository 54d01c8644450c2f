"""Readiness names the failing dependency (``/readyz`` and the gauge) and recovers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from prometheus_client import REGISTRY

from consumer.entrypoints import http
from consumer.service.health import Health
from tests.unit.conftest import World


class Switch:
    def __init__(self) -> None:
        self.error: Exception | None = None

    async def __call__(self) -> None:
        if self.error is not None:
            raise self.error


def up(name: str) -> float | None:
    return REGISTRY.get_sample_value("devsessions_dependency_up", {"dependency": name})


async def _readyz(health: Health, world: World) -> tuple[int, dict[str, Any]]:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("not for us")

    async def failing() -> dict[str, str]:
        return health.failing

    router = http.with_routes(app, api=app, failing=failing)
    sent: list[dict[str, Any]] = []

    async def send(message: Any) -> None:
        sent.append(message)

    async def receive() -> Any:
        return {}

    await router({"type": "http", "path": "/readyz"}, receive, send)
    return sent[0]["status"], json.loads(sent[1]["body"])


async def test_a_failing_dependency_is_named_and_recovers(world: World) -> None:
    db, kafka = Switch(), Switch()

    async def hangs() -> None:
        await asyncio.Event().wait()

    health = Health({"postgresql": db, "kafka": kafka, "kubernetes": hangs}, timeout=0.1)
    db.error = ConnectionRefusedError("connection refused")
    assert set(await health.probe()) == {"postgresql", "kubernetes"}
    status, body = await _readyz(health, world)
    assert status == 503 and not body["ready"]
    assert "connection refused" in body["failing"]["postgresql"]
    assert "no answer" in body["failing"]["kubernetes"]
    assert (up("postgresql"), up("kafka"), up("kubernetes")) == (0, 1, 0)
    db.error = None
    health = Health({"postgresql": db, "kafka": kafka})
    assert await health.probe() == {}
    status, body = await _readyz(health, world)
    assert status == 200 and body == {"ready": True, "failing": {}}
    assert up("postgresql") == 1

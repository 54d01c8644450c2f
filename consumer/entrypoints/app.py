"""The running service: FastStream consumer + workers + relay + HTTP, one process.

Start order: migrate and start workers/relay (on_startup), then the broker starts
consuming. Stop order on SIGTERM/SIGINT (uvicorn's handlers): the broker stops consuming
first (FastStream waits up to ``graceful_timeout`` for the record in hand), then workers
drain in-flight Helm work (bounded), the relay flushes, connections close. Work cut off
is resumed on the next start from PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import structlog
import uvicorn
from faststream.asgi import AsgiFastStream

from consumer import bootstrap
from consumer.entrypoints import http, subscriber
from consumer.entrypoints.api import auth, factory
from consumer.entrypoints.api.access_keys import AccessKeys
from consumer.entrypoints.api.context import ApiContext, Intents
from consumer.service.guard import DeliveryGuard
from consumer.service.health import Health
from consumer.settings import Settings

log = structlog.get_logger(__name__)


def build_app(service: bootstrap.Service) -> tuple[AsgiFastStream, http.ASGIApp]:
    """The FastStream app (for lifecycle) and the ASGI callable to serve."""
    settings = service.settings
    broker = subscriber.make_broker(settings)
    guard = DeliveryGuard(
        service.intake,
        max_attempts=settings.handler_max_attempts,
        budget_seconds=settings.max_poll_interval_ms / 3000,
    )
    subscriber.subscribe(broker, settings, guard)

    async def kafka() -> None:
        if not await broker.ping(timeout=2.0):
            raise ConnectionError("the broker did not answer")

    health = Health({**service.probes(), "kafka": kafka})

    async def startup() -> None:
        await service.start()
        try:
            await service.resync.once()
        except Exception as exc:  # e.g. no cluster yet: the periodic resync goes on
            log.warning("first resync failed; the periodic one retries", error=repr(exc))
        log.info(
            "service started",
            input_topic=settings.input_topic,
            group=settings.consumer_group,
            workers=settings.worker_concurrency,
        )

    async def probing() -> None:
        # After the broker connected: probed earlier, Kafka would be named failing at
        # first for no reason (until ``/readyz`` has a verdict it answers 503 anyway).
        await health.probe()
        service.tasks.append(asyncio.create_task(health.run(settings.health_interval_seconds)))

    async def shutdown() -> None:
        log.info("draining")
        await service.stop()
        log.info("stopped")

    app = AsgiFastStream(
        broker,
        on_startup=[startup],
        after_startup=[probing],
        after_shutdown=[shutdown],
        logger=logging.getLogger("faststream"),
    )

    async def failing() -> dict[str, str]:
        return health.failing

    api = factory.create_app(api_context(service), max_body_bytes=settings.api_max_body_bytes)
    return app, http.with_routes(app, api=api, failing=failing)


def api_context(service: bootstrap.Service) -> ApiContext:
    """The session API's ports and policy, from the built service."""
    settings = service.settings
    return ApiContext(
        reads=service.session_reads,
        changes=service.session_changes,
        intents=Intents(service.intent_log),
        tokens=auth.Tokens(settings.api_tokens_file),
        now=lambda: datetime.now(UTC),
        auth_reads=settings.api_auth_reads,
        max_wait_seconds=settings.api_max_wait_seconds,
        access_keys=AccessKeys(settings.access_keys_file),
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
        public_url_template=settings.public_url_template,
        renewals=service.session_renewals,
        session_lifetime=timedelta(days=settings.session_lifetime_days),
    )


class Server(uvicorn.Server):
    """uvicorn, but a drained service exits 0 on SIGTERM/SIGINT.

    uvicorn re-raises the stopping signal after its graceful shutdown, so the process
    would end "killed by SIGTERM" (143) although everything was drained; supervisors and
    tests then cannot tell a clean stop from a kill.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()


def make_server(settings: Settings, asgi: http.ASGIApp) -> Server:
    """The HTTP server that also drives the app's lifespan (start and graceful stop).

    Refuses an open API (no tokens) on a non-loopback address unless allowed.
    """
    auth.check_bind(
        settings.http_host,
        tokens_configured=settings.api_tokens_file is not None,
        allow_unauthenticated=settings.api_allow_unauthenticated,
    )
    config = uvicorn.Config(
        asgi,
        host=settings.http_host,
        port=settings.http_port,
        lifespan="on",
        log_config=None,
        access_log=False,
        # Open SSE streams and held ?wait= requests must not hold a SIGTERM up forever.
        timeout_graceful_shutdown=10,
    )
    return Server(config)


async def serve(settings: Settings) -> None:
    """Run until SIGTERM/SIGINT."""
    _, asgi = build_app(bootstrap.build(settings))
    await make_server(settings, asgi).serve()


def main(settings: Settings) -> None:
    """Blocking entry for ``devsessions run``."""
    asyncio.run(serve(settings))

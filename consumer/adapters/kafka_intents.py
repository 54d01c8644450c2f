"""``IntentLog`` on Kafka: the API's project events go to the input topic.

The same idempotent producer and CloudEvents encoding upstream uses
(``events.EventPublisher``), with a source of our own and the id the caller derived.
The producer's own request timeout bounds a send: when Kafka cannot take the record in
time, aiokafka expires it (it is not sent later) and the caller answers 503.
"""

from __future__ import annotations

import asyncio

from aiokafka.errors import KafkaError

from consumer.domain.intents import LogUnavailable
from events import EventPublisher, ProjectCreated, ProjectDeleted


class KafkaIntentLog:
    """Publishes ``ProjectCreated``/``ProjectDeleted`` and waits for the acknowledgement."""

    def __init__(
        self, bootstrap_servers: str, *, topic: str, source: str, timeout_seconds: float
    ) -> None:
        self._timeout = timeout_seconds
        self._publisher = EventPublisher(
            bootstrap_servers,
            topic=topic,
            source=source,
            request_timeout_ms=max(1000, int(timeout_seconds * 1000)),
            client_id="devsessions-api",
        )

    async def start(self) -> None:
        await self._publisher.start()

    async def stop(self) -> None:
        await self._publisher.stop()

    async def publish(self, data: ProjectCreated | ProjectDeleted, *, event_id: str) -> None:
        try:
            async with asyncio.timeout(self._timeout + 5):
                await self._publisher.send(data, event_id=event_id)
        except (KafkaError, TimeoutError, OSError) as exc:
            raise LogUnavailable(f"Kafka did not take the event: {type(exc).__name__}") from exc

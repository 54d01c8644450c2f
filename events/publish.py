"""Publishing helper for upstream producers (and our CLI): event in, Kafka record out.

Wraps an idempotent ``aiokafka`` producer (``enable_idempotence=True``, ``acks="all"``)
so a retried send never duplicates a record, and encodes with ``events.kafka`` so what
is published is exactly what the consumer decodes. Use it as an async context manager::

    async with EventPublisher("127.0.0.1:9092") as publisher:
        await publisher.publish(ProjectDeleted(project_uuid=..., deleted_at=...))
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer

from events.envelope import Envelope, new_envelope
from events.kafka import to_record
from events.models import ProjectEvent, SessionEvent
from events.topics import DEFAULT_INPUT_TOPIC


@dataclass(frozen=True)
class Delivery:
    """Where a published event landed."""

    envelope: Envelope[Any]
    topic: str
    partition: int
    offset: int


class EventPublisher:
    """Sends events as CloudEvents (Kafka binary mode) to one topic."""

    def __init__(
        self,
        bootstrap_servers: str,
        *,
        topic: str = DEFAULT_INPUT_TOPIC,
        source: str = "urn:devsessions:cli",
        request_timeout_ms: int = 30_000,
        client_id: str = "devsessions-events-publisher",
    ) -> None:
        self.topic = topic
        self.source = source
        self._options: dict[str, Any] = {
            "bootstrap_servers": bootstrap_servers,
            "client_id": client_id,
            "enable_idempotence": True,
            "acks": "all",
            "request_timeout_ms": request_timeout_ms,
        }
        self._producer: AIOKafkaProducer | None = None

    async def start(self) -> None:
        """Connect to the cluster (raises ``aiokafka.errors.KafkaConnectionError``)."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(**self._options)  # needs the running loop: built here
        try:
            await producer.start()
        except BaseException:
            await producer.stop()
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush pending records and close the connections."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    async def __aenter__(self) -> EventPublisher:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    async def publish(
        self, data: ProjectEvent | SessionEvent, *, event_id: str | None = None
    ) -> Envelope[Any]:
        """Publish ``data`` in a new envelope and wait for the broker's acknowledgement."""
        return (await self.send(data, event_id=event_id)).envelope

    async def send(
        self, data: ProjectEvent | SessionEvent, *, event_id: str | None = None
    ) -> Delivery:
        """Like ``publish``, but also tells the partition and offset of the record."""
        return await self.send_envelope(new_envelope(data, source=self.source, event_id=event_id))

    async def send_envelope(self, envelope: Envelope[Any]) -> Delivery:
        """Publish an envelope built by the caller (e.g. with a derived event id)."""
        if self._producer is None:
            msg = "EventPublisher is not started (use 'async with' or await start())"
            raise RuntimeError(msg)
        record = to_record(envelope)
        metadata = await self._producer.send_and_wait(
            self.topic, value=record.value, key=record.key, headers=list(record.headers)
        )
        return Delivery(
            envelope=envelope,
            topic=str(metadata.topic),
            partition=int(metadata.partition),
            offset=int(metadata.offset),
        )

"""The ``Publisher`` port on aiokafka: one idempotent producer for everything we send.

``enable_idempotence=True`` forces ``acks=all`` and keeps per-partition order across
retries, so a relay retry never duplicates or reorders a project's events in Kafka.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from consumer.ports import OutboxMessage, WireRecord


class KafkaPublisher:
    """Sends raw records (key, value, headers) exactly as given."""

    def __init__(self, bootstrap_servers: str, *, client_id: str = "devsessions") -> None:
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap_servers,
            client_id=client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=5,
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self,
        topic: str,
        key: bytes | None,
        value: bytes | None,
        headers: Sequence[tuple[str, bytes]],
    ) -> None:
        await self._producer.send_and_wait(topic, value=value, key=key, headers=list(headers))

    async def send_each(self, records: Sequence[WireRecord]) -> None:
        futures = [
            await self._producer.send(topic, value=value, key=key, headers=list(headers))
            for topic, key, value, headers in records
        ]
        await asyncio.gather(*futures)

    async def send_many(self, messages: Sequence[OutboxMessage]) -> None:
        """Send a batch, pipelined, and wait for every acknowledgement (order kept)."""
        futures = [
            await self._producer.send(m.topic, value=m.value, key=m.key, headers=list(m.headers))
            for m in messages
        ]
        await asyncio.gather(*futures)

"""Kafka on the benchmark's side: publish many project events at once, read answers back.

Events are built with the ``events`` models and encoded by its codec, exactly as an
upstream producer would; the producer is idempotent (``acks=all``) like ours. Times are
the records' own timestamps (CreateTime, set by the producer), so a latency is
"SessionReady's timestamp minus ProjectCreated's timestamp" on the same clock.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

import events

CHUNK = 5000
SOURCE = "urn:devsessions:bench"


async def partitions(bootstrap: str, topic: str) -> list[int]:
    """Partition ids of ``topic``, asked of the cluster (a new consumer's cache is empty)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(p["partition"] for t in described if t["topic"] == topic for p in t["partitions"])


def created(project: str, index: int) -> events.ProjectCreated:
    return events.ProjectCreated(
        project_uuid=project, project_id=index, user_id=1, created_at=datetime.now(UTC)
    )


def deleted(project: str) -> events.ProjectDeleted:
    return events.ProjectDeleted(project_uuid=project, deleted_at=datetime.now(UTC))


class Producer:
    """An idempotent producer that sends project events and reports their timestamps."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._topic = topic
        self._producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=5
        )

    async def __aenter__(self) -> Producer:
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def send_all(self, items: Sequence[events.ProjectEvent]) -> dict[str, float]:
        """Send all ``items`` without waiting between them; project -> record timestamp (s)."""
        stamps: dict[str, float] = {}
        for start in range(0, len(items), CHUNK):
            chunk = items[start : start + CHUNK]
            futures = []
            for data in chunk:
                record = events.to_record(events.new_envelope(data, source=SOURCE))
                futures.append(
                    await self._producer.send(
                        self._topic,
                        value=record.value,
                        key=record.key,
                        headers=list(record.headers),
                    )
                )
            for data, meta in zip(chunk, await asyncio.gather(*futures), strict=True):
                stamps.setdefault(data.project_uuid, meta.timestamp / 1000)
        return stamps


async def publish(
    bootstrap: str, topic: str, items: Sequence[events.ProjectEvent]
) -> dict[str, float]:
    """Send ``items`` at once with a producer of their own (see ``Producer.send_all``)."""
    async with Producer(bootstrap, topic) as producer:
        return await producer.send_all(items)


@dataclasses.dataclass(frozen=True)
class Answer:
    """One decoded output record."""

    project: str
    kind: str  # the event class name: SessionReady, SessionDeleted, SessionFailed
    timestamp: float


class Answers:
    """Reads a (fresh) topic from its beginning in the background and keeps every answer."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self._bootstrap, self._topic = bootstrap, topic
        self.seen: list[Answer] = []
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Answers:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        await self._consumer.start()
        tps = [
            TopicPartition(self._topic, p) for p in await partitions(self._bootstrap, self._topic)
        ]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        self._task = asyncio.create_task(self._run())
        return self

    async def _run(self) -> None:
        assert self._consumer is not None
        while True:
            batch = await self._consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    envelope = events.from_record(r.key, r.value, r.headers)
                    project = str(getattr(envelope.data, "project_uuid", ""))
                    kind = type(envelope.data).__name__
                    self.seen.append(Answer(project, kind, r.timestamp / 1000))

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        if self._consumer is not None:
            await self._consumer.stop()

    def first(self, kind: str, projects: set[str]) -> dict[str, float]:
        """Each project's first answer of ``kind`` (project -> timestamp)."""
        found: dict[str, float] = {}
        for a in self.seen:
            if a.kind == kind and a.project in projects:
                found.setdefault(a.project, a.timestamp)
        return found

    async def wait(
        self, kind: str, projects: set[str], timeout: float, *, alive: Callable[[], None]
    ) -> dict[str, float]:
        """Wait until every project has an answer of ``kind``; ``alive`` raises if not."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.first(kind, projects)
            if len(found) == len(projects):
                return found
            alive()
            if self._task is not None and self._task.done():
                self._task.result()
            await asyncio.sleep(0.1)
        found = self.first(kind, projects)
        raise TimeoutError(f"{len(found)}/{len(projects)} {kind} within {timeout:.0f}s")

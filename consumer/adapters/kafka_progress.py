"""The ``LogProgress`` port on Kafka: has a consumer group read a topic to its end?

The orphan sweep removes a never-seen project's namespace only when the group has no lag
on any partition of the input topic (``domain.orphans.read_to_end``). The group's
committed offsets come from the admin client's OffsetFetch; the partitions' first and end
offsets from a group-less consumer, because aiokafka's admin client has no ListOffsets
(aio-libs/aiokafka#1045). Intake commits an offset only after the records before it are
durable in PostgreSQL, so a committed end means the database holds everything the log
said up to then.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from consumer.domain.orphans import read_to_end

TIMEOUT_SECONDS = 30.0
ATTEMPTS = 10  # retriable answers (a group coordinator still being elected) are asked again


class KafkaLogProgress:
    """Committed offsets of a group against the ends of a topic's partitions."""

    def __init__(self, bootstrap_servers: str, *, timeout: float = TIMEOUT_SECONDS) -> None:
        self._bootstrap, self._timeout = bootstrap_servers, timeout

    async def caught_up(self, group: str, topic: str) -> bool:
        return await asyncio.wait_for(self._asked(group, topic), self._timeout)

    async def _asked(self, group: str, topic: str) -> bool:
        """Ask again after a retriable error (e.g. no group coordinator yet on a fresh
        broker, whose offsets topic is made on first use); other errors propagate."""
        for attempt in range(ATTEMPTS):
            try:
                return await self._caught_up(group, topic)
            except KafkaError as exc:
                if not exc.retriable or attempt == ATTEMPTS - 1:
                    raise
                await asyncio.sleep(0.5 * (attempt + 1))
        raise AssertionError("unreachable")

    async def _caught_up(self, group: str, topic: str) -> bool:
        admin = AIOKafkaAdminClient(bootstrap_servers=self._bootstrap)
        await admin.start()
        try:
            # Asking for the topic by name would create it where the broker auto-creates
            # topics (an empty, "read to its end" topic): list first, describe only if there.
            if topic not in await admin.list_topics():
                return False
            described = await admin.describe_topics([topic])
            tps = [
                TopicPartition(topic, p["partition"])
                for t in described
                if t["topic"] == topic and not t["error_code"]
                for p in t["partitions"]
            ]
            if not tps:
                return False  # no such topic: nothing tells us the log was read
            # Partitions named explicitly: one the group never committed answers -1.
            committed = await admin.list_consumer_group_offsets(group, partitions=tps)
        finally:
            await admin.close()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False
        )
        await consumer.start()
        try:
            first = await consumer.beginning_offsets(tps)
            end = await consumer.end_offsets(tps)
        finally:
            await consumer.stop()
        offsets = []
        for tp in tps:
            mark = committed.get(tp)
            at = mark.offset if mark is not None and mark.offset >= 0 else None
            offsets.append((at, first[tp], end[tp]))
        return read_to_end(offsets)

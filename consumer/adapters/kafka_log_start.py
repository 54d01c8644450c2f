"""The ``LogStarts`` port on Kafka: the input topic's id and each partition's log start.

The id and partition count come from ``KafkaTopicIdentity`` (Metadata v12); the earliest
offsets from a group-less aiokafka consumer's ``beginning_offsets`` (a ListOffsets
request for the earliest timestamp), which neither joins a group nor commits anything.
The consumer is started on first use and kept; retention asks about once an hour.
"""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaConsumer, TopicPartition

from consumer.domain.retention import LogStart
from consumer.ports import TopicIdentity

_TIMEOUT_SECONDS = 30.0  # beginning_offsets may wait forever on a partition that vanished


class KafkaLogStarts:
    """Earliest offsets of a topic's partitions, with the topic's current id."""

    def __init__(self, bootstrap_servers: str, topics: TopicIdentity) -> None:
        self._bootstrap, self._topics = bootstrap_servers, topics
        self._consumer: AIOKafkaConsumer | None = None

    async def log_start(self, topic: str) -> LogStart:
        # Fresh, not cached: a topic re-created since the last lookup must not pair its
        # new offsets with the old id.
        epoch = await self._topics.epoch(topic, max_age=0)
        consumer = await self._started()
        partitions = [TopicPartition(topic, p) for p in range(epoch.partitions)]
        earliest = await asyncio.wait_for(
            consumer.beginning_offsets(partitions), timeout=_TIMEOUT_SECONDS
        )
        again = await self._topics.epoch(topic, max_age=0)
        if again.topic_id != epoch.topic_id:  # re-created meanwhile: offsets of which log?
            return LogStart(topic_id=again.topic_id, earliest={})
        return LogStart(
            topic_id=epoch.topic_id, earliest={tp.partition: off for tp, off in earliest.items()}
        )

    async def close(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
            self._consumer = None

    async def _started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        return self._consumer

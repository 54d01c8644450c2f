"""``KafkaLogProgress`` on the stack's Kafka: a group is caught up only when it committed
the end of every partition that holds records; a new record, a missing commit or a
missing topic is not caught up."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import OffsetAndMetadata
from devstack.record import StackInfo

from consumer.adapters.kafka_progress import KafkaLogProgress
from tests.e2e.harness import create_topics

pytestmark = pytest.mark.stack


async def _commit(servers: str, group: str, offsets: dict[TopicPartition, int]) -> None:
    # No auto-commit: on stop it would write back the position read at assignment (the
    # previous commit) over the one committed here.
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        consumer.assign(list(offsets))
        await consumer.commit({tp: OffsetAndMetadata(o, "") for tp, o in offsets.items()})
    finally:
        await consumer.stop()


async def test_caught_up_follows_the_groups_commits(stack: StackInfo) -> None:
    servers = stack.kafka_bootstrap_servers
    topic, group = f"progress-{uuid.uuid4().hex[:10]}", f"progress-{uuid.uuid4().hex[:6]}"
    await create_topics(servers, [topic], partitions=3)
    progress = KafkaLogProgress(servers)
    assert await progress.caught_up(group, topic), "an empty topic has nothing to read"
    producer = AIOKafkaProducer(bootstrap_servers=servers)
    await producer.start()
    try:
        for _ in range(2):
            await producer.send_and_wait(topic, b"x", partition=0)
        assert not await progress.caught_up(group, topic), "nothing committed yet"
        p0 = TopicPartition(topic, 0)
        await _commit(servers, group, {p0: 1})
        assert not await progress.caught_up(group, topic), "one record behind"
        await _commit(servers, group, {p0: 2})
        assert await progress.caught_up(group, topic)
        await producer.send_and_wait(topic, b"x", partition=2)
        assert not await progress.caught_up(group, topic), "a new record elsewhere"
    finally:
        await producer.stop()
    assert not await progress.caught_up(group, f"missing-{uuid.uuid4().hex[:8]}")

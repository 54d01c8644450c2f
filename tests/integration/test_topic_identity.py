"""``KafkaTopicIdentity`` on the stack's Kafka: the Metadata v12 request returns the
topic's id and partition count; a topic deleted and created again under the same name
has another id; added partitions are counted; the cache serves within ``max_age``."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from devstack.record import StackInfo

from consumer.adapters.kafka_topics import KafkaTopicIdentity

pytestmark = pytest.mark.stack


async def _create(admin: AIOKafkaAdminClient, topic: str, partitions: int) -> None:
    for _ in range(50):  # a deletion takes a moment to complete
        try:
            await admin.create_topics([NewTopic(topic, partitions, 1)])
            return
        except Exception:
            await asyncio.sleep(0.2)
    raise AssertionError(f"could not create {topic}")


async def _settled(identity: KafkaTopicIdentity, topic: str, want: Callable[[Any], bool]) -> Any:
    """The topic's epoch once ``want`` holds. A create, a delete or new partitions return
    when the controller has them; the broker's metadata cache follows a moment later, and
    until then a Metadata request answers with the old state or "unknown topic"."""
    seen: Any = None
    for _ in range(100):
        try:
            seen = await identity.epoch(topic, max_age=0)
        except LookupError as exc:
            seen = exc
        else:
            if want(seen):
                return seen
        await asyncio.sleep(0.1)
    raise AssertionError(f"{topic}: still {seen!r} after 10 s")


async def test_recreated_topic_has_a_new_id_and_partitions_are_counted(stack: StackInfo) -> None:
    servers = stack.kafka_bootstrap_servers
    topic = f"identity-test-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    identity = KafkaTopicIdentity(servers)
    try:
        await _create(admin, topic, 2)
        first = await _settled(identity, topic, lambda e: e.partitions == 2)
        assert first.topic_id is not None
        uuid.UUID(first.topic_id)
        await admin.create_partitions({topic: NewPartitions(total_count=3)})
        assert (await identity.epoch(topic, max_age=60)).partitions == 2, "served from cache"
        again = await _settled(identity, topic, lambda e: e.partitions == 3)
        assert again == type(first)(first.topic_id, 3)
        await admin.delete_topics([topic])
        await _create(admin, topic, 2)
        recreated = await _settled(identity, topic, lambda e: e.topic_id != first.topic_id)
        assert recreated.topic_id is not None and recreated.partitions == 2
    finally:
        await identity.close()
        await admin.delete_topics([topic])
        await admin.close()

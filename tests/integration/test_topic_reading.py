"""Reading a topic to its end as of the start (replay) and its last records (replay's
check whether the database lost anything), on the stack's Kafka."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.record import StackInfo

from consumer.adapters.kafka_in import read_log, read_tail

pytestmark = pytest.mark.stack


async def test_log_and_tail_of_a_topic_with_an_empty_partition(stack: StackInfo) -> None:
    servers = stack.kafka_bootstrap_servers
    topic = f"reading-test-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, 3, 1)])
        producer = AIOKafkaProducer(bootstrap_servers=servers)
        await producer.start()
        try:
            for i in range(10):  # partitions 0 and 1; 2 stays empty
                await producer.send_and_wait(topic, f"v{i}".encode(), partition=i % 2)
        finally:
            await producer.stop()
        totals: list[int] = []
        read = [
            r.value or b""
            for polled in [p async for p in read_log(servers, topic, on_total=totals.append)]
            for r in polled
        ]
        assert totals == [10]
        assert sorted(read) == sorted(f"v{i}".encode() for i in range(10))
        assert sorted(r.value or b"" for r in await read_tail(servers, topic)) == [b"v8", b"v9"]
        assert await read_tail(servers, f"{topic}-absent") == []
    finally:
        await admin.delete_topics([topic])
        await admin.close()

"""Kafka of the stack: a produce/consume round trip and the service's topics."""

from __future__ import annotations

import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient
from devstack import kafka
from devstack.record import StackInfo


async def test_produce_consume_round_trip(stack: StackInfo) -> None:
    topic = f"devstack-smoke-{uuid.uuid4().hex[:8]}"
    sent = [(f"key-{i}".encode(), f"value-{i}-{uuid.uuid4()}".encode()) for i in range(5)]
    producer = AIOKafkaProducer(
        bootstrap_servers=stack.kafka_bootstrap_servers, enable_idempotence=True
    )
    await producer.start()
    try:
        for key, value in sent:
            await producer.send_and_wait(topic, value, key=key, partition=0)
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=stack.kafka_bootstrap_servers,
        group_id=f"devstack-smoke-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[tuple[bytes | None, bytes | None]] = []
    try:
        while len(received) < len(sent):
            batch = await consumer.getmany(timeout_ms=10_000)
            assert batch, f"no records within 10 s; got {len(received)} of {len(sent)}"
            for records in batch.values():
                received += [(r.key, r.value) for r in records]
    finally:
        await consumer.stop()
    assert received == sent


async def test_service_topics_exist_with_three_partitions(stack: StackInfo) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.kafka_bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics(kafka.topics())
    finally:
        await admin.close()
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    assert partitions == dict.fromkeys(kafka.topics(), kafka.PARTITIONS)

"""The physical limits that replay and intake are measured against.

``bare_read``: a plain aiokafka consumer reading a topic from its beginning to its end,
nothing else (the most any replay can do). ``bare_apply``: a plain consumer in its own
group writing each fetched batch with one multi-row INSERT in one transaction and then
committing the offsets (the least any durable consumer must do).
"""

from __future__ import annotations

import time

import asyncpg
from aiokafka import AIOKafkaConsumer, TopicPartition

from consumer.bench import kafka_io


async def bare_read(bootstrap: str, topic: str) -> tuple[int, float]:
    """Records read and seconds taken, from a cold start of the consumer."""
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",  # no committed offset: start at the beginning
    )
    await consumer.start()
    count = 0
    try:
        tps = [TopicPartition(topic, p) for p in await kafka_io.partitions(bootstrap, topic)]
        consumer.assign(tps)
        end = await consumer.end_offsets(tps)
        remaining = {tp for tp in tps if end[tp] > 0}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            count += sum(len(records) for records in batch.values())
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()
    return count, time.perf_counter() - started


async def bare_apply(bootstrap: str, topic: str, dsn: str, expected: int) -> tuple[int, float]:
    """Records made durable and seconds taken: one INSERT and one commit per batch."""
    conn = await asyncpg.connect(dsn)
    await conn.execute(
        "CREATE TABLE bare_inbox (p int, o bigint, key bytea, value bytea, PRIMARY KEY (p, o))"
    )
    started = time.perf_counter()
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"bare-{topic}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=500,
    )
    await consumer.start()
    count = 0
    try:
        while count < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            records = [r for rs in batch.values() for r in rs]
            if not records:
                continue
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO bare_inbox SELECT * FROM unnest($1::int[], $2::bigint[], "
                    "$3::bytea[], $4::bytea[])",
                    [r.partition for r in records],
                    [r.offset for r in records],
                    [r.key for r in records],
                    [r.value for r in records],
                )
            await consumer.commit()
            count += len(records)
    finally:
        await consumer.stop()
        await conn.close()
    return count, time.perf_counter() - started

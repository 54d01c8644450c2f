"""Reading a topic from its beginning to its current end (for replay and the demo).

Uses no consumer group and commits nothing: a replay must not move the service's own
group, and reading stops at the end offsets taken when it started, so it terminates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

from aiokafka import AIOKafkaConsumer, TopicPartition

from consumer.service.intake import RawRecord


async def read_log(
    bootstrap_servers: str, topic: str, *, on_total: Callable[[int], None] = lambda _: None
) -> AsyncIterator[RawRecord]:
    """Yield every record of ``topic`` that exists now, partition by partition in order."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = consumer.partitions_for_topic(topic)
        if partitions is None:
            await consumer.topics()  # forces a metadata refresh
            partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        if not tps:
            on_total(0)
            return
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        on_total(sum(end[tp] - begin[tp] for tp in tps))
        await consumer.seek_to_beginning(*tps)
        remaining = {tp for tp in tps if end[tp] > begin[tp]}
        while remaining:
            batch = await consumer.getmany(*remaining, timeout_ms=1000)
            for tp, records in batch.items():
                for r in records:
                    if r.offset < end[tp]:
                        yield RawRecord(
                            topic=r.topic,
                            partition=r.partition,
                            offset=r.offset,
                            key=r.key,
                            value=r.value,
                            headers=tuple((k, bytes(v)) for k, v in r.headers),
                        )
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()

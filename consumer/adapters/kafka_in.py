"""Reading a topic from its beginning to its current end (for replay and the demo).

Uses no consumer group and commits nothing: a replay must not move the service's own
group, and reading stops at the end offsets taken when it started, so it terminates.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from consumer.service.intake import RawRecord
from consumer.service.records import Consumed


async def topic_partitions(bootstrap_servers: str, topic: str) -> list[int]:
    """The partition ids of ``topic``, asked of the cluster (not of a client's cache).

    A consumer only knows partitions of topics its metadata already covers, so a freshly
    started reader would otherwise see none, or guess partition 0 and miss the others.
    """
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(
        p["partition"]
        for t in described
        if t["topic"] == topic and not t["error_code"]
        for p in t["partitions"]
    )


async def read_tail(bootstrap_servers: str, topic: str) -> list[Consumed]:
    """The last record of each partition of ``topic`` that has one."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap_servers, topic)]
        if not tps:
            return []
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        last: list[Consumed] = []
        for tp in tps:
            if end[tp] <= begin[tp]:
                continue
            consumer.seek(tp, end[tp] - 1)
            while True:  # the last offset may be a transaction marker: read what is left
                polled = (await consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                if polled:
                    last.append(polled[-1])
                if not polled or await consumer.position(tp) >= end[tp]:
                    break
        return last
    finally:
        await consumer.stop()


class Follower:
    """Records of a topic published after entering the context (for watching answers).

    Entering pins the end of every partition, so nothing published after ``__aenter__``
    returns can be missed, however late iteration starts.
    """

    def __init__(self, bootstrap_servers: str, topic: str) -> None:
        self._bootstrap, self._topic = bootstrap_servers, topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap_servers, group_id=None, enable_auto_commit=False
        )
        self._buffer: list[RawRecord] = []

    async def __aenter__(self) -> Follower:
        await self._consumer.start()
        parts = await topic_partitions(self._bootstrap, self._topic)
        tps = [TopicPartition(self._topic, p) for p in parts]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:
            await self._consumer.position(tp)
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    def __aiter__(self) -> Follower:
        return self

    async def __anext__(self) -> RawRecord:
        while not self._buffer:
            batch = await self._consumer.getmany(timeout_ms=1000)
            self._buffer = [RawRecord.of(r) for records in batch.values() for r in records]
        return self._buffer.pop(0)


async def read_log(
    bootstrap_servers: str, topic: str, *, on_total: Callable[[int], None] = lambda _: None
) -> AsyncIterator[Sequence[Consumed]]:
    """Yield every record of ``topic`` that exists now, a poll at a time, each partition
    in order (the client's own record objects: replay copies only what it applies)."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        tps = [TopicPartition(topic, p) for p in await topic_partitions(bootstrap_servers, topic)]
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
            for tp, polled in batch.items():
                records = polled
                if polled and polled[-1].offset >= end[tp]:  # only the last poll: trim
                    records = [r for r in polled if r.offset < end[tp]]
                if records:
                    yield records
            for tp in list(remaining):
                if await consumer.position(tp) >= end[tp]:
                    remaining.discard(tp)
    finally:
        await consumer.stop()

"""Reading a topic from its beginning to its current end (for replay and the demo).

Uses no consumer group and commits nothing: a replay must not move the service's own
group, and reading stops at the end offsets taken when it started, so it terminates.
"""

from __future__ import annotations

import contextlib
import dataclasses
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


@contextlib.asynccontextmanager
async def _bounded(
    bootstrap_servers: str, topic: str, partitions: Sequence[int] | None
) -> AsyncIterator[_Bounds]:
    """A group-less consumer assigned every partition of ``topic`` (``partitions`` when
    the caller knows them already, else asked of the cluster), with the partitions' first
    and end offsets as of now."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        if partitions is None:
            partitions = await topic_partitions(bootstrap_servers, topic)
        tps = [TopicPartition(topic, p) for p in partitions]
        if not tps:
            yield _Bounds(consumer, [], {}, {})
            return
        consumer.assign(tps)
        begin = await consumer.beginning_offsets(tps)
        end = await consumer.end_offsets(tps)
        yield _Bounds(consumer, tps, begin, end)
    finally:
        await consumer.stop()


@dataclasses.dataclass(frozen=True)
class _Bounds:
    consumer: AIOKafkaConsumer
    partitions: list[TopicPartition]
    begin: dict[TopicPartition, int]
    end: dict[TopicPartition, int]


async def read_tail(
    bootstrap_servers: str, topic: str, *, partitions: Sequence[int] | None = None
) -> list[Consumed]:
    """The last record of each partition of ``topic`` that has one. ``partitions``: the
    topic's partition ids when the caller has them (``topic_partitions``), saving a look-up."""
    async with _bounded(bootstrap_servers, topic, partitions) as b:
        last: list[Consumed] = []
        for tp in b.partitions:
            if b.end[tp] <= b.begin[tp]:
                continue
            b.consumer.seek(tp, b.end[tp] - 1)
            while True:  # the last offset may be a transaction marker: read what is left
                polled = (await b.consumer.getmany(tp, timeout_ms=1000)).get(tp, [])
                if polled:
                    last.append(polled[-1])
                if not polled or await b.consumer.position(tp) >= b.end[tp]:
                    break
        return last


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
    bootstrap_servers: str,
    topic: str,
    *,
    on_total: Callable[[int], None] = lambda _: None,
    partitions: Sequence[int] | None = None,
) -> AsyncIterator[Sequence[Consumed]]:
    """Yield every record of ``topic`` that exists now, a poll at a time, each partition
    in order (the client's own record objects: replay copies only what it applies).
    ``partitions``: as for ``read_tail``."""
    async with _bounded(bootstrap_servers, topic, partitions) as b:
        on_total(sum(b.end[tp] - b.begin[tp] for tp in b.partitions))
        if not b.partitions:
            return
        await b.consumer.seek_to_beginning(*b.partitions)
        remaining = {tp for tp in b.partitions if b.end[tp] > b.begin[tp]}
        while remaining:
            batch = await b.consumer.getmany(*remaining, timeout_ms=1000)
            for tp, polled in batch.items():
                records = polled
                if polled and polled[-1].offset >= b.end[tp]:  # only the last poll: trim
                    records = [r for r in polled if r.offset < b.end[tp]]
                if records:
                    yield records
            for tp in list(remaining):
                if await b.consumer.position(tp) >= b.end[tp]:
                    remaining.discard(tp)

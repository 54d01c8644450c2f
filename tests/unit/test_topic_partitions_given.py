"""Reading a topic over stand-in clients (no Kafka): the partitions are asked of the
cluster unless the caller passes the ones it knows (replay's tail, then its log)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka import TopicPartition

from consumer.adapters import kafka_in


class EmptyConsumer:
    """A group-less consumer over partitions that hold no record."""

    assigned: list[list[int]] = []  # by every instance, in order

    def __init__(self, **_: Any) -> None:
        pass

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def assign(self, tps: list[TopicPartition]) -> None:
        EmptyConsumer.assigned.append([tp.partition for tp in tps])

    async def beginning_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    async def end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        return dict.fromkeys(tps, 0)

    async def seek_to_beginning(self, *tps: TopicPartition) -> None: ...


@pytest.fixture
def described(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The topics described (one admin look-up each), with stand-in clients."""
    asked: list[str] = []

    async def topic_partitions(bootstrap_servers: str, topic: str) -> list[int]:
        asked.append(topic)
        return [0, 1]

    monkeypatch.setattr(EmptyConsumer, "assigned", [])
    monkeypatch.setattr(kafka_in, "AIOKafkaConsumer", EmptyConsumer)
    monkeypatch.setattr(kafka_in, "topic_partitions", topic_partitions)
    return asked


async def test_tail_and_log_describe_the_topic_unless_given_its_partitions(
    described: list[str],
) -> None:
    totals: list[int] = []
    assert await kafka_in.read_tail("kafka:9092", "out") == []
    assert [p async for p in kafka_in.read_log("kafka:9092", "out", on_total=totals.append)] == []
    assert described == ["out", "out"]
    assert await kafka_in.read_tail("kafka:9092", "out", partitions=[0, 2]) == []
    log = kafka_in.read_log("kafka:9092", "out", on_total=totals.append, partitions=[0, 2])
    assert [p async for p in log] == []
    assert described == ["out", "out"], "given the partitions, no look-up"
    assert EmptyConsumer.assigned == [[0, 1], [0, 1], [0, 2], [0, 2]]
    assert totals == [0, 0]

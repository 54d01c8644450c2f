"""The high-water mark across re-created and re-partitioned input topics.

A position carries Kafka's topic id; another id is a new epoch of the log (the topic was
deleted and created again, offsets started over), so its events are newer whatever their
offsets. Within one topic, after partitions were added, an event outside the key's home
partition is older than a mark already in it.
"""

from __future__ import annotations

import random

import pytest
from aiokafka.partitioner import murmur2 as kafka_murmur2

from consumer.domain.model import Desired, LogPosition, TopicEpoch
from consumer.domain.partitioning import home_partition, murmur2
from consumer.service.intake import Outcome
from tests.fakes import FakeTopics
from tests.unit.conftest import INPUT, make_world


def test_murmur2_matches_kafkas_partitioner() -> None:
    rng = random.Random(3)
    for length in range(40):
        data = bytes(rng.randrange(256) for _ in range(length))
        assert murmur2(data) == kafka_murmur2(data) & 0xFFFFFFFF


def test_another_topic_id_is_a_new_epoch_whatever_the_offsets() -> None:
    mark = LogPosition(0, 100, "topic-a")
    assert LogPosition(0, 3, "topic-b").is_after(mark)
    assert not LogPosition(0, 3, "topic-a").is_after(mark)


def test_marks_without_an_id_compare_offsets() -> None:
    assert not LogPosition(0, 3, "topic-b").is_after(LogPosition(0, 100))
    assert LogPosition(0, 101, "topic-b").is_after(LogPosition(0, 100))


@pytest.mark.parametrize(
    ("mark", "event", "home", "newer"),
    [
        (1, 0, 1, False),  # mark already home; the event was left behind in the old partition
        (0, 1, 1, True),  # the event is in the key's new home: the project moved there
        (0, 2, 1, True),  # neither is home (a custom partitioner): the log wins
        (0, 1, None, True),  # partition count unknown: the log wins
    ],
)
def test_other_partition_of_one_topic(mark: int, event: int, home: int | None, newer: bool) -> None:
    assert LogPosition(event, 5, "t").is_after(LogPosition(mark, 500, "t"), home=home) is newer


async def test_a_recreated_topic_is_seen_even_through_a_cached_id(project: str) -> None:
    topics = FakeTopics()
    topics.current[INPUT] = TopicEpoch("id-before", 1)
    world = make_world(topics=topics)
    assert await world.intake.handle(world.record(world.created(project), offset=100)) is (
        Outcome.APPLIED
    )
    # The topic is deleted and created again; the intake still holds the old id in cache.
    topics.current[INPUT] = TopicEpoch("id-after", 1)
    deleted = world.record(world.deleted(project), offset=0)
    assert await world.intake.handle(deleted) is Outcome.APPLIED
    session = await world.sessions.get(project)
    assert session is not None and session.desired is Desired.ABSENT
    assert session.high_water == LogPosition(0, 0, "id-after")


async def test_a_stale_event_stays_stale_after_the_fresh_look(project: str) -> None:
    topics = FakeTopics()
    topics.current[INPUT] = TopicEpoch("same", 1)
    world = make_world(topics=topics)
    await world.intake.handle(world.record(world.created(project), offset=100))
    assert await world.intake.handle(world.record(world.deleted(project), offset=7)) is (
        Outcome.UNCHANGED
    )
    session = await world.sessions.get(project)
    assert session is not None and session.desired is Desired.PRESENT


async def test_after_partitions_were_added_the_old_partition_is_history(project: str) -> None:
    topics = FakeTopics()
    key = project.encode()
    home = home_partition(key, 4)
    old = (home + 1) % 4
    topics.current[INPUT] = TopicEpoch("t", 4)
    world = make_world(topics=topics)
    await world.intake.handle(world.record(world.deleted(project), offset=3, partition=home))
    # A replay reads the project's older create from the partition it had before.
    replayed = world.record(world.created(project), offset=900, partition=old)
    assert await world.intake.handle(replayed) is Outcome.UNCHANGED

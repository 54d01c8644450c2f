"""The delivery guard's per-record failure counts after rebalances.

A count belongs to the consumer that reads the partition: once a rebalance hands the
partition to another consumer, the count is forgotten, so it neither grows without
bound nor dead-letters the record early should the partition come back.
"""

from __future__ import annotations

from typing import Any, cast

from aiokafka import TopicPartition

from consumer.entrypoints.subscriber import ForgetRevoked
from consumer.service.guard import DeliveryGuard, Verdict
from consumer.service.intake import Intake, RawRecord


class FailingIntake:
    """Intake whose every record fails with an error that is not the database's state."""

    def __init__(self) -> None:
        self.dead: list[RawRecord] = []

    async def handle(self, record: RawRecord) -> Any:
        raise RuntimeError("flaky downstream")

    async def dead_letter(self, record: RawRecord, code: str, reason: str) -> None:
        self.dead.append(record)


def record(partition: int, offset: int) -> RawRecord:
    return RawRecord("in", partition, offset, b"k", b"v", ())


def guard(intake: FailingIntake) -> DeliveryGuard:
    # No time budget: each process() makes one attempt, then hands the record back.
    return DeliveryGuard(cast(Intake, intake), max_attempts=3, budget_seconds=0, base_delay=0.01)


async def test_revoked_partition_forgets_its_counts_and_starts_afresh() -> None:
    intake = FailingIntake()
    g = guard(intake)
    for _ in range(2):
        assert await g.process(record(0, 5)) is Verdict.RETRY_LATER
    await ForgetRevoked(g).on_partitions_revoked({TopicPartition("in", 0)})
    assert g.pending_failures() == 0
    # The partition comes back: the record has failed once here, not three times.
    assert await g.process(record(0, 5)) is Verdict.RETRY_LATER
    assert intake.dead == []


async def test_other_partitions_keep_their_counts() -> None:
    g = guard(FailingIntake())
    await g.process(record(0, 5))
    await g.process(record(1, 7))
    g.forget([("in", 0)])
    assert g.pending_failures() == 1


async def test_a_later_offset_supersedes_the_partition_count() -> None:
    g = guard(FailingIntake())
    for offset in range(50):  # records of one partition read past, one after the other
        await g.process(record(0, offset))
    assert g.pending_failures() == 1

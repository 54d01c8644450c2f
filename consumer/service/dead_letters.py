"""Dead letters: what was set aside, and sending chosen ones back once the producer is fixed.

A dead-lettered record keeps its key, value and headers as consumed, plus ``dlq_*``
headers saying why (code, reason) and where it came from (topic, partition, offset).
``read`` turns the dead-letter topic into ``DeadLetter`` rows; ``requeue`` publishes the
chosen ones to the input topic exactly as they first arrived (the ``dlq_*`` headers
removed), where intake takes them as new records: applied if they now decode, dead-
lettered again with a fresh reason if not. Kafka keeps the old letters; pick by position.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterable, Collection, Sequence

import events
from consumer.ports import Publisher
from consumer.service.records import Consumed, RawRecord
from events.topics import DLQ_CLIPPED_HEADER, DLQ_HEADERS


@dataclasses.dataclass(frozen=True)
class DeadLetter:
    """One record of the dead-letter topic, with why it is there."""

    partition: int
    offset: int
    key: str
    code: str
    reason: str
    source: str  # topic:partition:offset it was consumed from
    record: RawRecord

    @property
    def position(self) -> str:
        """``partition:offset`` in the dead-letter topic: how ``requeue`` names it."""
        return f"{self.partition}:{self.offset}"

    def original(self) -> RawRecord:
        """The record as first consumed: every ``dlq_*`` header removed."""
        ours = {*DLQ_HEADERS, DLQ_CLIPPED_HEADER}
        kept = tuple((k, v) for k, v in self.record.headers if k not in ours)
        return dataclasses.replace(self.record, headers=kept)


def _text(headers: dict[str, bytes], name: str) -> str:
    return headers.get(name, b"").decode("utf-8", "replace")


def letter(record: RawRecord) -> DeadLetter:
    """A dead-letter row from a record of the dead-letter topic."""
    h = dict(record.headers)
    source = ":".join(
        _text(h, n)
        for n in (
            events.DLQ_SOURCE_TOPIC_HEADER,
            events.DLQ_SOURCE_PARTITION_HEADER,
            events.DLQ_SOURCE_OFFSET_HEADER,
        )
    )
    return DeadLetter(
        partition=record.partition,
        offset=record.offset,
        key=(record.key or b"").decode("utf-8", "replace")[:80],
        code=_text(h, events.DLQ_CODE_HEADER),
        reason=_text(h, events.DLQ_REASON_HEADER),
        source=source,
        record=record,
    )


async def read(log: AsyncIterable[Sequence[Consumed]]) -> list[DeadLetter]:
    """Every letter of the dead-letter topic (``log``: the topic from start to end, a
    poll at a time)."""
    return [letter(RawRecord.of(record)) async for batch in log for record in batch]


def choose(
    letters: Sequence[DeadLetter], *, positions: Collection[str], code: str | None
) -> list[DeadLetter]:
    """Letters named by position (``partition:offset``), or all of ``code``, or both."""
    return [
        d
        for d in letters
        if (not positions or d.position in positions) and (code is None or d.code == code)
    ]


async def requeue(letters: Sequence[DeadLetter], publisher: Publisher, input_topic: str) -> int:
    """Send ``letters`` back to the input topic as first consumed; returns how many."""
    for d in letters:
        original = d.original()
        await publisher.send(input_topic, original.key, original.value, original.headers)
    return len(letters)

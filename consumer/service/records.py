"""Consumed Kafka records as intake sees them, and what can be read without decoding.

Kept apart from intake so the subscriber, replay and the benchmarks share one shape of
a record (an aiokafka ``ConsumerRecord`` copied into plain data, ``RawRecord``), and so
replay can skip what the inbox already holds while records are still the consumer's
own objects (``Consumed``): copying 100,000 records only to drop them would cost more
than reading them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol


class Consumed(Protocol):
    """A consumed record as any Kafka client delivers it (headers may hold nulls)."""

    @property
    def topic(self) -> str: ...

    @property
    def partition(self) -> int: ...

    @property
    def offset(self) -> int: ...

    @property
    def key(self) -> bytes | None: ...

    @property
    def value(self) -> bytes | None: ...

    @property
    def headers(self) -> Sequence[tuple[str, bytes | None]]: ...


@dataclasses.dataclass(frozen=True)
class RawRecord:
    """A consumed Kafka record, as the broker delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: Consumed) -> RawRecord:
        """From a consumed aiokafka ``ConsumerRecord`` (anything with its attributes)."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=raw_headers(record.headers),
        )


def raw_headers(headers: object) -> tuple[tuple[str, bytes], ...]:
    """Headers as delivered, with a null value kept as an empty one (Kafka allows null)."""
    if not headers:
        return ()
    return tuple(
        (k, v) if type(v) is bytes else (str(k), bytes(v) if v is not None else b"")
        for k, v in headers  # type: ignore[attr-defined]
    )


def identity(record: Consumed) -> tuple[str, str] | None:
    """The record's CloudEvents (source, id), read from its headers without decoding."""
    headers = record.headers
    if len(headers) > 2 and headers[1][0] == "ce_id" and headers[2][0] == "ce_source":
        event_id, source = headers[1][1], headers[2][1]  # where our encoder puts them
    else:
        source = event_id = None
        for name, value in headers:
            if name == "ce_source":
                source = value
            elif name == "ce_id":
                event_id = value
    if source is None or event_id is None:
        return None
    try:
        return source.decode(), event_id.decode()
    except UnicodeDecodeError:
        return None

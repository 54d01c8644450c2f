"""Consumed Kafka records as intake sees them, and what can be read without decoding.

Kept apart from intake so the subscriber, replay and the benchmarks share one shape of
a record (an aiokafka ``ConsumerRecord`` copied into plain data).
"""

from __future__ import annotations

import dataclasses
from typing import Any


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
    def of(cls, record: Any) -> RawRecord:
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


def identity(record: RawRecord) -> tuple[str, str] | None:
    """The record's CloudEvents (source, id), read from its headers without decoding."""
    headers = dict(record.headers)
    try:
        source, event_id = headers["ce_source"].decode(), headers["ce_id"].decode()
    except (KeyError, UnicodeDecodeError):
        return None
    return source, event_id

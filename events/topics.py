"""Topic names (defaults; the real names come from settings) and dead-letter headers.

One input topic carries both project events, keyed by project UUID, so a create and a
later delete of one project stay in order on one partition. One output topic carries
the session events, same key. Records the consumer cannot decode go to the dead-letter
topic unchanged (key, value and original headers), plus the ``dlq_*`` headers below;
except that a record too big for the dead-letter topic (the input topic may take larger
records than the broker's default, which the dead-letter topic keeps) is clipped to fit,
and ``dlq_clipped`` says what was cut.
"""

from __future__ import annotations

from collections.abc import Sequence

DEFAULT_INPUT_TOPIC = "devsessions.project-events.v1"
DEFAULT_OUTPUT_TOPIC = "devsessions.session-events.v1"
DEFAULT_DEAD_LETTER_TOPIC = "devsessions.project-events.dlq.v1"

DLQ_REASON_HEADER = "dlq_reason"
DLQ_CODE_HEADER = "dlq_code"
DLQ_SOURCE_TOPIC_HEADER = "dlq_source_topic"
DLQ_SOURCE_PARTITION_HEADER = "dlq_source_partition"
DLQ_SOURCE_OFFSET_HEADER = "dlq_source_offset"
DLQ_HEADERS = (
    DLQ_REASON_HEADER,
    DLQ_CODE_HEADER,
    DLQ_SOURCE_TOPIC_HEADER,
    DLQ_SOURCE_PARTITION_HEADER,
    DLQ_SOURCE_OFFSET_HEADER,
)
DLQ_CLIPPED_HEADER = "dlq_clipped"  # only on a clipped copy: what was cut
# A dead-letter copy's key, value and headers together stay under this, well inside the
# broker's default record limit (1 MiB) and the producer's default request size (1 MiB).
DLQ_MAX_RECORD_BYTES = 960 * 1024
_CLIPPED_PART_BYTES = 8 * 1024  # a key or header value of a clipped copy
_CLIPPED_HEADERS = 64  # headers kept on a clipped copy


def _size(key: bytes | None, value: bytes | None, headers: Sequence[tuple[str, bytes]]) -> int:
    return len(key or b"") + len(value or b"") + sum(len(n) + len(v or b"") for n, v in headers)


def clip_for_dead_letter(
    key: bytes | None,
    value: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    limit: int = DLQ_MAX_RECORD_BYTES,
) -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]], str | None]:
    """The record as the dead-letter topic can take it: unchanged when it fits in
    ``limit`` bytes; else at most 64 headers and the key, each clipped to 8 KiB, and the
    value's first bytes that fit. Returns (key, value, headers, what was cut or None)."""
    kept = list(headers)
    if _size(key, value, kept) <= limit:
        return key, value, kept, None
    cut: list[str] = []
    if len(kept) > _CLIPPED_HEADERS or any(
        len(n) > 256 or len(v or b"") > _CLIPPED_PART_BYTES for n, v in kept
    ):
        cut.append(f"{len(kept)} headers of {sum(len(v or b'') for _, v in kept)} bytes")
        kept = [(n[:256], (v or b"")[:_CLIPPED_PART_BYTES]) for n, v in kept[:_CLIPPED_HEADERS]]
    if key is not None and len(key) > _CLIPPED_PART_BYTES:
        cut.append(f"key of {len(key)} bytes")
        key = key[:_CLIPPED_PART_BYTES]
    room = max(0, limit - _size(key, None, kept))
    if value is not None and len(value) > room:
        cut.append(f"value of {len(value)} bytes, first {room} kept")
        value = value[:room]
    return key, value, kept, "; ".join(cut)


def dead_letter_headers(
    *, code: str, reason: str, topic: str, partition: int, offset: int
) -> tuple[tuple[str, bytes], ...]:
    """The ``dlq_*`` headers for a record that failed to decode (all UTF-8 text)."""
    return (
        (DLQ_REASON_HEADER, reason.encode("utf-8", "backslashreplace")),
        (DLQ_CODE_HEADER, code.encode("utf-8", "backslashreplace")),
        (DLQ_SOURCE_TOPIC_HEADER, topic.encode("utf-8")),
        (DLQ_SOURCE_PARTITION_HEADER, str(partition).encode("ascii")),
        (DLQ_SOURCE_OFFSET_HEADER, str(offset).encode("ascii")),
    )

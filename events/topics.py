"""Topic names (defaults; the real names come from settings) and dead-letter headers.

One input topic carries both project events, keyed by project UUID, so a create and a
later delete of one project stay in order on one partition. One output topic carries
the session events, same key. Records the consumer cannot decode go to the dead-letter
topic unchanged (key, value and original headers), plus the ``dlq_*`` headers below.
"""

from __future__ import annotations

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

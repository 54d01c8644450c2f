"""Wire contracts of devsessions: event models, CloudEvents-on-Kafka codec, topics.

Shared by the upstream project service, the provisioner (``consumer``) and downstream
UIs, so it depends on pydantic (and aiokafka for the publishing helper) and on nothing
of ours. The contract in prose is ``docs/events.md``; the machine-readable one is
``events/schemas/*.schema.json`` and ``events/asyncapi.json`` (``python -m events.generate``).

``EventPublisher`` is imported lazily so that decoding does not pull in aiokafka.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from events.envelope import (
    Envelope,
    EventType,
    derive_event_id,
    event_type_of,
    new_envelope,
)
from events.errors import DecodeError, EncodeError
from events.kafka import (
    MAX_VALUE_BYTES,
    KafkaRecord,
    decode_project_event,
    from_record,
    to_record,
)
from events.models import (
    AnyEvent,
    ChartOverrides,
    ProjectCreated,
    ProjectDeleted,
    ProjectEvent,
    ProjectUUID,
    SessionDeleted,
    SessionEvent,
    SessionFailed,
    SessionReady,
)
from events.topics import (
    DEFAULT_DEAD_LETTER_TOPIC,
    DEFAULT_INPUT_TOPIC,
    DEFAULT_OUTPUT_TOPIC,
    DLQ_CLIPPED_HEADER,
    DLQ_CODE_HEADER,
    DLQ_REASON_HEADER,
    DLQ_SOURCE_OFFSET_HEADER,
    DLQ_SOURCE_PARTITION_HEADER,
    DLQ_SOURCE_TOPIC_HEADER,
    clip_for_dead_letter,
    dead_letter_headers,
)

if TYPE_CHECKING:
    from events.publish import Delivery, EventPublisher

__all__ = [
    "DEFAULT_DEAD_LETTER_TOPIC",
    "DEFAULT_INPUT_TOPIC",
    "DEFAULT_OUTPUT_TOPIC",
    "DLQ_CLIPPED_HEADER",
    "DLQ_CODE_HEADER",
    "DLQ_REASON_HEADER",
    "DLQ_SOURCE_OFFSET_HEADER",
    "DLQ_SOURCE_PARTITION_HEADER",
    "DLQ_SOURCE_TOPIC_HEADER",
    "MAX_VALUE_BYTES",
    "AnyEvent",
    "ChartOverrides",
    "DecodeError",
    "Delivery",
    "EncodeError",
    "Envelope",
    "EventPublisher",
    "EventType",
    "KafkaRecord",
    "ProjectCreated",
    "ProjectDeleted",
    "ProjectEvent",
    "ProjectUUID",
    "SessionDeleted",
    "SessionEvent",
    "SessionFailed",
    "SessionReady",
    "clip_for_dead_letter",
    "dead_letter_headers",
    "decode_project_event",
    "derive_event_id",
    "event_type_of",
    "from_record",
    "new_envelope",
    "to_record",
]


def __getattr__(name: str) -> Any:
    if name in {"EventPublisher", "Delivery"}:
        from events import publish  # noqa: PLC0415 - lazy: aiokafka only when publishing

        return getattr(publish, name)
    msg = f"module 'events' has no attribute {name!r}"
    raise AttributeError(msg)

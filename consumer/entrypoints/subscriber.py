"""The FastStream Kafka subscriber on the input topic.

Delivery is at-least-once with manual acknowledgement: FastStream's default
(``ACK_FIRST``) would commit on receipt. The subscriber is a batch subscriber: each poll
(aiokafka ``getmany``, up to ``intake_batch_size`` records over the assigned partitions,
in log order per partition) is one handler call, applied by intake in one transaction.
The handler reads the raw records (a custom decoder keeps FastStream from parsing the
bodies, so a malformed value reaches intake and is dead-lettered instead of failing
before the handler), lets the guard apply them, and only then commits. ``msg.ack()``
commits every assigned partition's position, which is just past the batch in hand: the
next poll happens only after the handler returns, so it never passes an unapplied
record. ``msg.nack()`` rewinds every partition of the batch to its earliest record.
A new consumer group starts from the earliest offset.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka import ConsumerRebalanceListener, TopicPartition
from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.message import StreamMessage

from consumer.service.guard import DeliveryGuard, Verdict
from consumer.service.intake import RawRecord
from consumer.settings import Settings


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    """Decoder that hands the body over untouched (decoding is intake's job)."""
    return message.body


def _header_text(value: object) -> bytes:
    if isinstance(value, bytes):
        try:
            value.decode()
        except UnicodeDecodeError:
            return b""
        return value
    return b""


def _sanitised(record: Any) -> Any:
    if all(_header_text(v) is v for _, v in record.headers):
        return record  # the common case: nothing to copy
    safe = dataclasses.replace(record, headers=[(k, _header_text(v)) for k, v in record.headers])
    if hasattr(record, "consumer"):
        safe.consumer = record.consumer
    return safe


async def _tolerant_parser(
    record: Any, original: Callable[[Any], Awaitable[StreamMessage[Any]]]
) -> StreamMessage[Any]:
    """FastStream's parser, made safe for headers that are not UTF-8 or are null.

    FastStream decodes every header to text before the handler runs; a bad header would
    raise there, the records would be neither acknowledged nor dead-lettered, and the
    next commit would pass them. FastStream gets sanitised copies; intake still sees the
    records exactly as delivered (``raw_message``) and dead-letters them with the reason.
    Works for one record and for a batch (a tuple of records).
    """
    if isinstance(record, (tuple, list)):  # a batch (the test broker sends a list)
        message: StreamMessage[Any] = await original(tuple(_sanitised(r) for r in record))
    else:
        message = await original(_sanitised(record))
    message.raw_message = record
    return message


class ForgetRevoked(ConsumerRebalanceListener):  # type: ignore[misc]
    """Tells the guard which partitions a rebalance took away (their failure counts go)."""

    def __init__(self, guard: DeliveryGuard) -> None:
        self._guard = guard

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        self._guard.forget((tp.topic, tp.partition) for tp in revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        return None


def make_broker(settings: Settings) -> KafkaBroker:
    """A broker for the service's bootstrap servers."""
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id="devsessions-consumer",
        graceful_timeout=settings.max_poll_interval_ms / 3000 + 5,  # the guard's budget
        logger=logging.getLogger("faststream.kafka"),
    )


def subscribe(broker: KafkaBroker, settings: Settings, guard: DeliveryGuard) -> None:
    """Register the project-events handler on ``broker``."""

    @broker.subscriber(
        settings.input_topic,
        batch=True,
        max_records=settings.intake_batch_size,
        batch_timeout_ms=settings.intake_batch_timeout_ms,
        group_id=settings.consumer_group,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.MANUAL,
        max_poll_interval_ms=settings.max_poll_interval_ms,
        listener=ForgetRevoked(guard),
        decoder=_raw_body,
        parser=_tolerant_parser,
        title="project-events",
        description="ProjectCreated / ProjectDeleted, CloudEvents binary mode, key = project UUID",
    )
    async def on_project_event(body: list[bytes], message: KafkaMessage) -> None:
        await deliver(message, guard)


async def deliver(message: KafkaMessage, guard: DeliveryGuard) -> Verdict:
    """Let the guard apply the batch, then commit (ACK) or seek back to its first records
    so they are read again (RETRY_LATER: ``nack`` rewinds the partitions, commits nothing)."""
    raw = message.raw_message
    records = [RawRecord.of(r) for r in (raw if isinstance(raw, (tuple, list)) else (raw,))]
    if not records:
        return Verdict.ACK
    verdict = await guard.process_batch(records)
    if verdict is Verdict.ACK:
        await message.ack()
    else:
        await message.nack()
    return verdict

"""The FastStream subscriber with FastStream's in-memory test broker: raw records reach
intake untouched (even invalid JSON), and each is acknowledged only after intake."""

from __future__ import annotations

import uuid

import pytest
from aiokafka.structs import ConsumerRecord
from faststream.kafka import TestKafkaBroker

import events
from consumer.domain.model import Status
from consumer.entrypoints import subscriber
from consumer.ports import DatabaseUnavailable
from consumer.service.guard import DeliveryGuard
from consumer.settings import Settings
from tests.unit.conftest import DLQ, World


def _settings() -> Settings:
    return Settings(input_topic="in", consumer_group="g")


async def test_valid_record_is_applied_through_the_subscriber(world: World, project: str) -> None:
    broker = subscriber.make_broker(_settings())
    subscriber.subscribe(
        broker, _settings(), DeliveryGuard(world.intake, max_attempts=3, budget_seconds=1)
    )
    record = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    async with TestKafkaBroker(broker) as br:
        await br.publish(
            record.value, "in", key=record.key, headers={k: v.decode() for k, v in record.headers}
        )
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.PENDING
    assert world.woken == [project]


async def test_invalid_json_reaches_intake_and_is_dead_lettered(world: World) -> None:
    broker = subscriber.make_broker(_settings())
    subscriber.subscribe(
        broker, _settings(), DeliveryGuard(world.intake, max_attempts=3, budget_seconds=1)
    )
    async with TestKafkaBroker(broker) as br:
        await br.publish(
            b"{not json",
            "in",
            key=b"k",
            headers={"content-type": "application/json", "ce_specversion": "1.0"},
        )
    [(topic, key, value, headers)] = world.publisher.sent
    assert (topic, key, value) == (DLQ, b"k", b"{not json")
    assert dict(headers)[events.DLQ_CODE_HEADER] == b"missing-header"


async def test_poison_record_is_dead_lettered_after_bounded_attempts(
    world: World, project: str
) -> None:
    world.db.fail_begin.extend(RuntimeError("bug in apply") for _ in range(5))
    guard = DeliveryGuard(world.intake, max_attempts=3, budget_seconds=5, base_delay=0.01)
    record = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    from consumer.service.guard import Verdict
    from consumer.service.intake import RawRecord

    verdict = await guard.process(RawRecord("in", 0, 7, record.key, record.value, record.headers))
    assert verdict is Verdict.ACK and len(world.db.fail_begin) == 5 - 3, "three attempts"
    [(topic, _, _, headers)] = world.publisher.sent
    assert topic == DLQ and dict(headers)[events.DLQ_CODE_HEADER] == b"processing-failed"
    assert b"bug in apply" in dict(headers)[events.DLQ_REASON_HEADER]


async def test_database_outage_is_retried_then_handed_back_not_acked(
    world: World, project: str
) -> None:
    world.db.down = ConnectionRefusedError("database down")
    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=0.2, base_delay=0.05)
    record = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    from consumer.service.guard import Verdict
    from consumer.service.intake import RawRecord

    verdict = await guard.process(RawRecord("in", 0, 7, record.key, record.value, record.headers))
    assert verdict is Verdict.RETRY_LATER
    assert world.publisher.sent == [], "an outage is not the record's fault: no dead letter"


async def test_headers_that_are_not_text_reach_intake_as_delivered() -> None:
    from faststream.kafka.message import KafkaAckableMessage
    from faststream.kafka.parser import AioKafkaParser

    record = ConsumerRecord(
        topic="in",
        partition=0,
        offset=3,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=b"v",
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=1,
        headers=(
            ("ce_id", b"\xff\xfe"),
            ("ce_source", None),
            ("content-type", b"application/json"),
        ),
    )
    parser = AioKafkaParser(msg_class=KafkaAckableMessage, regex=None)
    message = await subscriber._tolerant_parser(record, parser.parse_message)
    assert message.raw_message is record
    assert message.headers["ce_id"] == ""  # FastStream's view, sanitised
    with pytest.raises(UnicodeDecodeError):  # what FastStream alone would have done
        await parser.parse_message(record)
    from consumer.service.intake import raw_headers

    assert raw_headers(record.headers) == (
        ("ce_id", b"\xff\xfe"),
        ("ce_source", b""),
        ("content-type", b"application/json"),
    )


@pytest.mark.parametrize(
    ("error", "dead_lettered"),
    [
        (DatabaseUnavailable("the database is starting up"), False),
        (TimeoutError("pool timeout"), False),
        (ValueError("value too long for type character varying(36)"), True),
    ],
)
async def test_database_unavailable_is_retried_and_data_errors_are_poison(
    world: World, project: str, error: Exception, dead_lettered: bool
) -> None:
    """The adapter classifies driver errors (see tests/unit/test_db_errors.py); the guard
    retries what it calls unavailable and dead-letters what keeps failing otherwise."""
    from consumer.service.guard import Verdict
    from consumer.service.intake import RawRecord

    world.db.down = error
    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=0.3, base_delay=0.01)
    record = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    verdict = await guard.process(RawRecord("in", 0, 9, record.key, record.value, record.headers))
    assert (verdict is Verdict.ACK) == dead_lettered
    assert bool(world.publisher.sent) == dead_lettered


async def test_poison_attempts_add_up_across_hand_backs(world: World, project: str) -> None:
    from consumer.service.guard import Verdict
    from consumer.service.intake import RawRecord

    world.db.down = RuntimeError("bug")
    # a budget too short for a second attempt: each delivery fails once, then is handed back
    guard = DeliveryGuard(world.intake, max_attempts=3, budget_seconds=0.001, base_delay=0.01)
    record = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    raw = RawRecord("in", 0, 11, record.key, record.value, record.headers)
    verdicts = [await guard.process(raw) for _ in range(3)]
    assert verdicts == [Verdict.RETRY_LATER, Verdict.RETRY_LATER, Verdict.ACK]
    assert world.publisher.sent, "dead-lettered on the third delivery"


class _SpyConsumer:
    """Records what the message asks of the Kafka consumer: commits and seeks."""

    def __init__(self) -> None:
        self.commits = 0
        self.seeks: list[tuple[str, int, int]] = []

    async def commit(self) -> None:
        self.commits += 1

    def seek(self, partition: object, offset: int) -> None:
        self.seeks.append((partition.topic, partition.partition, offset))  # type: ignore[attr-defined]


def _consumer_record(
    world: World, project: str, partition: int, offset: int
) -> ConsumerRecord[bytes, bytes]:
    rec = events.to_record(events.new_envelope(world.created(project), source="urn:test"))
    return ConsumerRecord(
        topic="in",
        partition=partition,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=rec.key,
        value=rec.value,
        checksum=None,
        serialized_key_size=len(rec.key),
        serialized_value_size=len(rec.value),
        headers=rec.headers,
    )


def _ackable(world: World, project: str, offset: int) -> tuple[object, _SpyConsumer]:
    from faststream.kafka.message import KafkaAckableMessage

    record = _consumer_record(world, project, 2, offset)
    consumer = _SpyConsumer()
    return KafkaAckableMessage(record, record.value, consumer=consumer), consumer


async def test_a_record_handed_back_is_nacked_not_acknowledged(world: World, project: str) -> None:
    """An outage: the guard says RETRY_LATER, and the message rewinds its partition to
    the record instead of committing past it."""
    from consumer.service.guard import Verdict

    world.db.down = DatabaseUnavailable("database down")
    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=0.05, base_delay=0.02)
    message, consumer = _ackable(world, project, offset=41)
    assert await subscriber.deliver(message, guard) is Verdict.RETRY_LATER
    assert consumer.commits == 0, "nothing committed past an unapplied record"
    assert consumer.seeks == [("in", 2, 41)], "the partition rewinds to the record"


async def test_an_applied_record_is_acknowledged(world: World, project: str) -> None:
    from consumer.service.guard import Verdict

    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=1)
    message, consumer = _ackable(world, project, offset=42)
    assert await subscriber.deliver(message, guard) is Verdict.ACK
    assert (consumer.commits, consumer.seeks) == (1, [])
    assert await world.sessions.get(project) is not None


async def test_a_batch_is_committed_once_after_it_is_applied_or_rewound_per_partition(
    world: World,
) -> None:
    """One poll over two partitions: applied in one transaction then committed once; on
    an outage every partition rewinds to its first record of the batch."""
    from faststream.kafka.message import KafkaAckableMessage

    from consumer.service.guard import Verdict

    projects = [str(uuid.uuid4()) for _ in range(3)]
    batch = (
        _consumer_record(world, projects[0], 0, 5),
        _consumer_record(world, projects[1], 0, 6),
        _consumer_record(world, projects[2], 1, 9),
    )
    guard = DeliveryGuard(world.intake, max_attempts=2, budget_seconds=0.05, base_delay=0.02)
    world.db.down = DatabaseUnavailable("database down")
    consumer = _SpyConsumer()
    message = KafkaAckableMessage(batch, [], consumer=consumer)
    assert await subscriber.deliver(message, guard) is Verdict.RETRY_LATER
    assert consumer.commits == 0
    assert sorted(consumer.seeks) == [("in", 0, 5), ("in", 1, 9)]
    world.db.down = None
    consumer = _SpyConsumer()
    message = KafkaAckableMessage(batch, [], consumer=consumer)
    assert await subscriber.deliver(message, guard) is Verdict.ACK
    assert (consumer.commits, consumer.seeks) == (1, [])
    assert len([u for u in world.db.units if u.committed]) == 1, "one transaction"
    assert all([await world.sessions.get(p) for p in projects])


async def test_a_batch_with_a_header_that_is_not_text_reaches_intake_as_delivered() -> None:
    from faststream.kafka.message import KafkaAckableMessage
    from faststream.kafka.parser import AioKafkaBatchParser

    def record(offset: int, ce_id: bytes | None) -> ConsumerRecord[bytes, bytes]:
        return ConsumerRecord(
            topic="in",
            partition=0,
            offset=offset,
            timestamp=0,
            timestamp_type=0,
            key=b"k",
            value=b"v",
            checksum=None,
            serialized_key_size=1,
            serialized_value_size=1,
            headers=(("ce_id", ce_id),),
        )

    batch = (record(1, b"fine"), record(2, b"\xff\xfe"), record(3, None))
    parser = AioKafkaBatchParser(msg_class=KafkaAckableMessage, regex=None)
    message = await subscriber._tolerant_parser(batch, parser.parse_batch)
    assert message.raw_message is batch
    assert message.body == [b"v", b"v", b"v"]
    with pytest.raises((UnicodeDecodeError, AttributeError)):  # what FastStream alone does
        await parser.parse_batch(batch)

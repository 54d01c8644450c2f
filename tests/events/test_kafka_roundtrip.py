"""The codec against real Kafka: what ``EventPublisher`` and ``devsessions publish`` send
is decoded from the broker's own key, value and headers into exactly what was sent.

Each test uses its own topics (created with three partitions), so runs never see each
other's records.
"""

from __future__ import annotations

import asyncio
import re
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from devstack.record import StackInfo

from events import (
    AnyEvent,
    Envelope,
    EventPublisher,
    ProjectCreated,
    ProjectDeleted,
    decode_project_event,
    from_record,
)

PARTITIONS = 3


async def _new_topic(servers: str) -> str:
    topic = f"events-test-{uuid.uuid4().hex[:12]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, PARTITIONS, 1)])
    finally:
        await admin.close()
    return topic


async def _consume(servers: str, topic: str, count: int) -> list[Any]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=servers,
        group_id=f"events-test-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    received: list[Any] = []
    try:
        while len(received) < count:
            batch = await consumer.getmany(timeout_ms=15_000)
            assert batch, f"no records within 15 s; got {len(received)} of {count}"
            for records in batch.values():
                received += records
    finally:
        await consumer.stop()
    return received


async def test_published_events_decode_from_real_records(
    stack: StackInfo, all_events: list[AnyEvent]
) -> None:
    servers = stack.kafka_bootstrap_servers
    topic = await _new_topic(servers)
    other = str(uuid.uuid4())
    later: list[AnyEvent] = [
        ProjectCreated(project_uuid=other, project_id=1, user_id=1, created_at=datetime.now(UTC)),
        ProjectDeleted(project_uuid=other, deleted_at=datetime.now(UTC)),
    ]
    sent: list[Envelope[Any]] = []
    async with EventPublisher(servers, topic=topic, source="urn:devsessions:test") as publisher:
        for data in [*all_events, *later]:
            sent.append(await publisher.publish(data))

    records = await _consume(servers, topic, len(sent))
    decoded = {}
    for record in records:
        envelope = from_record(record.key, record.value, record.headers)
        decoded[envelope.id] = (envelope, record.partition, record.offset)
    assert {e.id: e for e, _, _ in decoded.values()} == {e.id: e for e in sent}

    # One project -> one partition, in publishing order.
    for project in {e.project_uuid for e in sent}:
        mine = [decoded[e.id] for e in sent if e.project_uuid == project]
        assert len({partition for _, partition, _ in mine}) == 1
        offsets = [offset for _, _, offset in mine]
        assert offsets == sorted(offsets)

    project_records = [r for r in records if r.key == other.encode()]
    assert [
        type(decode_project_event(r.key, r.value, r.headers).data) for r in project_records
    ] == [
        ProjectCreated,
        ProjectDeleted,
    ]


async def _cli(stack: StackInfo, topic: str, *args: str) -> tuple[int, str, str]:
    executable = Path(sys.executable).with_name("devsessions")
    env = stack.subprocess_env() | {"DEVSESSIONS_INPUT_TOPIC": topic}
    process = await asyncio.create_subprocess_exec(
        str(executable),
        "publish",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


async def _read_at(servers: str, topic: str, partition: int, offset: int) -> Any:
    consumer = AIOKafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        consumer.seek(tp, offset)
        return await asyncio.wait_for(consumer.getone(), timeout=15)
    finally:
        await consumer.stop()


async def test_cli_publishes_records_that_decode(stack: StackInfo) -> None:
    servers = stack.kafka_bootstrap_servers
    topic = await _new_topic(servers)
    project = str(uuid.uuid4())
    created_args = ["project-created", project, "--user-id", "7", "--project-id", "42"]
    overrides = '{"cpu_request": "500m", "env": {"GREETING": "hi"}}'
    runs = [
        [*created_args, "--override-json", overrides, "--event-id", "cli-evt-1"],
        [*created_args, "--override-json", overrides, "--event-id", "cli-evt-1"],
        ["project-deleted", project],
    ]
    published = []
    for args in runs:
        code, stdout, stderr = await _cli(stack, topic, *args)
        assert code == 0, stderr
        found = re.search(r"id=(\S+) topic=(\S+) partition=(\d+) offset=(\d+)", stdout)
        assert found is not None, stdout
        published.append((found[1], found[2], int(found[3]), int(found[4])))

    envelopes = []
    for event_id, where, partition, offset in published:
        assert where == topic
        record = await _read_at(servers, topic, partition, offset)
        envelope = decode_project_event(record.key, record.value, record.headers)
        assert envelope.id == event_id
        assert envelope.project_uuid == project
        envelopes.append(envelope)

    first, duplicate, deletion = envelopes
    assert isinstance(first.data, ProjectCreated)
    assert first.data.overrides is not None
    assert (first.data.overrides.cpu_request, first.data.overrides.env) == (
        "500m",
        {"GREETING": "hi"},
    )
    assert (first.data.user_id, first.data.project_id) == (7, 42)
    assert (duplicate.id, duplicate.source) == (first.id, first.source)
    assert isinstance(deletion.data, ProjectDeleted)
    assert len({partition for _, _, partition, _ in published}) == 1

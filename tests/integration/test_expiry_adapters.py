"""The adapters behind expiry and retention, on the real stack: the input log's start
(``KafkaLogStarts``) moves when Kafka deletes records, and the owner's renewal
(``SqlSessionRenewals``) pushes out only a wanted session's expiry."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete
from devstack.record import StackInfo

from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.adapters.db.session_renewals import SqlSessionRenewals
from consumer.adapters.kafka_log_start import KafkaLogStarts
from consumer.adapters.kafka_topics import KafkaTopicIdentity
from consumer.domain import intake
from consumer.domain.model import Cause, Desired, LogPosition, Status
from consumer.domain.retention import mark_released
from tests.e2e.harness import create_database, create_topics


async def test_log_start_follows_deleted_records(stack: StackInfo) -> None:
    bootstrap = stack.kafka_bootstrap_servers
    topic = f"logstart-{uuid.uuid4().hex[:8]}"
    await create_topics(bootstrap, [topic], partitions=2)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(topic, f"r{i}".encode(), partition=0)
    finally:
        await producer.stop()
    topics = KafkaTopicIdentity(bootstrap)
    starts = KafkaLogStarts(bootstrap, topics)
    try:
        first = await starts.log_start(topic)
        epoch = await topics.epoch(topic, max_age=0)
        assert first.topic_id == epoch.topic_id and first.topic_id
        assert dict(first.earliest) == {0: 0, 1: 0}
        mark = LogPosition(0, 2, first.topic_id)
        assert not mark_released(mark, first)
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
        await admin.start()
        try:
            await admin.delete_records({TopicPartition(topic, 0): RecordsToDelete(3)})
        finally:
            await admin.close()
        moved = await starts.log_start(topic)
        assert dict(moved.earliest) == {0: 3, 1: 0}
        assert mark_released(mark, moved)
        assert not mark_released(LogPosition(0, 3, first.topic_id), moved)
    finally:
        await starts.close()
        await topics.close()


async def test_owner_renewal_pushes_out_only_wanted_sessions(stack: StackInfo) -> None:
    url = await create_database(stack.database_url, f"renew_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engine = make_engine(url, pool_size=2)
    try:
        uow = sql_uow.factory(engine)
        now = datetime.now(UTC)
        live, gone = str(uuid.uuid4()), str(uuid.uuid4())
        sessions = []
        for project in (live, gone):
            decided = intake.decide(
                None,
                intake.Created(project, 1, 2, {}),
                cause=Cause(f"evt-{project}", "urn:test"),
                position=LogPosition(0, 1),
                now=now,
                lifetime=timedelta(days=1),
            ).session
            assert decided is not None
            sessions.append(decided)
        sessions[1] = dataclasses.replace(
            sessions[1], desired=Desired.ABSENT, status=Status.DELETED
        )
        async with uow() as unit:
            await unit.sessions.put_many(sessions)
            await unit.commit()
        renewals = SqlSessionRenewals(engine)
        later = now + timedelta(days=30)
        assert await renewals.renew(live, until=later)
        assert not await renewals.renew(gone, until=later)
        assert await renewals.renew(live, until=now), "never pulled in, still wanted"
        async with uow() as unit:
            got_live = await unit.sessions.get(live)
            got_gone = await unit.sessions.get(gone)
        assert got_live is not None and got_live.expires_at == later
        assert got_gone is not None and got_gone.expires_at == sessions[1].expires_at
    finally:
        await engine.dispose()

"""Batch intake on the real stack: a poison record amid good ones in one poll, and a
crash between the database commit and the Kafka offset commit.

The good records are ``ProjectDeleted`` of unknown projects (answered at once with
``SessionDeleted``, no Helm work), so what is checked is intake and delivery alone.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

import events
from events.publish import EventPublisher
from tests.e2e.crash_after_commit import EXIT_CODE
from tests.e2e.harness import (
    REPO,
    OutputWatcher,
    Topology,
    created,
    deleted,
    new_project,
    of,
    run_cli,
    running,
)

NUL_ENV = events.ChartOverrides(env={"GREETING": "hello\x00world"})  # jsonb refuses \u0000


async def offsets(topo: Topology) -> tuple[dict[int, int], dict[int, int | None]]:
    """End offsets of the input topic, and what the service's group has committed."""
    probe = AIOKafkaConsumer(
        bootstrap_servers=topo.stack.kafka_bootstrap_servers, group_id=f"{topo.prefix}-group"
    )
    await probe.start()
    try:
        tps = [TopicPartition(topo.input_topic, p) for p in range(3)]
        ends = await probe.end_offsets(tps)
        return (
            {tp.partition: ends[tp] for tp in tps},
            {tp.partition: await probe.committed(tp) for tp in tps},
        )
    finally:
        await probe.stop()


async def wait_committed_to_end(topo: Topology, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ends, committed = await offsets(topo)
        if all((committed[p] or 0) >= end for p, end in ends.items()):
            return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"group did not commit to the end: {await offsets(topo)}")


async def count(topo: Topology, query: str, *args: object) -> int:
    conn = await asyncpg.connect(
        topo.database_url.replace("postgresql+asyncpg://", "postgresql://")
    )
    try:
        return int(await conn.fetchval(query, *args))
    finally:
        await conn.close()


async def publish_malformed(topo: Topology, key: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=topo.stack.kafka_bootstrap_servers)
    await producer.start()
    try:
        await producer.send_and_wait(
            topo.input_topic,
            key=key,
            value=b"{not json",
            headers=[("ce_specversion", b"1.0"), ("ce_id", b"bad-batch-1")],
        )
    finally:
        await producer.stop()


async def test_poison_record_amid_good_ones_in_one_poll(topo: Topology, service_log: Path) -> None:
    good = [new_project() for _ in range(6)]
    poison = new_project()
    async with EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub:
        for project in good[:3]:
            await pub.publish(deleted(project))
        await pub.publish(created(poison, overrides=NUL_ENV))
        await publish_malformed(topo, poison.encode())
        for project in good[3:]:
            await pub.publish(deleted(project))
    # everything is on the topic before the service starts: its first poll holds it all
    with running(topo, service_log, DEVSESSIONS_HANDLER_MAX_ATTEMPTS="2"):
        async with (
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.dead_letter_topic) as dlq,
        ):
            await out.wait_for(lambda s: all(of(s, p, events.SessionDeleted) for p in good), 60)
            deadline = time.monotonic() + 60
            while len(dlq.records) < 2 and time.monotonic() < deadline:
                await dlq.poll()
            await wait_committed_to_end(topo)
        log = await asyncio.to_thread(service_log.read_text)
    assert "batch failed; applying its records one by one" in log, "they shared a batch"
    codes = {dict(r.headers)[events.DLQ_CODE_HEADER]: r for r in dlq.records}
    assert set(codes) == {b"processing-failed", b"missing-header"}
    refused = dict(codes[b"processing-failed"].headers)
    assert refused["ce_subject"] == poison.encode()
    assert b"processing failed 2 times" in refused[events.DLQ_REASON_HEADER]
    assert b"Unicode" in refused[events.DLQ_REASON_HEADER], "PostgreSQL's own reason"
    assert codes[b"missing-header"].value == b"{not json"
    assert await count(topo, "SELECT count(*) FROM sessions") == len(good)


async def test_crash_between_database_and_offset_commit_loses_and_repeats_nothing(
    topo: Topology, service_log: Path
) -> None:
    projects = [new_project() for _ in range(40)]
    _, committed_before = await offsets(topo)
    async with EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub:
        for project in projects:
            await pub.publish(deleted(project))
    crashed = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "tests.e2e.crash_after_commit"],
        env=topo.env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == EXIT_CODE, crashed.stdout + crashed.stderr
    ours = "SELECT count(*) FROM {} WHERE project_uuid = ANY($1::text[])"
    applied = await count(topo, ours.format("inbox"), projects)
    assert applied > 0, "the first batch was durable before the crash"
    assert await count(topo, ours.format("sessions"), projects) == applied
    assert (await offsets(topo))[1] == committed_before, "but no offset was committed"

    with running(topo, service_log):
        async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out:
            await out.wait_for(lambda s: all(of(s, p, events.SessionDeleted) for p in projects), 60)
            await wait_committed_to_end(topo)
            await asyncio.sleep(2)  # anything published twice would be here by now
            await out.poll()
            seen = out.decoded()
    for project in projects:
        assert len(of(seen, project, events.SessionDeleted)) == 1, "published exactly once"
    for table in ("inbox", "sessions", "outbox"):  # one row each, none lost, none doubled
        assert await count(topo, ours.format(table), projects) == len(projects), table
    log = await asyncio.to_thread(service_log.read_text)
    assert f"duplicate={applied}" in log, "the redelivered batch came back as duplicates"


async def test_replay_of_the_applied_log_skips_the_poison_and_calls_no_helm(
    topo: Topology, service_log: Path
) -> None:
    projects = [new_project() for _ in range(5)]
    async with EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub:
        await pub.publish(created(new_project(), overrides=NUL_ENV))
        for project in projects:
            await pub.publish(deleted(project))
    with running(topo, service_log, DEVSESSIONS_HANDLER_MAX_ATTEMPTS="2"):
        await wait_committed_to_end(topo)
    topo.helm_log.unlink(missing_ok=True)
    result = await asyncio.to_thread(run_cli, topo, "replay", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    assert topo.helm_calls() == [], "a replay onto a complete database must not call Helm"
    summary = next(line for line in result.stdout.splitlines() if "records read" in line)
    assert "failed=" in summary and "duplicate=" in summary, summary
    assert "applied=" not in summary, summary

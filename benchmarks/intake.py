"""Intake throughput on PostgreSQL, and replay of an applied log.

Subject: the real intake (decode, inbox, row lock, decision, upsert, commit) per event.
Baseline: the least any durable consumer must do per event, one single-row INSERT
transaction with asyncpg, in the same process against the same server. The ratio says
what our bookkeeping costs on top of "one commit per event".
Replay: the same records again (all duplicates) against decode-only of the same records.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import asyncpg
from devstack.record import StackInfo

import events
from benchmarks.common import fresh_database, measure, row
from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.service.intake import RawRecord
from tests.unit.conftest import make_world


def _records(n: int) -> list[RawRecord]:
    out = []
    for i in range(n):
        data = events.ProjectCreated(
            project_uuid=str(uuid.uuid4()), project_id=i, user_id=1, created_at=datetime.now(UTC)
        )
        rec = events.to_record(events.new_envelope(data, source="urn:bench"))
        out.append(RawRecord("bench", i % 3, i, rec.key, rec.value, rec.headers))
    return out


async def run(stack: StackInfo, n: int = 2000) -> list[str]:
    url = await fresh_database(stack, "bench_intake")
    await upgrade(url)
    engine = make_engine(url, pool_size=4)
    world = make_world(uow=sql_uow.factory(engine))
    records = _records(n)

    async def intake_all() -> None:
        for r in records:
            await world.intake.handle(r)

    subject = await measure(n, intake_all)

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    await conn.execute("CREATE TABLE baseline (id text PRIMARY KEY, p int, o bigint)")

    async def insert_all() -> None:
        for r in records:
            async with conn.transaction():
                await conn.execute(
                    "INSERT INTO baseline VALUES ($1, $2, $3)", f"{r.offset}", r.partition, r.offset
                )

    baseline = await measure(n, insert_all)
    await conn.close()

    async def replay_all() -> None:  # every record is a duplicate now; replay batches them
        for start in range(0, n, 500):
            await world.intake.handle_many(records[start : start + 500], dead_letter=False)

    replayed = await measure(n, replay_all)

    async def decode_all() -> None:
        for r in records:
            events.decode_project_event(r.key, r.value, r.headers)

    decode = await measure(n, decode_all)
    await engine.dispose()
    return [
        row(f"intake {n} ProjectCreated", subject, baseline, "1-row INSERT txn/event"),
        row(f"replay {n} applied events", replayed, decode, "decode only"),
    ]

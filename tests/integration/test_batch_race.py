"""Consumers racing on the same projects on PostgreSQL (a rebalance hands the same
records to several replicas): batches that share projects in different orders neither
deadlock nor apply an event twice, and the end state is that of one consumer alone.

Four replicas, twelve projects and batches of thirty make the batches overlap: with the
advisory locks taken in the order projects appear in a batch instead of in key order,
this test deadlocks (PostgreSQL aborts one transaction) in most runs."""

from __future__ import annotations

import asyncio
import itertools
import random
import uuid
from collections.abc import AsyncIterator

import pytest
from devstack.record import StackInfo

from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.service.intake import Outcome, RawRecord
from tests.e2e.harness import create_database
from tests.unit.conftest import World, make_world

PROJECTS, ROUNDS, BATCH, REPLICAS = 12, 10, 30, 4


@pytest.fixture
async def replicas(stack: StackInfo) -> AsyncIterator[list[World]]:
    url = await create_database(stack.database_url, f"race_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engines = [make_engine(url, pool_size=2) for _ in range(REPLICAS)]
    yield [make_world(uow=sql_uow.factory(engine)) for engine in engines]
    for engine in engines:
        await engine.dispose()


def _log(world: World) -> list[RawRecord]:
    """Create/delete/create... of every project, on three partitions, offsets per partition."""
    projects = [str(uuid.uuid4()) for _ in range(PROJECTS)]
    offsets = [itertools.count() for _ in range(3)]
    records = []
    for round_ in range(ROUNDS):
        for i, project in enumerate(projects):
            data = world.deleted(project) if round_ % 2 else world.created(project, project_id=i)
            partition = i % 3
            records.append(world.record(data, partition=partition, offset=next(offsets[partition])))
    return records


def _delivery(records: list[RawRecord], seed: int) -> list[list[RawRecord]]:
    """The records as a consumer may get them: each partition in order, partitions
    interleaved at random (so two consumers' batches share projects in other orders)."""
    rng = random.Random(seed)
    queues = [[r for r in records if r.partition == p] for p in range(3)]
    order: list[RawRecord] = []
    while any(queues):
        queue = rng.choice([q for q in queues if q])
        taken = rng.randint(1, 5)
        order.extend(queue[:taken])
        del queue[:taken]
    return [order[i : i + BATCH] for i in range(0, len(order), BATCH)]


async def test_consumers_on_the_same_records_apply_each_event_once(
    replicas: list[World],
) -> None:
    first = replicas[0]
    records = _log(first)

    async def consume(world: World, seed: int) -> list[tuple[RawRecord, Outcome]]:
        seen: list[tuple[RawRecord, Outcome]] = []
        for batch in _delivery(records, seed):
            seen.extend(zip(batch, await world.intake.handle_batch(batch), strict=True))
        return seen

    results = await asyncio.gather(*(consume(w, seed) for seed, w in enumerate(replicas)))
    outcomes: dict[tuple[int, int], list[Outcome]] = {}
    for record, outcome in itertools.chain(*results):
        outcomes.setdefault((record.partition, record.offset), []).append(outcome)
    assert len(outcomes) == len(records)
    for where, pair in outcomes.items():
        assert pair.count(Outcome.DUPLICATE) == REPLICAS - 1, f"{where} applied once: {pair}"

    alone = make_world()  # one consumer, one record at a time, in log order
    for record in records:
        await alone.intake.handle(record)
    expected = {s.project_uuid: s for s in await alone.sessions.list()}
    actual = {s.project_uuid: s for s in await first.sessions.list()}
    assert set(actual) == set(expected)
    for project, session in actual.items():
        want = expected[project]
        assert (session.desired, session.status, session.generation, session.high_water) == (
            want.desired,
            want.status,
            want.generation,
            want.high_water,
        )

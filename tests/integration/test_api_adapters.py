"""The session API's adapters on the real stack: reads, LISTEN/NOTIFY, the lazy cluster."""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from devstack.record import StackInfo

from consumer.adapters.db import uow as sql_uow
from consumer.adapters.db.engine import make_engine, upgrade
from consumer.adapters.db.notify import PgSessionChanges
from consumer.adapters.db.session_reads import SqlSessionReads
from consumer.adapters.kube_lazy import LazyCluster
from consumer.domain.errors import TransientError
from consumer.domain.model import Status
from tests.e2e.harness import create_database
from tests.unit.conftest import World, make_world


@pytest.fixture(scope="module")
async def api_world(stack: StackInfo) -> AsyncIterator[tuple[World, str]]:
    url = await create_database(stack.database_url, f"api_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engine = make_engine(url, pool_size=4)
    world = make_world(uow=sql_uow.factory(engine))  # PostgreSQL under the real service
    yield world, url
    await engine.dispose()


async def test_changes_notify_on_status_not_on_lease_renewals(
    api_world: tuple[World, str],
) -> None:
    world, url = api_world
    changes = PgSessionChanges(url)
    reads = SqlSessionReads(make_engine(url, pool_size=1))
    await changes.start()
    await asyncio.wait_for(changes.listening.wait(), 10)
    project, other = str(uuid.uuid4()), str(uuid.uuid4())
    try:
        async with changes.watch(project) as watch:
            assert not await watch.changed(0.2)  # the reconnect wake-up is behind us
            await world.intake.handle(world.record(world.created(other)))
            assert not await watch.changed(0.5)  # another project's change
            await world.intake.handle(world.record(world.created(project)))
            assert await watch.changed(5)
            session = await reads.by_project(project)
            assert session is not None and session.status is Status.PENDING
            async with world.uow() as unit:
                await unit.leases.claim(project, "someone", 60)
                await unit.commit()
            assert not await watch.changed(0.5)  # a lease is not a change of the session
            async with world.uow() as unit:
                await unit.leases.release(project, "someone")
                await unit.commit()
            await world.settle()  # the real reconciler provisions (fake cluster)
            assert await watch.changed(5)
            assert (await reads.by_project(project)).status is Status.RUNNING
    finally:
        await changes.stop()


async def test_listener_reconnects_and_wakes_everyone(api_world: tuple[World, str]) -> None:
    world, url = api_world
    changes = PgSessionChanges(url)
    await changes.start()
    await asyncio.wait_for(changes.listening.wait(), 10)
    project = str(uuid.uuid4())
    dsn = url.replace("postgresql+asyncpg://", "postgresql://")
    try:
        async with changes.watch(project) as watch:
            conn = await asyncpg.connect(dsn)
            try:
                await conn.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE pid <> pg_backend_pid() AND datname = current_database() "
                    "AND query LIKE 'LISTEN%'"
                )
            finally:
                await conn.close()
            assert await watch.changed(10)  # woken: changes may have been missed
            await asyncio.wait_for(changes.listening.wait(), 10)
            await world.intake.handle(world.record(world.created(project)))
            assert await watch.changed(5)  # and listening again
    finally:
        await changes.stop()


async def test_reads_page_by_id_with_a_status_filter(api_world: tuple[World, str]) -> None:
    world, url = api_world
    reads = SqlSessionReads(make_engine(url, pool_size=1))
    for _ in range(3):
        await world.intake.handle(world.record(world.created(str(uuid.uuid4()))))
    everything = await reads.page(status=None, after_id=0, limit=1000)
    ids = [s.id or 0 for s in everything]
    assert ids == sorted(ids) and len(ids) >= 3
    second = await reads.page(status=None, after_id=ids[0], limit=2)
    assert [s.id for s in second] == ids[1:3]
    pending = await reads.page(status=Status.PENDING, after_id=0, limit=1000)
    assert pending and all(s.status is Status.PENDING for s in pending)
    assert (await reads.by_id(ids[0])).project_uuid == everything[0].project_uuid


async def test_lazy_cluster_connects_once_a_kubeconfig_answers(
    stack: StackInfo, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kube = LazyCluster(str(kubeconfig), threads=2, probe_ttl=0)
    try:
        assert not await kube.reachable()
        with pytest.raises(TransientError, match="kubernetes"):
            await kube.managed_namespaces()
        shutil.copy(stack.kubeconfig, kubeconfig)
        assert await kube.reachable()
        assert isinstance(await kube.managed_namespaces(), set)
    finally:
        kube.close()

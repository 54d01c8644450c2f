"""Outages of a dependency, through a TCP proxy this test controls (the shared stack's
services stay up for everyone else): the service stays up, ``/readyz`` and the metrics
name the failing dependency, nothing is acknowledged before it is durable, and the work
resumes by itself when the dependency returns."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import events
from events.publish import EventPublisher
from tests.e2e.harness import (
    OutputWatcher,
    ServiceProcess,
    Topology,
    created,
    deleted,
    new_project,
    of,
)
from tests.e2e.light import light_values
from tests.faults.proxy import TcpProxy
from tests.faults.report import print_table
from tests.faults.storm import readyz, until

READY_TIMEOUT = 240


def _through(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0] + "@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}"))


async def test_postgresql_outage_is_named_and_work_resumes(topo: Topology, tmp_path: Path) -> None:
    target = urlsplit(topo.database_url)
    proxy = await TcpProxy(target.hostname or "127.0.0.1", target.port or 5432).start()
    service = ServiceProcess(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_DATABASE_URL=_through(topo.database_url, proxy.port),
        DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
        DEVSESSIONS_HEALTH_INTERVAL_SECONDS="1",
    )
    await asyncio.to_thread(service.start)
    before, during = new_project(), new_project()
    try:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            await pub.publish(created(before))
            await out.wait_for(lambda s: bool(of(s, before, events.SessionReady)), READY_TIMEOUT)
            await proxy.cut()
            cut_at = time.monotonic()

            async def named() -> bool:
                code, body = await readyz(service)
                return code == 503 and "postgresql" in body.get("failing", {})

            noticed = await until(named, 30, "readyz naming postgresql")
            _, metrics = await asyncio.to_thread(service.get, "/metrics")
            assert b'devsessions_dependency_up{dependency="postgresql"} 0.0' in metrics
            await pub.publish(created(during))  # cannot be made durable now: not acknowledged
            await asyncio.sleep(5)
            assert service.proc is not None and service.proc.poll() is None, "process stayed up"
            assert not of(out.decoded(), during, events.SessionReady)
            await proxy.restore()
            restored_at = time.monotonic()
            await out.wait_for(lambda s: bool(of(s, during, events.SessionReady)), READY_TIMEOUT)
            converge = time.monotonic() - restored_at

            async def ready() -> bool:
                return (await readyz(service))[0] == 200

            await until(ready, 30, "readyz 200 again")
            for p in (before, during):
                await pub.publish(deleted(p))
            await out.wait_for(
                lambda s: all(of(s, p, events.SessionDeleted) for p in (before, during)),
                READY_TIMEOUT,
            )
        print_table(
            "PostgreSQL cut for 5+ s (TCP proxy)",
            {
                "events": 4,
                "faults": 1,
                "mismatches": 0,
                "readyz named postgresql after (s)": f"{noticed:.1f}",
                "outage length (s)": f"{restored_at - cut_at:.1f}",
                "time to converge after restore (s)": f"{converge:.1f}",
            },
        )
    finally:
        await asyncio.to_thread(service.stop)
        await proxy.close()

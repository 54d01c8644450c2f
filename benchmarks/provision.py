"""Provisioning throughput on the real cluster: concurrent workers against one worker.

Subject: N projects reconciled by the real reconciler (Helm CLI, Kubernetes client,
PostgreSQL) with ``concurrency`` workers. Baseline: the same with one worker, in the same
process. The ratio is the speed-up that bounded concurrency buys on this machine.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from pathlib import Path

from devstack.record import StackInfo

import events
from benchmarks import common
from benchmarks.common import Measure, fresh_database, measure, row
from consumer import bootstrap
from consumer.service.intake import RawRecord
from consumer.settings import Settings

CHART = Path(__file__).resolve().parents[1] / "helm" / "dev-session-template"


async def _round(stack: StackInfo, projects: int, concurrency: int) -> Measure:
    url = await fresh_database(stack, f"bench_prov_{concurrency}")
    settings = Settings(
        database_url=url,
        kafka_bootstrap_servers=stack.kafka_bootstrap_servers,
        kubeconfig=str(stack.kubeconfig),
        helm_binary=str(stack.helm_binary),
        chart_path=CHART,
        worker_concurrency=concurrency,
    )
    service = bootstrap.build(settings)
    await bootstrap.migrate(settings)
    uuids = [str(uuid.uuid4()) for _ in range(projects)]
    for i, p in enumerate(uuids):
        data = events.ProjectCreated(
            project_uuid=p, project_id=i, user_id=1, created_at=datetime.now(UTC)
        )
        rec = events.to_record(events.new_envelope(data, source="urn:bench"))
        await service.intake.handle(RawRecord("bench", 0, i, rec.key, rec.value, rec.headers))

    async def converge() -> None:
        service.workers.start()
        await service.workers.wait_idle()

    result = await measure(projects, converge)
    for i, p in enumerate(uuids):  # clean up: delete them all, concurrently
        gone = events.ProjectDeleted(project_uuid=p, deleted_at=datetime.now(UTC))
        rec = events.to_record(events.new_envelope(gone, source="urn:bench"))
        await service.intake.handle(
            RawRecord("bench", 0, projects + i, rec.key, rec.value, rec.headers)
        )
    await service.workers.wait_idle()
    states = {s.status.value for s in await service.sessions.list()}
    await service.workers.stop(timeout=5)
    if service.cluster is not None:
        service.cluster.close()
    await service.engine.dispose()
    assert states == {"deleted"}, f"benchmark left sessions in {states}"
    return result


async def run(stack: StackInfo, projects: int = 8, concurrency: int = 4) -> list[str]:
    parallel = await _round(stack, projects, concurrency)
    serial = await _round(stack, projects, 1)
    return [
        row(f"provision {projects} projects x{concurrency}", parallel, serial, "same with 1 worker")
    ]


def main() -> None:
    print("\n".join(asyncio.run(run(common.stack()))))

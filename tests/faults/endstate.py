"""Compares the end state with the log: what every fault scenario checks when it settles.

For each project, the last event published decides: a create wants exactly one deployed
release (installed once: revision 1 unless the test changed it), an Available Deployment
with a replica running and a ``SessionReady``; a delete wants no release and no
namespace. Across the output topic, no event id may appear with two different contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
from collections.abc import AsyncIterator, Collection, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Any

import asyncpg
from kubernetes import client

import events
from events.publish import EventPublisher
from tests.e2e.harness import OutputWatcher, ServiceProcess, Topology, deleted, of

# How long a scenario waits for the end state to match the log.
SETTLE_TIMEOUT = 240


def release(topo: Topology, project: str) -> dict[str, Any] | None:
    """The project's release as ``helm list`` shows it (status, revision), or None
    (pending ones too: Helm hides them by default, and they are what a fault leaves)."""
    out = subprocess.run(
        [
            str(topo.stack.helm_binary),
            *(
                "list",
                "--deployed",
                "--failed",
                "--pending",
                "--uninstalling",
                "-n",
                project,
                "-o",
                "json",
            ),
        ],
        env=topo.stack.subprocess_env(),
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if out.returncode != 0:
        raise RuntimeError(f"helm list -n {project}: {out.stderr.strip()[:300]}")
    found: list[dict[str, Any]] = json.loads(out.stdout or "[]")
    return found[0] if found else None


def _available(apps: client.AppsV1Api, namespace: str) -> bool:
    """Every Deployment Available with a replica running (a Deployment scaled to 0 by
    hand counts as Available to Kubernetes; the chart always wants one replica)."""
    deployments = apps.list_namespaced_deployment(namespace).items
    return bool(deployments) and all(
        any(c.type == "Available" and c.status == "True" for c in d.status.conditions or [])
        and (d.spec.replicas or 0) >= 1
        and (d.status.available_replicas or 0) >= 1
        for d in deployments
    )


async def statuses(topo: Topology, projects: Collection[str]) -> dict[str, str]:
    """Each project's session status as the service's database holds it."""
    dsn = topo.database_url.replace("postgresql+asyncpg://", "postgresql://")
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT project_uuid, status FROM sessions WHERE project_uuid = ANY($1::text[])",
            list(projects),
        )
    finally:
        await conn.close()
    return {r["project_uuid"]: r["status"] for r in rows}


async def mismatches(
    topo: Topology,
    api: client.ApiClient,
    last: Mapping[str, str],
    out: OutputWatcher,
    *,
    upgraded: Collection[str] = (),
) -> list[str]:
    """What disagrees with the log (empty when the end state matches). ``upgraded``:
    projects whose release the scenario expects at a later revision (a repair upgrades)."""
    await out.poll()
    seen = out.decoded()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    namespaces = {ns.metadata.name for ns in core.list_namespace().items}
    wrong: list[str] = []
    for project, kind in last.items():
        try:
            rel = await asyncio.to_thread(release, topo, project)
        except RuntimeError as exc:
            wrong.append(str(exc))
            continue
        if kind == "created":
            if rel is None or rel["status"] != "deployed":
                wrong.append(f"{project}: release {rel and rel['status']}, want deployed")
            elif int(rel["revision"]) != 1 and project not in upgraded:
                wrong.append(f"{project}: revision {rel['revision']} (installed more than once)")
            elif not await asyncio.to_thread(_available, apps, project):
                wrong.append(f"{project}: Deployment not Available")
            if not of(seen, project, events.SessionReady):
                wrong.append(f"{project}: no SessionReady")
        elif rel is not None or project in namespaces:
            wrong.append(f"{project}: deleted, yet release {rel} / namespace still there")
    first: dict[str, bytes] = {}
    for record in out.records:
        ident = dict(record.headers).get("ce_id", b"").decode()
        if first.setdefault(ident, record.value) != record.value:
            wrong.append(f"output event id {ident} with two different contents")
    return wrong


async def converge(
    topo: Topology,
    api: client.ApiClient,
    last: Mapping[str, str],
    out: OutputWatcher,
    timeout: float,
    *,
    upgraded: Collection[str] = (),
) -> tuple[float, list[str]]:
    """Wait until the end state matches the log; (seconds taken, mismatches left)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    wrong = await mismatches(topo, api, last, out, upgraded=upgraded)
    while wrong and loop.time() - started < timeout:
        await asyncio.sleep(2)
        wrong = await mismatches(topo, api, last, out, upgraded=upgraded)
    return loop.time() - started, wrong


@contextlib.asynccontextmanager
async def serving(
    topo: Topology, log: Path, **env: str
) -> AsyncIterator[tuple[ServiceProcess, EventPublisher, OutputWatcher]]:
    """The service running on ``topo`` (started and stopped off the event loop), with a
    publisher to its input topic and a watcher of its output topic."""
    service = ServiceProcess(topo, log, **env)
    await asyncio.to_thread(service.start)
    try:
        async with (
            EventPublisher(topo.stack.kafka_bootstrap_servers, topic=topo.input_topic) as pub,
            OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out,
        ):
            yield service, pub, out
    finally:
        await asyncio.to_thread(service.stop)


async def leave_as_found(
    topo: Topology,
    api: client.ApiClient,
    pub: EventPublisher,
    out: OutputWatcher,
    last: MutableMapping[str, str],
    *,
    projects: Iterable[str],
    timeout: float = SETTLE_TIMEOUT,
) -> list[str]:
    """Delete ``projects`` and wait until they are gone, leaving the shared cluster as
    found; returns the mismatches left (for the caller to assert on after its own checks)."""
    for project in projects:
        await pub.publish(deleted(project))
        last[project] = "deleted"
    _, remaining = await converge(topo, api, last, out, timeout)
    return remaining

"""The service's database lost: wiped while the service is stopped, rebuilt from the log.

After a storm has converged, the service is stopped and its schema dropped (every table,
the migrations' own record included). The recovery the README gives: start the service
(it migrates on start) and ``devsessions replay`` (the input topic from offset 0: the
service's consumer group is already past those records). While it rebuilds, nothing may
be deleted from the cluster: no ``helm uninstall`` (counted by the harness's Helm wrapper),
no namespace of a live project terminating or re-created (watched, and its uid compared),
and no release installed again (revision 1, no ``upgrade``/``install``): the releases that
exist are adopted. Then the end state must match the log.

Output events: ids derive from the causing input event, so the rebuilt database decides
the ids the lost one published, with times only the lost one knew. Replay records the
output topic's events as sent first, so no id published before the wipe is published
again after it, and no id appears with two contents.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import subprocess
import time
from pathlib import Path

from kubernetes import client

from tests.e2e.harness import ServiceProcess, Topology, run_cli
from tests.e2e.light import light_values
from tests.faults.endstate import converge, leave_as_found, serving
from tests.faults.report import print_table
from tests.faults.storm import Storm, alive, given_up, query

SETTLE_TIMEOUT = 300
MUTATING = ("upgrade", "install", "uninstall", "rollback")


async def _wipe(topo: Topology) -> None:
    await query(topo, "DROP SCHEMA public CASCADE")
    await query(topo, "CREATE SCHEMA public")


def _namespaces(api: client.ApiClient) -> dict[str, tuple[str, bool]]:
    """Every namespace: (uid, terminating)."""
    return {
        ns.metadata.name: (ns.metadata.uid, ns.metadata.deletion_timestamp is not None)
        for ns in client.CoreV1Api(api).list_namespace().items
    }


async def _watch(api: client.ApiClient, live: dict[str, str], seen: set[str]) -> None:
    """Adds to ``seen`` each live project whose namespace is gone, re-created or going."""
    while True:
        now = await asyncio.to_thread(_namespaces, api)
        for project, uid in live.items():
            if project not in now or now[project] != (uid, False):
                seen.add(project)
        await asyncio.sleep(0.5)


@dataclasses.dataclass
class Rebuild:
    """What the rebuild did and how long it took."""

    replay: subprocess.CompletedProcess[str]
    helm_calls: list[str]
    touched: set[str]
    replay_seconds: float


async def _rebuild(
    topo: Topology, kube: client.ApiClient, service: ServiceProcess, live: list[str], **env: str
) -> Rebuild:
    """Start ``service`` on the wiped database and replay, watching the live namespaces."""
    namespaces = await asyncio.to_thread(_namespaces, kube)
    uids = {p: namespaces[p][0] for p in live}
    calls_before = len(topo.helm_calls())
    touched: set[str] = set()
    watcher = asyncio.create_task(_watch(kube, uids, touched))
    started = time.monotonic()
    try:
        await asyncio.to_thread(service.start)  # migrates the empty database
        replay = await asyncio.to_thread(run_cli, topo, "replay", "--timeout", "300", **env)
        took = time.monotonic() - started
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    after = await asyncio.to_thread(_namespaces, kube)
    touched |= {p for p, uid in uids.items() if after.get(p, ("", True)) != (uid, False)}
    return Rebuild(replay, topo.helm_calls()[calls_before:], touched, took)


async def test_database_wiped_and_rebuilt_by_replay_deletes_nothing(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    env = {
        "DEVSESSIONS_CHART_VALUES_FILE": str(light_values(tmp_path)),
        "DEVSESSIONS_HEALTH_INTERVAL_SECONDS": "1",
    }
    # Started by _rebuild on the wiped database (its start is timed and watched), while the
    # publisher and watcher of the first service's ``serving`` stay open.
    second = ServiceProcess(topo, tmp_path / "service-2.log", **env)
    storm = Storm(6 * scale, seed=53)
    try:
        async with serving(topo, tmp_path / "service-1.log", **env) as (first, pub, out):
            for _ in range(2 * scale):
                await storm.round(pub)
                await asyncio.sleep(1)
            _, before = await converge(topo, api, storm.last, out, SETTLE_TIMEOUT)
            assert not before, "the storm converged before the wipe:\n" + "\n".join(before[:20])
            assert await asyncio.to_thread(first.stop) == 0
            await out.poll()
            before_wipe = {dict(r.headers).get("ce_id", b"").decode() for r in out.records}
            published_before = len(out.records)
            await _wipe(topo)
            wiped_at = time.monotonic()
            assert not await query(topo, "SELECT 1 FROM pg_tables WHERE schemaname = 'public'")
            live = [p for p, k in storm.last.items() if k == "created"]
            rebuild = await _rebuild(topo, api, second, live, **env)
            took, wrong = await converge(topo, api, storm.last, out, SETTLE_TIMEOUT)
            mutating = [c for c in rebuild.helm_calls if c.split(" ", 1)[0] in MUTATING]
            uninstalls = [c for c in mutating if c.startswith("uninstall")]
            rows = await query(topo, "SELECT count(*) FROM sessions")
            await out.poll()
            since = [dict(r.headers).get("ce_id", b"").decode() for r in out.records]
            again = sorted(set(since[published_before:]) & before_wipe)
            print_table(
                f"Database wiped, service restarted, input topic replayed (scale {scale})",
                {
                    "events": storm.published,
                    "projects (live at the wipe)": f"{len(storm.projects)} ({len(live)})",
                    "faults": 1,
                    "mismatches": len(wrong) + len(again),
                    "helm calls while rebuilding": len(rebuild.helm_calls),
                    "  helm uninstall / install+upgrade": (
                        f"{len(uninstalls)} / {len(mutating) - len(uninstalls)}"
                    ),
                    "live namespaces deleted or re-created": len(rebuild.touched),
                    "session rows rebuilt": int(rows[0][0]),
                    "event ids announced again": len(again),
                    "service start + replay (s)": f"{rebuild.replay_seconds:.1f}",
                    "time to converge after the wipe (s)": f"{time.monotonic() - wiped_at:.1f}",
                    "  of which end-state check (s)": f"{took:.1f}",
                },
            )
            try:
                assert rebuild.replay.returncode == 0, rebuild.replay.stdout + rebuild.replay.stderr
                assert "converged" in rebuild.replay.stdout, rebuild.replay.stdout
                assert not uninstalls, f"uninstalled while rebuilding: {uninstalls}"
                assert not mutating, f"installed again while rebuilding: {mutating}"
                assert not rebuild.touched, f"live namespaces touched: {sorted(rebuild.touched)}"
                assert not wrong, "\n".join(wrong[:20])
                assert not again, f"announced again after the rebuild: {again[:10]}"
                assert int(rows[0][0]) == len(storm.projects)
                assert not given_up(out), f"failed for good: {given_up(out)}"
                assert alive(second)
            finally:
                left = await leave_as_found(
                    topo, api, pub, out, storm.last, projects=storm.projects, timeout=SETTLE_TIMEOUT
                )
            assert not left, "\n".join(left[:20])
    finally:
        if second.proc is not None and second.proc.poll() is None:
            await asyncio.to_thread(second.stop)

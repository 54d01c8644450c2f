"""Objects changed or deleted by hand while the service runs: drift repair.

Projects converge first (some created and then deleted again). Then, by hand, with the
stack's own kubectl-equivalent client and helm, while the service runs with a short drift
check (``DEVSESSIONS_DRIFT_CHECK_INTERVAL_SECONDS``): a project's namespace is deleted,
another's release is uninstalled (``helm uninstall``), another's Deployment is scaled to
0, another's Deployment is deleted. Drift repair must restore what the log says should
exist (``endstate``: a deployed release, an Available Deployment with its replica, a
``SessionReady``), announce each repair with a new ``SessionReady``, and never resurrect
a deleted project, however many drift checks pass. ``DEVSESSIONS_FAULT_SCALE`` multiplies
the projects of each kind.
"""

from __future__ import annotations

import asyncio
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from kubernetes import client

import events
from tests.e2e.harness import (
    OutputWatcher,
    Topology,
    created,
    deleted,
    new_project,
    of,
)
from tests.e2e.light import light_values
from tests.faults.endstate import SETTLE_TIMEOUT, converge, leave_as_found, serving
from tests.faults.report import print_table

pytestmark = [pytest.mark.stack, pytest.mark.slow]

DRIFT_INTERVAL = 3


def _deployment(apps: client.AppsV1Api, project: str) -> str:
    selector = f"app.kubernetes.io/instance=dev-session-{project}"
    [found] = apps.list_namespaced_deployment(project, label_selector=selector).items
    return str(found.metadata.name)


def _faults(topo: Topology, api: client.ApiClient) -> dict[str, Callable[[str], None]]:
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)

    def delete_namespace(project: str) -> None:
        core.delete_namespace(project)

    def helm_uninstall(project: str) -> None:
        subprocess.run(
            [str(topo.stack.helm_binary), "uninstall", f"dev-session-{project}", "-n", project],
            env=topo.stack.subprocess_env(),
            capture_output=True,
            check=True,
            timeout=120,
        )

    def scale_to_zero(project: str) -> None:
        body = {"spec": {"replicas": 0}}
        apps.patch_namespaced_deployment_scale(_deployment(apps, project), project, body)

    def delete_deployment(project: str) -> None:
        apps.delete_namespaced_deployment(_deployment(apps, project), project)

    return {
        "namespace deleted": delete_namespace,
        "release uninstalled (helm)": helm_uninstall,
        "Deployment scaled to 0": scale_to_zero,
        "Deployment deleted": delete_deployment,
    }


async def _announced(out: OutputWatcher, projects: list[str], before: dict[str, int]) -> None:
    """Until each of ``projects`` has a new ``SessionReady`` (or the settle timeout)."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while projects and time.monotonic() < deadline:
        await out.poll()  # waits up to half a second for new records
        seen = out.decoded()
        projects = [p for p in projects if len(of(seen, p, events.SessionReady)) <= before[p]]


async def test_drift_by_hand_is_repaired_and_deleted_projects_stay_deleted(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    rng = random.Random(44)
    faults = _faults(topo, api)
    touched = {kind: [new_project() for _ in range(scale)] for kind in faults}
    untouched = [new_project() for _ in range(scale)]
    gone = [new_project() for _ in range(2 * scale)]
    live = [p for group in touched.values() for p in group] + untouched
    last: dict[str, str] = {}
    published = 0
    async with serving(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
        DEVSESSIONS_DRIFT_CHECK_INTERVAL_SECONDS=str(DRIFT_INTERVAL),
    ) as (_, pub, out):
        for project in rng.sample(live + gone, len(live) + len(gone)):
            await pub.publish(created(project))
            last[project], published = "created", published + 1
        for project in gone:
            await pub.publish(deleted(project))
            last[project], published = "deleted", published + 1
        first, wrong = await converge(topo, api, last, out, SETTLE_TIMEOUT)
        assert not wrong, "before any fault:\n" + "\n".join(wrong[:20])
        ready_before = {p: len(of(out.decoded(), p, events.SessionReady)) for p in live}

        started = time.monotonic()
        for kind, projects in touched.items():
            for project in projects:
                await asyncio.to_thread(faults[kind], project)
        upgraded = touched["Deployment scaled to 0"] + touched["Deployment deleted"]
        # A namespace deleted by hand still lists its release while it terminates: the
        # state only looks converged. Wait for every repair to be announced first.
        await _announced(out, [p for g in touched.values() for p in g], ready_before)
        took, wrong = await converge(topo, api, last, out, SETTLE_TIMEOUT, upgraded=upgraded)
        took = time.monotonic() - started
        await asyncio.sleep(3 * DRIFT_INTERVAL)  # more drift checks: nothing may change
        _, after = await converge(topo, api, last, out, 0, upgraded=upgraded)
        seen = out.decoded()
        announced = {
            kind: sum(len(of(seen, p, events.SessionReady)) > ready_before[p] for p in group)
            for kind, group in touched.items()
        }
        print_table(
            f"Drift by hand while the service runs (scale {scale})",
            {
                "events": published,
                "projects (live / deleted)": f"{len(live)} / {len(gone)}",
                **{f"faults: {kind}": len(group) for kind, group in touched.items()},
                **{f"  repaired and announced: {k}": n for k, n in announced.items()},
                "mismatches": len(wrong),
                "mismatches after 3 more drift checks": len(after),
                "time to converge after the faults (s)": f"{took:.1f}",
                "first convergence (s)": f"{first:.1f}",
                "faults to end (s)": f"{time.monotonic() - started:.1f}",
            },
        )
        try:
            assert not wrong, "\n".join(wrong[:20])
            assert not after, "\n".join(after[:20])
            for kind, group in touched.items():
                assert announced[kind] == len(group), f"{kind}: a new SessionReady each"
            for project in untouched:
                assert len(of(seen, project, events.SessionReady)) == ready_before[project]
        finally:
            remaining = await leave_as_found(topo, api, pub, out, last, projects=live)
        assert not remaining, "\n".join(remaining[:20])

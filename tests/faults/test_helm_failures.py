"""A Helm install that fails for one project while a storm of others goes on.

The failing project asks for an image the operator allows (its registry is on
``DEVSESSIONS_IMAGE_ALLOW_LIST``) and the event contract accepts (up to 512 characters),
but the chart's values schema refuses (at most 255): ``helm upgrade --install`` fails on
the chart, a permanent error. The other projects of the same storm must converge
meanwhile; the failing one must end ``failed`` with ``SessionFailed`` events and no
release left behind (none pending); a later ``ProjectCreated`` without the bad override
must bring it to a deployed release like the rest. ``DEVSESSIONS_FAULT_SCALE`` multiplies
both the storm and the failing projects.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

import events
from tests.e2e.harness import (
    Topology,
    created,
    deleted,
    new_project,
    of,
)
from tests.e2e.light import light_values
from tests.faults.endstate import (
    SETTLE_TIMEOUT,
    converge,
    leave_as_found,
    release,
    serving,
    statuses,
)
from tests.faults.report import print_table

pytestmark = [pytest.mark.stack, pytest.mark.slow]

ALLOWED_REGISTRY = "registry.example.com"
# Admitted by the allow-list and the event schema; refused by the chart's (maxLength 255).
REFUSED_IMAGE = f"{ALLOWED_REGISTRY}/team/{'a' * 280}:1"


def _helm_installs(topo: Topology, project: str) -> int:
    return sum(f"dev-session-{project} " in call for call in topo.helm_calls("upgrade"))


def _failed_alone(
    bad: list[str],
    status: dict[str, str],
    left: dict[str, dict[str, Any] | None],
    failures: list[events.Envelope[events.SessionFailed]],
    installs: dict[str, int],
) -> list[str]:
    """What is wrong with the failing projects: each must be ``failed`` for good, after
    a real Helm call the chart refused, with no release left pending."""
    problems = []
    for project in bad:
        if status.get(project) != "failed":
            problems.append(f"{project}: status {status.get(project)}, want failed")
        rel = left[project]
        if rel is not None and rel["status"] != "failed":
            problems.append(f"{project}: release stuck: {rel}")
        mine = [f.data for f in failures if f.data.project_uuid == project]
        if not mine or any(f.operation != "provision" for f in mine):
            problems.append(f"{project}: SessionFailed events {mine}")
        elif "schema" not in mine[-1].reason or mine[-1].will_retry:
            problems.append(f"{project}: last SessionFailed {mine[-1]}")
        if installs[project] < 1:
            problems.append(f"{project}: the install never reached Helm")
    return problems


async def _settled_statuses(topo: Topology, projects: list[str], timeout: float) -> dict[str, str]:
    """The projects' statuses once all are ``failed`` (a later create of the same bad
    override may still be at work when the first failure is seen), or at the timeout."""
    deadline = time.monotonic() + timeout
    status = await statuses(topo, projects)
    while any(status.get(p) != "failed" for p in projects) and time.monotonic() < deadline:
        await asyncio.sleep(1)
        status = await statuses(topo, projects)
    return status


async def test_failing_install_fails_alone_and_a_later_event_fixes_it(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    rng = random.Random(21)
    good = [new_project() for _ in range(6 * scale)]
    bad = [new_project() for _ in range(scale)]
    refused = events.ChartOverrides(preview_image=REFUSED_IMAGE)
    last: dict[str, str] = {}
    published = 0
    async with serving(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
        DEVSESSIONS_IMAGE_ALLOW_LIST=ALLOWED_REGISTRY,
    ) as (_, pub, out):
        started = time.monotonic()
        for _ in range(2):
            for project in rng.sample(good + bad, len(good) + len(bad)):
                if project in bad:
                    await pub.publish(created(project, overrides=refused))
                    kind = "created"
                else:
                    kind = "deleted" if rng.random() < 0.3 and project in last else "created"
                    await pub.publish(created(project) if kind == "created" else deleted(project))
                last[project], published = kind, published + 1
        took, wrong = await converge(topo, api, {p: last[p] for p in good}, out, SETTLE_TIMEOUT)
        await out.wait_for(
            lambda s: all(
                any(not f.data.will_retry for f in of(s, p, events.SessionFailed)) for p in bad
            ),
            SETTLE_TIMEOUT,
        )
        status = await _settled_statuses(topo, bad, 60)
        failed_after = time.monotonic() - started
        await asyncio.sleep(1)  # the last SessionFailed is relayed after the commit
        await out.poll()
        left = {p: await asyncio.to_thread(release, topo, p) for p in bad}
        failures = [f for p in bad for f in of(out.decoded(), p, events.SessionFailed)]
        installs = {p: _helm_installs(topo, p) for p in bad}
        problems = _failed_alone(bad, status, left, failures, installs)

        fixed_at = time.monotonic()
        for project in bad:
            await pub.publish(created(project))
            last[project], published = "created", published + 1
        fixed, still = await converge(
            topo, api, last, out, SETTLE_TIMEOUT, upgraded=[p for p in bad if left[p]]
        )
        print_table(
            f"Chart refuses the install of {len(bad)} project(s) in a storm (scale {scale})",
            {
                "events": published,
                "projects": len(good) + len(bad),
                "faults (failing installs)": len(bad),
                "SessionFailed events": len(failures),
                "helm upgrade calls of failing projects": sum(installs.values()),
                "mismatches (others, during)": len(wrong),
                "mismatches (all, after the fix)": len(still),
                "time to converge, others (s)": f"{took:.1f}",
                "failed (no retry) after (s)": f"{failed_after:.1f}",
                "time to converge after the fix (s)": f"{time.monotonic() - fixed_at:.1f}"
                if not still
                else f"not within {fixed:.0f}",
            },
        )
        try:
            assert not wrong, "\n".join(wrong[:20])
            assert not problems, "\n".join(problems)
            assert not still, "\n".join(still[:20])
        finally:
            remaining = await leave_as_found(topo, api, pub, out, last, projects=good + bad)
        assert not remaining, "\n".join(remaining[:20])

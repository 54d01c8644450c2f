"""PostgreSQL itself stopped and started again in the middle of a storm.

A proxy cut (``test_outages``) breaks connections; a real restart also ends every
session-level advisory lock, which is what makes a lease's owner alive. So the test
stops the local stack's PostgreSQL (``devstack.api.stop_component``, data and port kept)
while sessions are being provisioned, publishes more events while it is down, and starts
it again in a ``finally`` (other tests share the stack). The service must stay up, name
``postgresql`` in ``/readyz`` and the gauge, commit no offset for what it could not
write, take its projects back after the restart (its locks died with the old server), and
converge: every release installed once, no id with two contents, nothing failed for good.
``DEVSESSIONS_FAULT_SCALE`` > 1: more projects, a longer outage.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from kubernetes import client

from tests.e2e.harness import Topology
from tests.e2e.light import light_values
from tests.faults.endstate import SETTLE_TIMEOUT, converge, leave_as_found, serving
from tests.faults.report import print_table
from tests.faults.storm import (
    Storm,
    alive,
    component_stopped,
    given_up,
    named_failing,
    query,
    ready_again,
    readyz,
    require_local,
)


async def test_postgresql_restart_mid_storm_is_named_and_converges(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    require_local(topo, "postgresql")
    outage = 15.0 * scale
    storm = Storm(8 * scale, seed=61)
    async with serving(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
        DEVSESSIONS_HEALTH_INTERVAL_SECONDS="1",
    ) as (service, pub, out):
        await storm.round(pub)
        await asyncio.sleep(1.5)  # installs in flight, leases and locks held
        async with component_stopped("postgresql"):
            stopped_at = time.monotonic()
            noticed = await named_failing(service, "postgresql")
            await storm.round(pub)  # consumed only once they can be written
            while time.monotonic() - stopped_at < outage:
                assert alive(service), f"the service exited: {service.tail()}"
                await asyncio.sleep(1)
            code, body = await readyz(service)
            assert code == 503 and set(body["failing"]) == {"postgresql"}, body
        restarted_at = time.monotonic()
        back = await ready_again(service, timeout=120)
        took, wrong = await converge(topo, api, storm.last, out, SETTLE_TIMEOUT)
        inbox = await query(topo, "SELECT count(*) FROM inbox")
        failed = await query(topo, "SELECT project_uuid FROM sessions WHERE status = 'failed'")
        print_table(
            f"PostgreSQL stopped for {outage:.0f} s mid-storm and restarted (scale {scale})",
            {
                "events": storm.published,
                "projects": len(storm.projects),
                "faults": 1,
                "mismatches": len(wrong),
                "readyz named postgresql after (s)": f"{noticed:.1f}",
                "outage length (s)": f"{restarted_at - stopped_at:.1f}",
                "readyz 200 after restart (s)": f"{back:.1f}",
                "events in the inbox": int(inbox[0][0]),
                "failed for good": len(given_up(out)) + len(failed),
                "time to converge after restart (s)": f"{time.monotonic() - restarted_at:.1f}",
                "  of which end-state check (s)": f"{took:.1f}",
            },
        )
        try:
            assert not wrong, "\n".join(wrong[:20])
            assert int(inbox[0][0]) == storm.published, "every event applied, none lost"
            assert not given_up(out), f"failed for good: {given_up(out)}"
            assert not failed, f"sessions failed: {[r[0] for r in failed]}"
            assert alive(service)
        finally:
            left = await leave_as_found(topo, api, pub, out, storm.last, projects=storm.projects)
        assert not left, "\n".join(left[:20])

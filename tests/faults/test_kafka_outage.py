"""Kafka away in the middle of a storm: the stack's broker itself is stopped and started.

A proxy in front of Kafka would not do: the broker advertises its own listener, so
clients bootstrap through the proxy and then talk to the broker directly. So the test
stops the local stack's Kafka (``devstack.api.stop_component``, data and port kept) and
starts it again, in a ``finally``: other tests share the stack. Meanwhile the service must
stay up, name ``kafka`` in ``/readyz`` and the gauge, keep reconciling (its answers wait
in the outbox), and after the restart consume and publish again by itself: every outbox
row on the output topic, nothing lost, no event id with two contents, the end state as
the log says. ``DEVSESSIONS_FAULT_SCALE`` > 1: more projects, a longer outage.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from kubernetes import config

from events.publish import EventPublisher
from tests.e2e.harness import OutputWatcher, ServiceProcess, Topology
from tests.e2e.light import light_values
from tests.faults.endstate import converge
from tests.faults.report import print_table
from tests.faults.storm import (
    Storm,
    alive,
    component_stopped,
    given_up,
    named_failing,
    query,
    ready_again,
    require_local,
)

SETTLE_TIMEOUT = 300


async def _intake_done(topo: Topology, published: int) -> bool:
    rows = await query(topo, "SELECT count(*) FROM inbox")
    return int(rows[0][0]) >= published


async def test_kafka_outage_is_named_and_consumption_and_outbox_resume(
    topo: Topology, tmp_path: Path, scale: int
) -> None:
    require_local(topo, "kafka")
    outage = 15.0 * scale
    service = ServiceProcess(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_CHART_VALUES_FILE=str(light_values(tmp_path)),
        DEVSESSIONS_HEALTH_INTERVAL_SECONDS="1",
    )
    storm = Storm(8 * scale, seed=47)
    bootstrap = topo.stack.kafka_bootstrap_servers
    kube = config.new_client_from_config(config_file=str(topo.stack.kubeconfig))
    await asyncio.to_thread(service.start)
    try:
        async with EventPublisher(bootstrap, topic=topo.input_topic) as pub:
            await storm.round(pub)
            await storm.round(pub)
        deadline = time.monotonic() + 60
        while not await _intake_done(topo, storm.published):
            assert time.monotonic() < deadline, "intake did not record the storm in 60 s"
            await asyncio.sleep(0.2)
        # Reconciling has just begun: most answers are still to be written when Kafka goes.
        async with component_stopped("kafka"):
            stopped_at = time.monotonic()
            noticed = await named_failing(service, "kafka")
            while time.monotonic() - stopped_at < outage:
                assert alive(service), f"the service exited: {service.tail()}"
                await asyncio.sleep(1)
            waiting = await query(topo, "SELECT count(*) FROM outbox WHERE sent_at IS NULL")
            held = int(waiting[0][0])
        restarted_at = time.monotonic()
        back = await ready_again(service, timeout=120)
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as pub,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            await storm.round(pub)  # consumption resumes
            took, wrong = await converge(topo, kube, storm.last, out, SETTLE_TIMEOUT)
            unsent = await query(topo, "SELECT event_id FROM outbox WHERE sent_at IS NULL")
            written = {r[0] for r in await query(topo, "SELECT event_id FROM outbox")}
            await out.poll()
            on_topic = {dict(r.headers).get("ce_id", b"").decode() for r in out.records}
            lost = sorted(written - on_topic)
            print_table(
                f"Kafka broker stopped for {outage:.0f} s mid-storm (scale {scale})",
                {
                    "events": storm.published,
                    "projects": len(storm.projects),
                    "faults": 1,
                    "mismatches": len(wrong),
                    "readyz named kafka after (s)": f"{noticed:.1f}",
                    "outage length (s)": f"{restarted_at - stopped_at:.1f}",
                    "answers held in the outbox meanwhile": held,
                    "readyz 200 after restart (s)": f"{back:.1f}",
                    "outbox rows not on the output topic": len(lost),
                    "output records (distinct ids)": f"{len(out.records)} ({len(on_topic)})",
                    "time to converge after restart (s)": f"{time.monotonic() - restarted_at:.1f}",
                    "  of which end-state check (s)": f"{took:.1f}",
                },
            )
            try:
                assert held > 0, "no answer waited for Kafka: the outage came too late to matter"
                assert not wrong, "\n".join(wrong[:20])
                assert not unsent, f"outbox rows never sent: {[r[0] for r in unsent][:10]}"
                assert not lost, f"marked sent, not on the output topic: {lost[:10]}"
                assert not given_up(out), f"failed for good: {given_up(out)}"
            finally:
                await storm.clear(pub)
                _, left = await converge(topo, kube, storm.last, out, SETTLE_TIMEOUT)
            assert not left, "\n".join(left[:20])
    finally:
        if service.proc is not None:
            await asyncio.to_thread(service.stop)
        kube.close()

"""Scenario ``steady``: ``ProjectCreated`` at a steady rate, publish-to-SessionReady latency.

Events are published one at a time on a fixed schedule (``rate`` per second for
``seconds``), each timed from its own record timestamp to its ``SessionReady``. There is
no baseline for latency under load (the design's loop has no queue to measure); the
sessions are torn down afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
import uuid
from typing import Any

from consumer.bench import baseline, kafka_io, room, stats
from consumer.bench.child import ServiceChild
from consumer.bench.topology import Topology


@dataclasses.dataclass
class SteadyRun:
    rate_asked: float
    seconds: float
    latencies: list[float]
    span: float
    service_cpu_per_session: float
    peak_rss: int

    def document(self) -> dict[str, Any]:
        summary = stats.summarize(self.latencies, self.span)
        return {
            "scenario": "steady",
            "rate_asked": self.rate_asked,
            "seconds": self.seconds,
            "rate": summary.rate,
            "latency": dataclasses.asdict(summary),
            "service_cpu_per_session": self.service_cpu_per_session,
            "peak_rss_mb": self.peak_rss / 1e6,
        }


async def run(topo: Topology, rate: float, seconds: float, *, workers: int = 8) -> SteadyRun:
    count = max(1, round(rate * seconds))
    await asyncio.to_thread(room.require, count, topo.stack.subprocess_env())
    projects = [str(uuid.uuid4()) for _ in range(count)]
    bootstrap = topo.stack.kafka_bootstrap_servers
    child = ServiceChild(topo, DEVSESSIONS_WORKER_CONCURRENCY=str(workers))
    stamps: dict[str, float] = {}
    done = False
    async with kafka_io.Answers(bootstrap, topo.output_topic) as answers:
        await child.start()
        try:
            cpu0 = child.cpu()
            async with kafka_io.Producer(bootstrap, topo.input_topic) as producer:
                began = time.monotonic()
                for i, p in enumerate(projects):
                    await asyncio.sleep(max(0.0, began + i / rate - time.monotonic()))
                    stamps |= await producer.send_all([kafka_io.created(p, i)])

            ready = await answers.wait(
                "SessionReady", set(projects), 120 + 3 * count, alive=child.check_alive
            )
            cpu1 = child.cpu()
            result = SteadyRun(
                rate,
                seconds,
                [ready[p] - stamps[p] for p in projects],
                max(ready.values()) - min(stamps.values()),
                (cpu1.own - cpu0.own) / count,
                child.peak_rss(),
            )
            gone = [kafka_io.deleted(p) for p in projects]
            await kafka_io.publish(bootstrap, topo.input_topic, gone)
            await answers.wait(
                "SessionDeleted", set(projects), 120 + 3 * count, alive=child.check_alive
            )
            done = True
        finally:
            await child.stop()
            if not done:
                await asyncio.to_thread(baseline.forget, projects, topo.stack.subprocess_env())
    return result

"""Work is held, not failed, while Kubernetes is unreachable; it runs once it answers."""

from __future__ import annotations

from consumer.service.cluster_gate import gated


class Probe:
    def __init__(self) -> None:
        self.up = False

    async def reachable(self) -> bool:
        return self.up


async def test_work_waits_for_the_cluster() -> None:
    probe, done = Probe(), []

    async def work(project: str) -> str:
        done.append(project)
        return project

    run = gated(work, probe)
    assert await run("p1") is None and done == []
    probe.up = True
    assert await run("p1") == "p1" and done == ["p1"]
    probe.up = False  # the cluster went away while running
    assert await run("p2") is None and done == ["p1"]

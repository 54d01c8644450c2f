"""Orphans on the real stack: found, planned by ``devsessions reconcile --dry-run``, swept.

The service makes a live session and a deleted one from events, then stops (its group has
read the input topic to the end). Then, by hand (the Kubernetes API and the helm CLI, as
an operator or a broken controller would), a namespace with our labels and a release in
it comes back for the deleted project, and another appears for a project the log never
mentioned. The plan must name both as orphans and the live session as live; a share cap
must stop a sweep; a sweep must remove the two and leave the live one; and once the
consumer lags, a never-seen namespace must be kept.

The cluster is shared with other test modules, so every command names this test's
projects with ``--project`` (the share still counts every namespace of ours).
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import yaml
from kubernetes import client

import events
from consumer.domain import naming
from events.publish import EventPublisher
from tests.e2e.harness import (
    REPO,
    OutputWatcher,
    Topology,
    created,
    deleted,
    new_project,
    of,
    run_cli,
    running,
)

TIMEOUT = 180


def make_by_hand(
    topo: Topology, core: client.CoreV1Api, project: str, directory: Path, *, release: bool = True
) -> None:
    """A namespace with our labels and (optionally) a release of the session chart in it."""
    body = client.V1Namespace(
        metadata=client.V1ObjectMeta(name=project, labels=naming.namespace_labels(project))
    )
    core.create_namespace(body)
    if not release:
        return
    values = directory / f"{project}.yaml"
    values.write_text(yaml.safe_dump({"project": {"uuid": project, "id": 7}, "user": {"id": 8}}))
    env = topo.stack.subprocess_env()
    base = env.get("DEVSESSIONS_CHART_VALUES_FILE")
    subprocess.run(
        [
            str(topo.stack.helm_binary),
            "install",
            naming.release_for(project),
            str(REPO / "helm" / "dev-session-template"),
            "-n",
            project,
            *(["-f", base] if base else []),
            "-f",
            str(values),
            "--kubeconfig",
            str(topo.stack.kubeconfig),
        ],
        check=True,
        capture_output=True,
        env=env,
        timeout=120,
    )


def plan_lines(output: str, projects: list[str]) -> dict[str, str]:
    return {p: line for line in output.splitlines() for p in projects if p in line}


def live_namespace(core: client.CoreV1Api, name: str) -> bool:
    found = [ns for ns in core.list_namespace().items if ns.metadata.name == name]
    return bool(found) and found[0].status.phase != "Terminating"


def releases_in(topo: Topology, namespace: str) -> list[str]:
    listed = subprocess.run(
        [str(topo.stack.helm_binary), "list", "-n", namespace, "-q"],
        env=topo.stack.subprocess_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return listed.stdout.split()


def wait_gone(core: client.CoreV1Api, names: list[str], timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        present = {ns.metadata.name for ns in core.list_namespace().items}
        if not present & set(names):
            return
        time.sleep(1)
    raise TimeoutError(f"namespaces still present: {[n for n in names if n in present]}")


async def test_orphans_are_planned_capped_and_swept(
    topo: Topology, core: client.CoreV1Api, service_log: Path, tmp_path: Path
) -> None:
    live, dead, never = new_project(), new_project(), new_project()
    bootstrap = topo.stack.kafka_bootstrap_servers
    with running(topo, service_log):
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as pub,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            await pub.publish(created(live))
            await pub.publish(created(dead))
            await out.wait_for(
                lambda s: bool(
                    of(s, live, events.SessionReady) and of(s, dead, events.SessionReady)
                ),
                TIMEOUT,
            )
            await pub.publish(deleted(dead))
            await out.wait_for(lambda s: bool(of(s, dead, events.SessionDeleted)), TIMEOUT)
    # The service stopped after committing everything it read: the group is caught up.
    assert not live_namespace(core, dead)
    make_by_hand(topo, core, dead, tmp_path)
    make_by_hand(topo, core, never, tmp_path)
    mine = ["--project", live, "--project", dead, "--project", never]

    shown = run_cli(topo, "reconcile", "--dry-run", *mine, "--max-share", "1")
    assert shown.returncode == 0, shown.stderr + shown.stdout
    lines = plan_lines(shown.stdout, [live, dead, never])
    assert "keep" in lines[live] and "live session" in lines[live], shown.stdout
    assert "remove" in lines[dead] and "ProjectDeleted" in lines[dead], shown.stdout
    assert "remove" in lines[never] and "never seen" in lines[never], shown.stdout
    assert "consumer caught up: yes" in shown.stdout
    assert all(live_namespace(core, p) for p in (live, dead, never))

    stopped = run_cli(topo, "reconcile", *mine, "--max-share", "0.01")
    assert stopped.returncode == 1 and "sweep stopped" in stopped.stdout, stopped.stdout
    assert all(live_namespace(core, p) for p in (live, dead, never))

    swept = run_cli(topo, "reconcile", *mine, "--max-share", "1")
    assert swept.returncode == 0 and "removed: 2" in swept.stdout, swept.stderr + swept.stdout
    wait_gone(core, [dead, never])
    assert live_namespace(core, live)
    assert releases_in(topo, live) == [naming.release_for(live)]

    # A record the consumer has not read yet: a never-seen namespace is not an orphan now.
    later = new_project()
    make_by_hand(topo, core, later, tmp_path, release=False)
    try:
        async with EventPublisher(bootstrap, topic=topo.input_topic) as pub:
            await pub.publish(created(new_project()))
        lagging = run_cli(topo, "reconcile", "--dry-run", "--project", later, "--max-share", "1")
        assert lagging.returncode == 0, lagging.stderr
        line = plan_lines(lagging.stdout, [later])[later]
        assert "keep" in line and "not read the input topic" in line, lagging.stdout
        assert "consumer caught up: no" in lagging.stdout
    finally:
        core.delete_namespace(later)

"""Releases left ``pending-install`` by a Helm process killed mid-install.

Two ways, both SIGKILL (no Helm cleanup runs):

- by hand: for some projects, before any event, the stack's own ``helm upgrade --install
  --wait`` runs into the project's namespace (made as the service makes it) while a
  ResourceQuota of zero pods keeps the Deployment from ever becoming Available, so Helm
  sits in its wait with the release recorded ``pending-install``; it is killed there and
  the quota removed. Then the projects' ``ProjectCreated`` arrive in a storm of others.
- the service's own child: for other projects, the ``helm upgrade --install`` the service
  runs is found among the processes and killed the moment it shows up (what it leaves
  depends on how far Helm got: nothing, or a pending release).

The service must recover each release (``domain.release``: uninstall the interrupted
install, install again) and every project must converge (``endstate``; a recovered
release starts again at revision 1). ``DEVSESSIONS_FAULT_SCALE`` multiplies all counts.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import yaml
from kubernetes import client

from consumer.domain import naming
from tests.e2e.harness import (
    REPO,
    Topology,
    created,
    deleted,
    new_project,
)
from tests.e2e.light import light_values
from tests.faults.endstate import SETTLE_TIMEOUT, converge, leave_as_found, release, serving
from tests.faults.report import print_table

pytestmark = [pytest.mark.stack, pytest.mark.slow]

CHART = REPO / "helm" / "dev-session-template"


def _pending_secret(core: client.CoreV1Api, project: str) -> bool:
    selector = f"owner=helm,name=dev-session-{project},status=pending-install"
    return bool(core.list_namespaced_secret(project, label_selector=selector).items)


def _interrupted_install(topo: Topology, core: client.CoreV1Api, project: str, base: Path) -> str:
    """Leave ``project``'s release ``pending-install`` with a killed ``helm --wait``;
    returns the status Helm then reports."""
    core.create_namespace(
        client.V1Namespace(
            metadata=client.V1ObjectMeta(name=project, labels=naming.namespace_labels(project))
        )
    )
    quota = client.V1ResourceQuota(
        metadata=client.V1ObjectMeta(name="no-pods"),
        spec=client.V1ResourceQuotaSpec(hard={"pods": "0"}),
    )
    core.create_namespaced_resource_quota(project, quota)
    values = yaml.safe_load(base.read_text())
    values.update({"project": {"uuid": project, "id": 456}, "user": {"id": 123}})
    path = base.parent / f"values-{project}.yaml"
    path.write_text(yaml.safe_dump(values))
    helm = subprocess.Popen(
        [
            str(topo.stack.helm_binary),
            *("upgrade", "--install", f"dev-session-{project}", str(CHART)),
            *("-n", project, "-f", str(path), "--wait", "--timeout", "5m"),
        ],
        env=topo.stack.subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _pending_secret(core, project):
            assert helm.poll() is None, f"helm exited {helm.returncode} before its wait"
            assert time.monotonic() < deadline, "no pending-install release within 60 s"
            time.sleep(0.2)
        time.sleep(1)  # well inside the wait: the Deployment cannot get a pod
    finally:
        os.kill(helm.pid, signal.SIGKILL)
        helm.wait(10)
    core.delete_namespaced_resource_quota("no-pods", project)
    rel = release(topo, project)
    return rel["status"] if rel else "absent"


def _service_helm(project: str) -> int | None:
    """The pid of a running ``helm upgrade --install`` of ``project``'s release, if any."""
    needle = f"dev-session-{project}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if needle in argv and b"upgrade" in argv and argv[0].endswith(b"helm"):
            return int(entry)
    return None


async def _kill_service_helm(project: str, timeout: float) -> bool:
    """SIGKILL the service's Helm child for ``project`` as soon as it runs."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid = await asyncio.to_thread(_service_helm, project)
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                return False
            return True
        await asyncio.sleep(0.02)
    return False


async def test_pending_install_left_by_a_killed_helm_is_recovered(
    topo: Topology, tmp_path: Path, scale: int, api: client.ApiClient
) -> None:
    rng = random.Random(33)
    base = light_values(tmp_path)
    core = client.CoreV1Api(api)
    by_hand = [new_project() for _ in range(2 * scale)]
    child = [new_project() for _ in range(scale)]
    others = [new_project() for _ in range(4 * scale)]
    left_by_hand = [
        await asyncio.to_thread(_interrupted_install, topo, core, p, base) for p in by_hand
    ]
    last: dict[str, str] = {}
    published, killed = 0, 0
    async with serving(topo, tmp_path / "service.log", DEVSESSIONS_CHART_VALUES_FILE=str(base)) as (
        _,
        pub,
        out,
    ):
        started = time.monotonic()
        for project in child:
            await pub.publish(created(project))
            last[project], published = "created", published + 1
            killed += await _kill_service_helm(project, 30)
        left_by_child = [
            (r or {}).get("status", "absent")
            for r in [await asyncio.to_thread(release, topo, p) for p in child]
        ]
        for project in rng.sample(by_hand + others, len(by_hand) + len(others)):
            await pub.publish(created(project))
            last[project], published = "created", published + 1
        for project in rng.sample(others, len(others) // 4):
            await pub.publish(deleted(project))
            last[project], published = "deleted", published + 1
        took, wrong = await converge(topo, api, last, out, SETTLE_TIMEOUT)
        uninstalls = topo.helm_calls("uninstall")
        recovered = [p for p in by_hand if any(f"dev-session-{p} " in c for c in uninstalls)]
        print_table(
            f"Release left pending-install by a killed helm (scale {scale})",
            {
                "events": published,
                "projects": len(last),
                "faults (helm --wait killed by hand)": len(by_hand),
                "  their releases then (by hand)": ", ".join(sorted(set(left_by_hand))),
                "faults (service's helm child killed)": killed,
                "  their releases then (child)": ", ".join(sorted(set(left_by_child))),
                "interrupted installs uninstalled by the service": len(recovered),
                "mismatches": len(wrong),
                "time to converge (s)": f"{took:.1f}",
                "from the first event (s)": f"{time.monotonic() - started:.1f}",
            },
        )
        try:
            assert set(left_by_hand) == {"pending-install"}, left_by_hand
            assert killed == len(child), "the service's helm child was found and killed"
            assert recovered == by_hand, "each interrupted install was recovered"
            assert not wrong, "\n".join(wrong[:20])
        finally:
            remaining = await leave_as_found(
                topo, api, pub, out, last, projects=by_hand + child + others
            )
        assert not remaining, "\n".join(remaining[:20])

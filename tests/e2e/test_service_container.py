"""The service image, run by testcontainers, against the local stack.

The image is built from deploy/container/Containerfile (``devstack.api.ensure_images``)
and started through the Docker-compatible API the stack serves (podman's, see
``tests/e2e/engine.py``) on the host network, where the stack's Kafka, PostgreSQL and API
server listen. It must start as its non-root user, migrate a fresh database, consume a
``ProjectCreated``, provision the session with the helm and chart inside the image and
publish ``SessionReady``, then tear it down on ``ProjectDeleted``. Ryuk (testcontainers'
reaper) is disabled: it would need an image from a registry; the container is removed here.
"""

from __future__ import annotations

import asyncio
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from devstack import api

import events
from consumer.bench.child import free_port
from events.publish import EventPublisher
from tests.e2e import engine
from tests.e2e.harness import OutputWatcher, Topology, created, deleted, new_project, of

pytestmark = [pytest.mark.images, pytest.mark.slow]

READY_TIMEOUT = 180
# Paths of this machine: the image brings its own helm and chart (and the stack's values
# file would name local images, which the fake nodes do not need).
HOST_PATHS = {
    "DEVSESSIONS_HELM_BINARY",
    "DEVSESSIONS_CHART_PATH",
    "DEVSESSIONS_CHART_VALUES_FILE",
    "DEVSESSIONS_REAL_NODE_VALUES_FILE",
    "DEVSESSIONS_ACCESS_KEYS_FILE",
}


@pytest.fixture(scope="module")
def docker_host() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        host = engine.docker_host()
        patch.setenv("DOCKER_HOST", host)
        patch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")
        yield host


@pytest.fixture(scope="module")
def service_image(docker_host: str) -> str:
    return api.ensure_images(service=True)["service"]


def readable_kubeconfig(kubeconfig: Path, directory: Path) -> Path:
    """A self-contained copy (certificates inline: the stack's names files of this machine)
    that the image's non-root user may read (the stack's is root's, mode 0600)."""
    flat = subprocess.run(
        ["kubectl", f"--kubeconfig={kubeconfig}", "config", "view", "--raw", "--flatten"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    copy = directory / "kubeconfig"
    copy.write_text(flat.stdout)
    copy.chmod(0o644)
    return copy


def wait_ready(port: int, container: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        if wrapped.status == "exited":
            raise AssertionError(f"the service container exited: {container.get_logs()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            time.sleep(0.5)
    logs = container.get_logs()
    raise AssertionError(f"the service container was not ready in {timeout}s: {logs}")


async def migrated_tables(database_url: str) -> set[str]:
    conn = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables")}
    finally:
        await conn.close()


async def test_the_image_consumes_and_provisions(
    topo: Topology, service_image: str, tmp_path: Path
) -> None:
    from testcontainers.core.container import DockerContainer

    port = free_port()
    env = topo.env(DEVSESSIONS_HTTP_PORT=str(port), DEVSESSIONS_HTTP_HOST="127.0.0.1")
    container = DockerContainer(service_image).with_kwargs(network_mode="host")
    for key in sorted(k for k in env if k.startswith("DEVSESSIONS_") and k not in HOST_PATHS):
        container.with_env(key, env[key])
    kubeconfig = readable_kubeconfig(topo.stack.kubeconfig, tmp_path)
    container.with_volume_mapping(kubeconfig, "/config/kubeconfig", "ro")
    container.with_env("KUBECONFIG", "/config/kubeconfig")
    project = new_project()
    bootstrap = topo.stack.kafka_bootstrap_servers
    container.start()
    try:
        await asyncio.to_thread(wait_ready, port, container)
        # The module's database was created empty: the container migrated it.
        tables = await migrated_tables(topo.database_url)
        assert {"sessions", "outbox", "alembic_version"} <= tables, tables
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as publisher,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            await publisher.publish(created(project))
            seen = await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
            ready = of(seen, project, events.SessionReady)[0].data
            assert ready.namespace == project and ready.ip_address
            await publisher.publish(deleted(project))
            await out.wait_for(lambda s: of(s, project, events.SessionDeleted), READY_TIMEOUT)
        inspected = container.get_wrapped_container().attrs
        assert inspected["Config"]["User"] == "10001:10001"
    finally:
        stdout, stderr = container.get_logs()
        print((stdout + stderr).decode(errors="replace")[-3000:])
        container.stop()

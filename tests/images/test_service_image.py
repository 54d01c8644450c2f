"""The service image from deploy/container/Containerfile, built with podman on the local base.

It starts (``devsessions --help``), runs as its non-root user with helm and the chart
inside, and ``devsessions migrate`` reaches the stack's PostgreSQL from the container
(host network: the stack listens on 127.0.0.1) and creates the schema in a fresh database.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import asyncpg
import pytest
from devstack import engine, local_images, pins
from devstack.record import StackInfo

from tests.e2e.harness import create_database
from tests.images.helpers import podman

pytestmark = [pytest.mark.images, pytest.mark.slow]


@pytest.fixture(scope="module")
def service_image(container_engine: None, build_log: Path) -> str:
    built = {b.name: b.tag for b in local_images.ensure_all(build_log, service=True)}
    return built["service"]


def test_the_image_starts_as_its_non_root_user_with_helm_and_the_chart(service_image: str) -> None:
    assert "devsessions" in service_image
    assert "Usage" in podman("run", "--rm", service_image, "--help").stdout
    user = podman("image", "inspect", "--format", "{{.Config.User}}", service_image)
    assert user.stdout.strip() == "10001:10001"
    helm = podman("run", "--rm", "--entrypoint", "helm", service_image, "version", "--short")
    assert helm.stdout.startswith(pins.load().helm.version)
    chart = podman(
        "run", "--rm", "--entrypoint", "sh", service_image, "-c",
        'id -u && test -f "$DEVSESSIONS_CHART_PATH/Chart.yaml" && echo chart',
    )  # fmt: skip
    assert chart.stdout.split() == ["10001", "chart"]


async def test_the_image_migrates_the_stacks_database(service_image: str, stack: StackInfo) -> None:
    url = await create_database(stack.database_url, f"image_{uuid.uuid4().hex[:10]}")
    proc = await asyncio.create_subprocess_exec(
        "podman", "run", "--rm", "--network", "host", "-e", f"DEVSESSIONS_DATABASE_URL={url}",
        service_image, "migrate",
        env=engine.env(),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    out, _ = await proc.communicate()
    assert proc.returncode == 0, out.decode()
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        tables = {r["tablename"] for r in await conn.fetch("SELECT tablename FROM pg_tables")}
        version = await conn.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await conn.close()
    assert "alembic_version" in tables and version
    assert {"sessions", "outbox"} <= tables, tables

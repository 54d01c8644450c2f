"""The session API end to end: ``devsessions run`` processes on the real stack.

Covers the design's curl examples, get-or-create publishing one fact under 100
concurrent calls, ``?wait=`` answered after another replica provisioned, the SSE
stream, every error shape, bearer tokens, a refused open bind, and a service that starts
without a cluster and converges once the cluster answers.

Shared-stack note: the design's examples use the UUID 550e8400-...; a namespace is
cluster-wide and other engineers' runs share this cluster, so the tests run the
examples' exact text with two substitutions only: the host port (each module picks a
free one) and the UUID (a fresh one).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from kubernetes import client

import events
from consumer.bench.child import free_port
from tests.design import DESIGN_FIELDS
from tests.e2e.harness import (
    DEVSESSIONS,
    OutputWatcher,
    ServiceProcess,
    Topology,
    new_project,
    of,
    run_cli,
)

READY_TIMEOUT = 180
DESIGN_UUID = "550e8400-e29b-41d4-a716-446655440000"
DESIGN_GET = (
    'curl -X GET "http://localhost:8080/api/v1/sessions/project/'
    '550e8400-e29b-41d4-a716-446655440000?user_id=123&project_id=456"'
)
DESIGN_POST = """curl -X POST "http://localhost:8080/api/v1/sessions" \\
  -H "Content-Type: application/json" \\
  -d '{
    "user_id": 123,
    "project_id": 456,
    "project_uuid": "550e8400-e29b-41d4-a716-446655440000"
  }'"""


class Service(ServiceProcess):
    """A service process that counts as started once it is live (``/healthz``), since
    some of these tests start it on purpose without a cluster (``/readyz`` then 503)."""

    started_at = "/healthz"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextlib.contextmanager
def serving(topo: Topology, log: Path, **env: str) -> Iterator[Service]:
    service = Service(topo, log, **env)
    service.start()
    try:
        yield service
    finally:
        service.stop()


@contextlib.asynccontextmanager
async def http(service: Service) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=200)
    async with httpx.AsyncClient(base_url=service.base, timeout=90, limits=limits) as c:
        yield c


def curl(command: str, port: int, project: str) -> tuple[int, dict[str, Any]]:
    """Run a design example: its text, with only the port and the UUID substituted."""
    text = command.replace("localhost:8080", f"localhost:{port}").replace(DESIGN_UUID, project)
    script = text + " -sS -w '\\n%{http_code}'"  # run by a shell, as a user would
    done = subprocess.run(
        ["bash", "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    body, _, code = done.stdout.rpartition("\n")
    return int(code), json.loads(body)


@pytest.fixture(scope="module")
def made(core: client.CoreV1Api) -> Iterator[list[str]]:
    """Projects the tests created; their namespaces are deleted at the end."""
    projects: list[str] = []
    yield projects
    for project in projects:
        with contextlib.suppress(Exception):
            core.delete_namespace(project)


def kubeconfig_at(source: Path, target: Path, server: str | None = None) -> Path:
    config = yaml.safe_load(source.read_text())
    if server is not None:
        for cluster in config["clusters"]:
            cluster["cluster"]["server"] = server
    target.write_text(yaml.safe_dump(config))
    return target


async def stream_statuses(api: httpx.AsyncClient, project: str, into: list[str]) -> None:
    """Follow the project's SSE stream until it reports ``running``."""
    async with api.stream("GET", f"/api/v1/sessions/project/{project}/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                into.append(json.loads(line[5:])["status"])
                if into[-1] == "running":
                    return


async def test_starts_without_a_cluster_records_intent_and_converges_when_it_answers(
    topo: Topology, tmp_path: Path, made: list[str]
) -> None:
    """No kubeconfig at start (the file does not exist); it appears later. An SSE stream
    opened before the create sees the session pending (held: no cluster), then running."""
    kubeconfig = tmp_path / "later" / "kubeconfig"
    project = new_project()
    made.append(project)
    statuses: list[str] = []
    with serving(topo, tmp_path / "svc.log", KUBECONFIG=str(kubeconfig)) as service:
        async with http(service) as api:
            listener = asyncio.create_task(stream_statuses(api, project, statuses))
            # The dependencies are probed once the broker is connected, then every 5 s.
            deadline = time.monotonic() + 20
            while True:
                ready = await api.get("/readyz")
                assert ready.status_code == 503
                if list(ready.json()["failing"]) == ["kubernetes"]:
                    break
                assert time.monotonic() < deadline, ready.json()
                await asyncio.sleep(0.5)
            answer = await api.get(
                f"/api/v1/sessions/project/{project}", params={"user_id": 1, "project_id": 2}
            )
            assert answer.status_code == 202
            await asyncio.sleep(8)  # four resync rounds with the cluster away
            held = (await api.get(f"/api/v1/sessions/project/{project}")).json()
            assert held["status"] == "pending" and held["attempts"] == 0, held
            assert [c for c in topo.helm_calls("upgrade") if project in c] == []
            assert statuses == ["pending"]
            waited = run_cli(
                topo, "sessions", "wait", project, "--timeout", "2", "--url", service.base
            )
            assert waited.returncode == 2, waited.stderr  # timeout
            assert "timed out" in waited.stderr and "pending" in waited.stderr
            kubeconfig.parent.mkdir()
            kubeconfig_at(topo.stack.kubeconfig, kubeconfig)
            done = await api.get(f"/api/v1/sessions/project/{project}", params={"wait": 60})
            deadline = time.monotonic() + READY_TIMEOUT
            while done.json()["status"] != "running":
                assert done.status_code == 202 and time.monotonic() < deadline, done.text
                done = await api.get(f"/api/v1/sessions/project/{project}", params={"wait": 60})
            assert done.status_code == 200 and done.json()["ip_address"]
            assert (await api.get("/readyz")).status_code == 200
            await asyncio.wait_for(listener, 30)
    assert statuses[0] == "pending" and statuses[-1] == "running", statuses
    assert statuses.count("running") == 1


@pytest.fixture(scope="module")
def service(topo: Topology, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    log = tmp_path_factory.mktemp("api") / "service.log"
    with serving(topo, log) as running:
        yield running


async def test_design_examples_verbatim(topo: Topology, service: Service, made: list[str]) -> None:
    project = new_project()
    made.append(project)
    async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out:
        code, body = curl(DESIGN_GET, service.port, project)
        assert code == 202 and body["status"] == "pending" and body["project_uuid"] == project
        seen = await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
    [ready] = of(seen, project, events.SessionReady)
    code, body = curl(DESIGN_GET, service.port, project)
    assert code == 200, body
    for field in DESIGN_FIELDS:
        assert body[field] is not None, field
    assert body["status"] == "running" and body["namespace"] == project
    assert body["ip_address"] == ready.data.ip_address
    assert body["preview_path"] == "/preview" and body["preview_url"].endswith("/preview")

    other = new_project()
    made.append(other)
    code, body = curl(DESIGN_POST, service.port, other)
    assert code == 202 and body["status"] == "pending"
    waited = run_cli(topo, "sessions", "wait", other, "--json", "--url", service.base)
    assert waited.returncode == 0, waited.stderr
    assert json.loads(waited.stdout)["status"] == "running"
    assert "running" in waited.stderr  # progress lines
    code, body = curl(DESIGN_POST, service.port, other)
    assert code == 200 and body["status"] == "running"
    deleted = run_cli(topo, "sessions", "delete", str(body["id"]), "--json", "--url", service.base)
    assert deleted.returncode == 0, deleted.stderr
    assert json.loads(deleted.stdout)["status"] == "deleting"
    async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out:
        await out.wait_for(lambda s: of(s, other, events.SessionDeleted), READY_TIMEOUT)


async def test_100_concurrent_get_or_create_publish_one_project_created(
    topo: Topology, service: Service, made: list[str]
) -> None:
    project = new_project()
    made.append(project)
    path = f"/api/v1/sessions/project/{project}?user_id=7&project_id=8"
    async with http(service) as api:
        answers = await asyncio.gather(*(api.get(path) for _ in range(100)))
    assert {a.status_code for a in answers} <= {200, 202}
    async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.input_topic) as log:
        await log.wait_for(lambda s: bool(of(s, project, events.ProjectCreated)), 30)
        await asyncio.sleep(2)
        await log.poll()
        assert len(of(log.decoded(), project, events.ProjectCreated)) == 1
    async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topo.output_topic) as out:
        seen = await out.wait_for(lambda s: of(s, project, events.SessionReady), READY_TIMEOUT)
        assert len(of(seen, project, events.SessionReady)) == 1


async def test_errors_are_json(service: Service, made: list[str]) -> None:
    project = new_project()
    async with http(service) as api:
        checks = [
            (await api.get(f"/api/v1/sessions/project/{project.upper()}"), 400, "lowercase"),
            (await api.get(f"/api/v1/sessions/project/{{{project}}}"), 400, "lowercase"),
            (await api.get(f"/api/v1/sessions/project/{project}"), 404, "user_id"),
            (
                await api.get(f"/api/v1/sessions/project/{project}?user_id=x&project_id=1"),
                400,
                "user_id",
            ),
            (
                await api.post(
                    "/api/v1/sessions",
                    content=b'{"user_id": 1,',
                    headers={"content-type": "application/json"},
                ),
                400,
                "JSON",
            ),
            (await api.put("/api/v1/sessions"), 405, "Method Not Allowed"),
            (
                await api.post(
                    "/api/v1/sessions",
                    json={"user_id": 1, "project_id": 2, "project_uuid": project, "x": "y" * 99999},
                ),
                413,
                "larger than",
            ),
            (await api.delete("/api/v1/sessions/987654321"), 404, "987654321"),
            (await api.delete(f"/api/v1/sessions/{project}"), 404, project),
            (await api.get("/api/v1/sessions?cursor=zzz"), 400, "cursor"),
        ]
        listed = await api.get("/api/v1/sessions", params={"status": "running", "limit": 5})
    for response, code, says in checks:
        assert response.status_code == code, (response.request.url, response.text)
        doc = response.json()
        assert set(doc) == {"code", "message"} and says in doc["message"], doc
    page = listed.json()
    assert listed.status_code == 200 and set(page) == {"items", "next_cursor"}
    assert all(item["status"] == "running" for item in page["items"])


async def test_wait_is_answered_when_another_replica_provisions(
    topo: Topology, service: Service, tmp_path: Path, made: list[str]
) -> None:
    """Replica A serves the request but cannot reach the cluster (a dead address), so
    only replica B (``service``) can provision; A's waiting request is woken by the
    NOTIFY of B's write."""
    dead = kubeconfig_at(
        topo.stack.kubeconfig, tmp_path / "dead", f"https://127.0.0.1:{free_port()}"
    )
    project = new_project()
    made.append(project)
    with serving(topo, tmp_path / "a.log", KUBECONFIG=str(dead)) as replica_a:
        async with http(replica_a) as api:
            started = time.monotonic()
            path = f"/api/v1/sessions/project/{project}?user_id=3&project_id=4&wait=60"
            answer = await api.get(path)
            while answer.status_code == 202 and time.monotonic() - started < READY_TIMEOUT:
                answer = await api.get(path)
        a_log = replica_a.tail(400)
    assert answer.status_code == 200 and answer.json()["status"] == "running", answer.text
    assert "reconcile action" not in a_log  # A never acted: B provisioned


async def test_tokens_and_a_log_that_cannot_take_the_event(topo: Topology, tmp_path: Path) -> None:
    """Auth refusals, and 503 from Kafka itself: the input topic takes records of at
    most 64 bytes (``max.message.bytes``), so the broker refuses the event, the API
    answers 503, and nothing reaches the log. (A topic needing more in-sync replicas than
    it has would be closer to an outage, but this Kafka 4 broker accepts acks=all
    produces to such a topic.)"""
    topic = f"{topo.prefix}.tiny-records"
    admin = AIOKafkaAdminClient(bootstrap_servers=topo.stack.kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic, 1, 1, topic_configs={"max.message.bytes": "64"})]
        )
    finally:
        await admin.close()
    tokens = tmp_path / "tokens"
    tokens.write_text("old-token\nnew-token\n")
    env = {
        "DEVSESSIONS_INPUT_TOPIC": topic,
        "DEVSESSIONS_CONSUMER_GROUP": f"{topo.prefix}-tiny",
        "DEVSESSIONS_API_TOKENS_FILE": str(tokens),
        "DEVSESSIONS_API_PUBLISH_TIMEOUT_SECONDS": "2",
    }
    project = str(uuid.uuid4())
    body = {"user_id": 1, "project_id": 2, "project_uuid": project}
    with serving(topo, tmp_path / "svc.log", **env) as service:
        async with http(service) as api:
            none = await api.post("/api/v1/sessions", json=body)
            wrong = await api.post(
                "/api/v1/sessions", json=body, headers={"Authorization": "Bearer guess"}
            )
            read = await api.get(f"/api/v1/sessions/project/{project}")
            refused = await api.post(
                "/api/v1/sessions", json=body, headers={"Authorization": "Bearer new-token"}
            )
    assert (none.status_code, none.json()["code"]) == (401, "unauthorized")
    assert (wrong.status_code, wrong.json()["code"]) == (403, "forbidden")
    assert read.status_code == 404  # reads stay open unless DEVSESSIONS_API_AUTH_READS
    assert (refused.status_code, refused.json()["code"]) == (503, "log_unavailable")
    async with OutputWatcher(topo.stack.kafka_bootstrap_servers, topic) as log:
        await log.poll()
        await log.poll()
        assert log.records == []


def test_an_open_api_beyond_loopback_is_refused(topo: Topology) -> None:
    done = subprocess.run(
        [str(DEVSESSIONS), "run"],
        env=topo.env(DEVSESSIONS_HTTP_HOST="0.0.0.0", DEVSESSIONS_HTTP_PORT=str(free_port())),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "refusing to listen on 0.0.0.0 without API tokens" in done.stderr + done.stdout

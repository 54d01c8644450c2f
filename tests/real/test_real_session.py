"""A real session, provisioned by the service, on the real node and behind the Ingress.

``devsessions run`` runs as a child process (as in tests/e2e) with the stack's values file
for the real node (``DEVSESSIONS_REAL_NODE_VALUES_FILE``): the session's three local
images, its nodeSelector and toleration. After ``SessionReady``: the pod runs on the real
node as uid 1000 in a namespace enforcing Pod Security ``restricted``; every container is
Ready (its probes passed) and never restarted; each container writes the workspace claim;
code-server opened ``/workspace``; the three URLs of the event answer through the Ingress
controller (``/vscode`` with VS Code's workbench) only to their owner: anonymously they are
refused (401), with a link the service minted for the owner they open, with a token for
another project they are refused (403), as the stack's forward-auth asks the service;
``kubectl logs`` shows the containers' output; ``ProjectDeleted`` leaves no running
container of the namespace in containerd.
It prints the time from ``ProjectCreated`` to ``SessionReady`` and to a browser-ready
``/vscode`` (the README's figure).
"""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from devstack import ingress, node_config, session_placement
from devstack.record import StackInfo

import events
from consumer.domain import access_token, session_access
from consumer.entrypoints.api.access_keys import AccessKeys
from events.publish import EventPublisher
from tests.e2e.harness import (
    OutputWatcher,
    Topology,
    created,
    deleted,
    make_topology,
    new_project,
    of,
    running,
)
from tests.real.pods import containers_of, kubectl, running_tasks

pytestmark = [pytest.mark.real, pytest.mark.slow]

ENDPOINTS = ("preview", "chat", "vscode")


@pytest.fixture(scope="module")
def topo(real_node: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Topology:
    prefix = f"real-{uuid.uuid4().hex[:8]}"
    return make_topology(real_node, tmp_path_factory.mktemp(prefix), prefix)


def the_pod(stack: StackInfo, namespace: str) -> dict[str, Any]:
    [pod] = json.loads(kubectl(stack, "get", "pods", "-n", namespace, "-o", "json"))["items"]
    return dict(pod)


def wait_for_vscode(url: str, address: str, access: str, timeout: float = 60) -> float:
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if ingress.serves_vscode(url, address, access=access):
            return time.monotonic()
        time.sleep(0.2)
    raise AssertionError(f"{url} did not serve VS Code through {address} within {timeout}s")


def first_answer(url: str, address: str, *, cookie: str = "") -> tuple[int, str]:
    """The controller's first answer for ``url``: status and where it sends the browser."""
    host, _, port = address.rpartition(":")
    parts = urlsplit(url)
    headers = {"Host": parts.netloc}
    if cookie:
        headers["Cookie"] = f"{session_access.COOKIE_NAME}={cookie}"
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection.request("GET", target, headers=headers)
        reply = connection.getresponse()
        return reply.status, reply.getheader("Location") or ""
    finally:
        connection.close()


def routed_answer(url: str, address: str, *, within: float = 30) -> tuple[int, str]:
    """The first answer for ``url`` once the controller has a route for it (not 404)."""
    deadline = time.monotonic() + within
    while True:
        answer = first_answer(url, address)
        if answer[0] != 404 or time.monotonic() > deadline:
            return answer
        time.sleep(0.5)


def mint_link(service_base: str, project: str, user_id: int) -> dict[str, str]:
    """What the service's API hands the session's owner: the URLs with ``?access=``."""
    request = urllib.request.Request(
        f"{service_base}/api/v1/sessions/project/{project}/access",
        data=json.dumps({"user_id": user_id}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as reply:
        return dict(json.loads(reply.read()))


def token_for_another_project(stack: StackInfo, user_id: int) -> str:
    """A token as the service mints it (the stack's own signing key), for another project."""
    keys = AccessKeys(Path(stack.env["DEVSESSIONS_ACCESS_KEYS_FILE"])).all()
    return access_token.mint(
        keys[0],
        user_id=user_id,
        project_uuid=new_project(),
        now=datetime.now(UTC),
        ttl=timedelta(minutes=5),
    )


def wait_for_page(url: str, address: str, text: str, timeout: float = 60) -> None:
    status, body = 0, ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = ingress.fetch(url, address)
        if status == 200 and text in body:
            return
        time.sleep(0.2)
    raise AssertionError(f"{url}: {status} {body[:300]}")


def assert_runs_restricted_on_the_real_node(stack: StackInfo, namespace: str) -> str:
    ns = json.loads(kubectl(stack, "get", "namespace", namespace, "-o", "json"))
    assert ns["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    pod = the_pod(stack, namespace)
    assert pod["spec"]["nodeName"] == node_config.NODE_NAME
    assert pod["spec"]["securityContext"]["runAsUser"] == 1000
    statuses = pod["status"]["containerStatuses"]
    assert sorted(s["name"] for s in statuses) == sorted(ENDPOINTS)
    for status in statuses:
        assert status["ready"] and "running" in status["state"], status
        assert status["restartCount"] == 0, status
        assert status["imageID"], "no image id: kwok fakes statuses, the kubelet does not"
    return str(pod["metadata"]["name"])


def assert_each_container_writes_the_workspace(stack: StackInfo, namespace: str, pod: str) -> None:
    for name in ENDPOINTS:
        file = f"/workspace/.written-by-{name}"
        script = f"id -u && echo {name} > {file} && cat {file}"
        out = kubectl(stack, "exec", "-n", namespace, pod, "-c", name, "--", "sh", "-c", script)
        assert out.split() == ["1000", name], out


async def test_a_real_session_runs_answers_and_goes(topo: Topology, tmp_path: Path) -> None:
    stack = topo.stack
    real_values = stack.env.get(session_placement.REAL_VALUES_VAR)
    assert real_values, "the stack holds the real node but exports no values file for it"
    address = stack.env["DEVSESSIONS_INGRESS_ADDRESS"]
    project = new_project()
    bootstrap = stack.kafka_bootstrap_servers
    with running(
        topo,
        tmp_path / "service.log",
        DEVSESSIONS_CHART_VALUES_FILE=real_values,
        # The stack's forward-auth asks the service on this port (stack env).
        DEVSESSIONS_HTTP_PORT=stack.env["DEVSESSIONS_HTTP_PORT"],
    ) as service:
        async with (
            EventPublisher(bootstrap, topic=topo.input_topic) as publisher,
            OutputWatcher(bootstrap, topo.output_topic) as out,
        ):
            begin = time.monotonic()
            await publisher.publish(created(project))
            seen = await out.wait_for(lambda s: of(s, project, events.SessionReady), 240)
            ready_at = time.monotonic()
            data = of(seen, project, events.SessionReady)[0].data
            assert "access=" not in data.model_dump_json(), "SessionReady carries no token"
            owner = created(project).user_id
            link = mint_link(f"http://127.0.0.1:{service.port}", project, owner)
            token = link["token"]
            assert link["vscode_url"].startswith(data.vscode_url), link
            browser_ready_at = wait_for_vscode(data.vscode_url, address, token)
            vscode = data.vscode_url.rstrip("/") + "/"
            assert first_answer(vscode, address)[0] == 401, "anonymous /vscode not refused"
            other = token_for_another_project(stack, owner)
            assert first_answer(session_access.with_token(vscode, other), address)[0] == 403
            assert first_answer(vscode, address, cookie=other)[0] == 403
            assert not ingress.serves_vscode(data.vscode_url, address, access=other)
            pod = assert_runs_restricted_on_the_real_node(stack, project)
            assert_each_container_writes_the_workspace(stack, project, pod)
            for name in ("preview", "chat"):
                # SessionReady waits for each Service's ready endpoint; the controller's
                # own reading of the cluster may trail it, so wait until it routes.
                url = getattr(data, f"{name}_url")
                assert routed_answer(url, address)[0] == 401, f"anonymous {name} not refused"
                wait_for_page(session_access.with_token(url, token), address, project)
            status, opened = first_answer(vscode, address, cookie=token)
            assert "folder=/workspace" in opened, f"code-server opened {status} {opened!r}"
            logs = kubectl(stack, "logs", "-n", project, pod, "-c", "vscode")
            assert "HTTP server listening" in logs, logs[-2000:]
            page_logs = kubectl(stack, "logs", "-n", project, pod, "-c", "preview")
            assert "GET /" in page_logs, page_logs[-2000:]
            containers = containers_of(project)
            assert len(running_tasks(containers)) == 4, "sandbox and three containers"
            await publisher.publish(deleted(project))
            await out.wait_for(lambda s: of(s, project, events.SessionDeleted), 240)
    assert running_tasks(containers) == []
    print(
        f"real node: ProjectCreated -> SessionReady {ready_at - begin:.1f}s, "
        f"-> /vscode browser-ready {browser_ready_at - begin:.1f}s"
    )

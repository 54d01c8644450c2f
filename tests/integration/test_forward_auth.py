"""Sessions only their owner can open, through a real Traefik with ForwardAuth.

Three processes on this machine: the session API (the real FastAPI app under uvicorn,
over in-memory session reads), Traefik from the stack's cache with the stack's own
middlewares (``devstack.ingress.dynamic_config``: ``session-auth`` first, then slash and
strip), and a backend standing in for code-server. Routes come from Traefik's file
provider (the Ingress-to-router part is covered by tests/images/test_ingress.py); what is
proved here is the access check in front of it: anonymous refused, the owner's link sets
the cookie and gets through, the cookie works afterwards (WebSocket upgrades too), and a
token of another project is refused; with the service down the controller fails closed.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn
import yaml
from devstack import image_pins, ingress, ingress_build, ports, procs

from consumer.domain import endpoints
from consumer.domain.model import Endpoints, SessionState
from consumer.entrypoints.api import auth, factory
from consumer.entrypoints.api.access_keys import AccessKeys
from consumer.entrypoints.api.context import ApiContext, Intents
from tests.unit.api_fakes import NOW, FakeChanges, FakeIntentLog, FakeReads, session

pytestmark = pytest.mark.slow

P = "550e8400-e29b-41d4-a716-446655440000"
OTHER = "6ba7b810-9dad-11d1-80b4-00c04fd430c8"
API_TOKEN = "api-token"


class Backend(BaseHTTPRequestHandler):
    """Stands in for code-server: says which path reached it."""

    def do_GET(self) -> None:
        body = f"backend saw {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@dataclasses.dataclass
class World:
    controller: int
    service: uvicorn.Server
    template: str


def running_session(project: str, template: str) -> SessionState:
    urls = {
        f"{name}_url": endpoints.public_url(
            template, project_uuid=project, namespace=project, ip_address="", path=f"/{name}"
        )
        for name in ("preview", "chat", "vscode")
    }
    ends = Endpoints(
        ip_address="10.96.0.1",
        preview_path="/preview",
        chat_path="/chat",
        vscode_path="/vscode",
        preview_internal_url="http://preview",
        chat_internal_url="http://chat",
        vscode_internal_url="http://vscode",
        **urls,
    )
    return dataclasses.replace(session(project), endpoints=ends)


def traefik_config(home: Path, port: int, service_port: int, backend_port: int) -> Path:
    dynamic = ingress.dynamic_config(auth_address=ingress.auth_url(service_port))
    http_conf: dict[str, object] = dynamic["http"]
    http_conf["services"] = {
        "backend": {"loadBalancer": {"servers": [{"url": f"http://127.0.0.1:{backend_port}"}]}}
    }
    http_conf["routers"] = {
        f"session-{i}": {
            "rule": f"Host(`{project}.devsessions.localhost`) && PathPrefix(`/vscode`)",
            "entryPoints": ["web"],
            "middlewares": [m.removesuffix("@file") for m in ingress.MIDDLEWARES.split(",")],
            "service": "backend",
        }
        for i, project in enumerate((P, OTHER))
    }
    (home / "dynamic.yml").write_text(yaml.safe_dump(dynamic))
    static = {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {"web": {"address": f"127.0.0.1:{port}"}},
        "ping": {"entryPoint": "web"},
        "providers": {"file": {"filename": str(home / "dynamic.yml")}},
        "log": {"level": "INFO"},
    }
    (home / "traefik.yml").write_text(yaml.safe_dump(static))
    return home / "traefik.yml"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    home = tmp_path_factory.mktemp("forward-auth")
    (home / "tokens").write_text(API_TOKEN + "\n")
    (home / "keys").write_text("k" * 40 + "\n")
    controller, service_port, backend_port = (ports.free_port() for _ in range(3))
    template = f"http://{{project_uuid}}.devsessions.localhost:{controller}{{path}}"
    reads = FakeReads()
    reads.put(running_session(P, template))
    reads.put(running_session(OTHER, template))
    ctx = ApiContext(
        reads=reads,
        changes=FakeChanges(),
        intents=Intents(FakeIntentLog()),
        tokens=auth.Tokens(home / "tokens"),
        now=lambda: NOW,
        access_keys=AccessKeys(home / "keys"),
        public_url_template=template,
    )
    config = uvicorn.Config(
        factory.create_app(ctx), host="127.0.0.1", port=service_port, log_level="warning"
    )
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    backend = ThreadingHTTPServer(("127.0.0.1", backend_port), Backend)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    binary, _ = ingress_build.ensure(image_pins.load().traefik, home / "build.log")
    record = procs.spawn(
        [
            str(binary),
            f"--configFile={traefik_config(home, controller, service_port, backend_port)}",
        ],
        home / "traefik.log",
        home / "traefik.pid",
    )
    try:
        ingress.wait_ready(controller, record, home / "traefik.log", timeout=60)
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.1)
        assert server.started
        # the file provider's routers appear shortly after /ping answers
        while status(controller, P, "/vscode/")[0] == 404 and time.monotonic() < deadline:
            time.sleep(0.2)
        yield World(controller, server, template)
    finally:
        procs.stop_pid_file(home / "traefik.pid")
        backend.shutdown()
        server.should_exit = True
        print((home / "traefik.log").read_text()[-3000:])


def status(
    port: int, project: str, target: str, cookie: str | None = None, **extra: str
) -> tuple[int, dict[str, str], str]:
    """One request through the controller (redirects not followed)."""
    headers = {"Host": f"{project}.devsessions.localhost:{port}", **extra}
    if cookie:
        headers["Cookie"] = f"devsessions_access={cookie}"
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", target, headers=headers)
        reply = connection.getresponse()
        body = reply.read().decode("utf-8", "replace")
        return reply.status, {k.lower(): v for k, v in reply.getheaders()}, body
    finally:
        connection.close()


def grant(service_port: int, project: str, user_id: int) -> dict[str, str]:
    connection = http.client.HTTPConnection("127.0.0.1", service_port, timeout=10)
    try:
        connection.request(
            "POST",
            f"/api/v1/sessions/project/{project}/access",
            body=f'{{"user_id": {user_id}}}',
            headers={"Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"},
        )
        reply = connection.getresponse()
        assert reply.status == 200, reply.read()
        granted: dict[str, str] = json.loads(reply.read())
        return granted
    finally:
        connection.close()


def test_anonymous_is_refused(world: World) -> None:
    for target in ("/vscode", "/vscode/", "/vscode/static/x.js"):
        code, _, body = status(world.controller, P, target)
        assert code == 401 and "backend" not in body


def test_owner_link_sets_the_cookie_and_gets_through(world: World) -> None:
    port = world.service.config.port
    link = grant(port, P, 123)["vscode_url"]
    parts = urlsplit(link)
    assert parts.netloc == f"{P}.devsessions.localhost:{world.controller}"
    code, headers, _ = status(world.controller, P, f"{parts.path}?{parts.query}")
    assert code == 302
    assert headers["location"] == f"http://{P}.devsessions.localhost:{world.controller}/vscode"
    assert "httponly" in headers["set-cookie"].lower()
    cookie = headers["set-cookie"].split(";", 1)[0].split("=", 1)[1]
    # afterwards the cookie alone opens it: slash redirect, then the stripped path
    assert status(world.controller, P, "/vscode", cookie)[0] in (301, 302, 307, 308)
    code, _, body = status(world.controller, P, "/vscode/?folder=/w", cookie)
    assert code == 200 and body == "backend saw /?folder=/w"
    # as a browser (or devstack.ingress.fetch) follows the link: cookie kept, query gone
    address = f"127.0.0.1:{world.controller}"
    assert ingress.fetch(link, address) == (200, "backend saw /")
    upgrade = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13"}
    upgrade["Sec-WebSocket-Key"] = "dGhlIHNhbXBsZSBub25jZQ=="
    assert status(world.controller, P, "/vscode/stable", **upgrade)[0] == 401
    assert status(world.controller, P, "/vscode/stable", cookie, **upgrade)[0] != 401


def test_another_projects_token_is_refused(world: World) -> None:
    other = grant(world.service.config.port, OTHER, 123)["token"]
    assert status(world.controller, P, f"/vscode/?access={other}")[0] == 403
    code, _, body = status(world.controller, P, "/vscode/", other)
    assert code == 403 and "backend" not in body
    assert status(world.controller, OTHER, "/vscode/", other)[0] == 200


def test_with_the_service_down_the_controller_fails_closed(world: World) -> None:
    token = grant(world.service.config.port, P, 123)["token"]
    world.service.should_exit = True
    deadline = time.monotonic() + 10
    while ports.is_listening(world.service.config.port) and time.monotonic() < deadline:
        time.sleep(0.1)
    code, _, body = status(world.controller, P, "/vscode/", token)
    assert code >= 500 and "backend" not in body

"""The Ingress controller routes session URLs by Host and path, with the prefix handled.

Traefik (built from the module proxy, cached) runs as the stack runs it, from a state
directory of this test, against the stack's API server. Backends are processes on this
machine reached through a selectorless Service and an EndpointSlice at the host's
non-loopback address, the way pod IPs of the real node are reached: two sessions (two
namespaces, two Hosts) each with a preview backend, and one session whose three paths are
the real preview, chat and code-server containers, which must answer through the
controller (VS Code's workbench and its assets under ``/vscode/``).
"""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import yaml
from devstack import (
    ingress,
    ingress_access,
    kube_checks,
    ports,
    procs,
    record,
    session_web,
)
from devstack.paths import StateLayout
from devstack.record import StackInfo
from devstack.steps import NullReporter

from consumer.domain import endpoints
from tests.images.helpers import get, host_ip, run_restricted, wait_for

pytestmark = [pytest.mark.images, pytest.mark.slow]


@pytest.fixture(scope="module")
def controller(stack: StackInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Traefik started by the step ``stack up`` runs, from a state dir of this module."""
    state = StateLayout(tmp_path_factory.mktemp("ingress") / "stack")
    port = ports.free_port()
    try:
        session_web.start_ingress(NullReporter(), state, port, stack.kubeconfig, service_port=1)
        first = procs.running(state.pid(ingress.COMPONENT))
        session_web.start_ingress(NullReporter(), state, port, stack.kubeconfig, service_port=1)
        assert first is not None and procs.running(state.pid(ingress.COMPONENT)) == first
        assert session_web.health_rows(state, {"ports": {"ingress": port}})[0][1]
        yield port
        assert session_web.stop(state), "the controller was not running any more"
    finally:
        session_web.stop(state)
        log = state.log(ingress.COMPONENT)
        print(log.read_text()[-3000:] if log.exists() else "no controller log")


class Echo(BaseHTTPRequestHandler):
    """Answers ``<server name> <path it saw>``."""

    def do_GET(self) -> None:
        body = f"{self.server.name} {self.path}".encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def echo_servers() -> Iterator[dict[str, int]]:
    """Two named HTTP servers on the host's non-loopback address: name -> port."""
    servers = {}
    for name in ("alpha", "beta"):
        server = ThreadingHTTPServer((host_ip(), 0), Echo)
        server.name = name  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server
    yield {name: s.server_address[1] for name, s in servers.items()}
    for server in servers.values():
        server.shutdown()


def kubectl(stack: StackInfo, *args: str, stdin: str = "") -> str:
    proc = subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={stack.kubeconfig}", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


def session_objects(namespace: str, host: str, backends: dict[str, int]) -> list[dict[str, object]]:
    """Selectorless Services + EndpointSlices to the host, and the chart's kind of Ingress."""
    objects: list[dict[str, object]] = []
    paths = []
    for name, port in backends.items():
        objects.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": name, "namespace": namespace},
                "spec": {"ports": [{"name": "http", "port": port, "targetPort": port}]},
            }
        )
        objects.append(
            {
                "apiVersion": "discovery.k8s.io/v1",
                "kind": "EndpointSlice",
                "metadata": {
                    "name": f"{name}-host",
                    "namespace": namespace,
                    "labels": {"kubernetes.io/service-name": name},
                },
                "addressType": "IPv4",
                "ports": [{"name": "http", "port": port, "protocol": "TCP"}],
                "endpoints": [{"addresses": [host_ip()], "conditions": {"ready": True}}],
            }
        )
        paths.append(
            {
                "path": f"/{name}",
                "pathType": "Prefix",
                "backend": {"service": {"name": name, "port": {"name": "http"}}},
            }
        )
    objects.append(
        {
            "apiVersion": "networking.k8s.io/v1",
            "kind": "Ingress",
            "metadata": {
                "name": "dev-session",
                "namespace": namespace,
                "annotations": {ingress.MIDDLEWARES_ANNOTATION: ingress.ROUTING_MIDDLEWARES},
            },
            "spec": {
                "ingressClassName": ingress.INGRESS_CLASS,
                "rules": [{"host": host, "http": {"paths": paths}}],
            },
        }
    )
    return objects


@pytest.fixture
def session_namespace(stack: StackInfo) -> Iterator[str]:
    namespace = f"ingress-test-{uuid.uuid4().hex[:10]}"
    kubectl(stack, "create", "namespace", namespace)
    try:
        yield namespace
    finally:
        kubectl(stack, "delete", "namespace", namespace, "--wait=false")


def apply(stack: StackInfo, objects: list[dict[str, object]]) -> None:
    kubectl(stack, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))


def test_routes_by_host_and_path_and_strips_the_prefix(
    stack: StackInfo, controller: int, echo_servers: dict[str, int], session_namespace: str
) -> None:
    other = f"{session_namespace}-b"
    kubectl(stack, "create", "namespace", other)
    try:
        host_a, host_b = (
            f"{session_namespace}.devsessions.localhost",
            f"{other}.devsessions.localhost",
        )
        apply(stack, session_objects(session_namespace, host_a, {"preview": echo_servers["alpha"]}))
        apply(stack, session_objects(other, host_b, {"preview": echo_servers["beta"]}))
        base = f"http://{ingress.address(controller)}"
        assert wait_for(f"{base}/preview/x?y=1", host=host_a, timeout=60) == (200, "alpha /x?y=1")
        assert wait_for(f"{base}/preview/", host=host_b, timeout=60) == (200, "beta /")
        status, _, headers = get(f"{base}/preview", host=host_a)
        assert status in (302, 307) and headers["Location"].endswith("/preview/")
        assert get(f"{base}/preview/", host="unknown.devsessions.localhost")[0] == 404
        assert get(f"{base}/chat/", host=host_a)[0] == 404
    finally:
        kubectl(stack, "delete", "namespace", other, "--wait=false")


def test_the_session_containers_answer_through_the_controller(
    stack: StackInfo, controller: int, session_images: dict[str, str], session_namespace: str
) -> None:
    """The three real containers behind one session Host: pages, and VS Code under /vscode."""
    args = ["--bind-addr", "0.0.0.0:8080", "--auth", "none", "--disable-telemetry", "/home/coder"]
    address = host_ip()
    with (
        run_restricted(session_images["preview"], 3000, address=address) as preview,
        run_restricted(session_images["chat"], 3001, address=address) as chat,
        run_restricted(session_images["vscode"], 8080, address=address, args=args) as vscode,
    ):
        assert wait_for(vscode.url + "/healthz", timeout=120)[0] == 200
        host = f"{session_namespace}.devsessions.localhost"
        backends = {"preview": preview.port, "chat": chat.port, "vscode": vscode.port}
        apply(stack, session_objects(session_namespace, host, backends))
        base = f"http://{ingress.address(controller)}"
        status, page = wait_for(f"{base}/preview/", host=host, timeout=60)
        assert status == 200 and "<h1>App preview</h1>" in page
        status, page = wait_for(f"{base}/chat/?say=hi", host=host)
        assert status == 200 and "You said: <q>hi</q>" in page
        assert wait_for(f"{base}/vscode/healthz", host=host, timeout=60)[0] == 200
        status, _, headers = get(f"{base}/vscode", host=host)
        assert status in (302, 307) and headers["Location"].endswith("/vscode/")
        status, _, headers = get(f"{base}/vscode/", host=host)
        assert status == 302 and headers["Location"].startswith("./?folder=")
        status, html = wait_for(f"{base}/vscode/?folder=/home/coder", host=host)
        assert status == 200 and "vs/code/browser/workbench/workbench.js" in html, html[:500]
        # The page's relative links resolve under /vscode/ and are served through it.
        css = next(
            part.split('"')[0] for part in html.split('href="')[1:] if "workbench.css" in part
        )
        assert not css.startswith("/"), css
        assert get(f"{base}/vscode/{css}", host=host)[0] == 200, css
        # What `make run` needs: the session's public URL, opened through the controller.
        template = ingress.url_template(controller)
        vscode_url = endpoints.public_url(
            template, project_uuid=session_namespace, namespace="", ip_address="", path="/vscode"
        )
        assert ingress.serves_vscode(vscode_url, ingress.address(controller))
        assert not ingress.serves_vscode(
            vscode_url.replace("/vscode", "/preview"), ingress.address(controller)
        )


def test_config_paths_are_inside_the_state_dir(tmp_path: Path) -> None:
    state = StateLayout(tmp_path / "stack")
    static = ingress.write_config(state, 12345, auth_address=ingress.auth_url(8080))
    config = yaml.safe_load(static.read_text())
    assert config["entryPoints"]["web"]["address"] == "127.0.0.1:12345"
    dynamic = Path(config["providers"]["file"]["filename"])
    assert dynamic.parent == static.parent == state.data(ingress.COMPONENT)
    middlewares = yaml.safe_load(dynamic.read_text())["http"]["middlewares"]
    assert set(middlewares) == {m.removesuffix("@file") for m in ingress.MIDDLEWARES.split(",")}
    # Access is checked first, before any routing middleware, against the service.
    assert ingress.MIDDLEWARES.split(",")[0] == "session-auth@file"
    forward = middlewares["session-auth"]["forwardAuth"]
    assert forward == {
        "address": "http://127.0.0.1:8080/api/v1/auth/forward",
        "trustForwardHeader": False,
    }


def test_stack_env_exports_the_controller_and_session_urls_that_route_to_it(
    tmp_path: Path,
) -> None:
    state = StateLayout(tmp_path / "stack")
    state.root.mkdir(parents=True)
    tags = {"preview": "p:1", "chat": "c:1", "vscode": "v:1"}
    values_file = session_web.write_values(state, tags)
    env = session_web.exports(state, {"ports": {"ingress": 4321}})
    assert env[session_web.INGRESS_VAR] == "127.0.0.1:4321"
    template = env[session_web.URL_TEMPLATE_VAR]
    uuid_ = "550e8400-e29b-41d4-a716-446655440000"
    url = endpoints.public_url(
        template, project_uuid=uuid_, namespace=uuid_, ip_address="10.0.0.1", path="/vscode"
    )
    assert url == f"http://{uuid_}.devsessions.localhost:4321/vscode"
    assert endpoints.ingress_host(template, uuid_) == f"{uuid_}.devsessions.localhost"
    chart = yaml.safe_load(values_file.read_text())
    assert chart["ingress"]["className"] == ingress.INGRESS_CLASS
    assert chart["containers"]["vscode"] == {"image": "v:1", "imagePullPolicy": "Never"}
    assert chart["containers"]["preview"]["args"] == []
    data = {
        "ports": {"kafka": 1, "postgres": 2},
        "kubeconfig": "/k",
        "helm_binary": "/h/helm",
        "session_env": env,
    }
    info = record.info_from(data)
    assert info is not None
    lines = record.exports(info).splitlines()
    assert "export DEVSESSIONS_INGRESS_ADDRESS=127.0.0.1:4321" in lines
    assert f"export DEVSESSIONS_CHART_VALUES_FILE={values_file}" in lines


def test_stack_puts_session_auth_first_and_exports_the_service_port_and_keys(
    tmp_path: Path,
) -> None:
    state = StateLayout(tmp_path / "stack")
    state.root.mkdir(parents=True)
    chart = yaml.safe_load(session_web.write_values(state, {}).read_text())
    annotation = chart["ingress"]["annotations"][ingress.MIDDLEWARES_ANNOTATION]
    assert annotation.split(",")[0] == "session-auth@file"
    keys = session_web.ensure_access_keys(state)
    assert keys.stat().st_mode & 0o077 == 0
    assert session_web.ensure_access_keys(state).read_text() == keys.read_text()  # kept
    env = session_web.exports(state, {"ports": {"ingress": 4321, "service_http": 4322}})
    assert env[session_web.HTTP_PORT_VAR] == "4322"
    assert env[session_web.ACCESS_KEYS_VAR] == str(keys)


def test_the_controller_identity_reads_ingresses_and_nothing_more(
    stack: StackInfo, tmp_path: Path
) -> None:
    identity = ingress_access.ensure(stack.kubeconfig, StateLayout(tmp_path / "stack"))

    def can(*what: str) -> str:
        proc = subprocess.run(
            [kube_checks.kubectl(), f"--kubeconfig={identity}", "auth", "can-i", *what],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        return proc.stdout.strip()

    assert can("list", "ingresses.networking.k8s.io", "-A") == "yes"
    assert can("watch", "endpointslices.discovery.k8s.io", "-A") == "yes"
    assert can("update", "ingresses.networking.k8s.io", "--subresource=status", "-A") == "yes"
    assert can("list", "pods", "-A") == "no"
    assert can("create", "namespaces") == "no"
    assert can("delete", "ingresses.networking.k8s.io", "-A") == "no"

"""The stack's Ingress controller: Traefik on the host, watching the cluster's Ingresses.

Why on the host: it needs nothing from the node (no image, no pod network of its own), it
reaches pod IPs and ClusterIPs the way the host does, and it listens on one local port
that a browser on this machine can open. It reads the cluster through ``KUBECONFIG``
(the stack gives it a ServiceAccount of its own, :mod:`devstack.ingress_access`), and
serves Ingresses whose
IngressClass is ``traefik`` (created on start), routing by Host and path to the
EndpointSlices of their Services.

Path prefixes: code-server serves VS Code from ``/`` with relative links, so the session
paths are stripped (``/vscode/x`` reaches the container as ``/x``) and a bare ``/vscode``
is first redirected to ``/vscode/`` so relative links resolve under it. Both are
middlewares of a file the stack writes; an Ingress opts in with the annotation
:data:`MIDDLEWARES_ANNOTATION` = :data:`MIDDLEWARES`.

Access: the first of those middlewares, ``session-auth``, is a ForwardAuth to the
service's ``GET /api/v1/auth/forward`` on the port the stack reserves for it
(``DEVSESSIONS_HTTP_PORT`` in ``stack env``): every request to a session, WebSocket
upgrades included, is let through only if the service says so. With no service listening
there, Traefik answers 500: closed, not open (docs/security.md).

State: ``<state>/ingress/{traefik.yml,dynamic.yml}``, log ``logs/ingress.log``, pid file
``pids/ingress.pid``; health is ``GET /ping`` on the listening port.
"""

from __future__ import annotations

import http.client
import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import yaml

from devstack import kube_checks, procs
from devstack.paths import StateLayout

COMPONENT = "ingress"
HOST = "127.0.0.1"
INGRESS_CLASS = "traefik"
CONTROLLER = "traefik.io/ingress-controller"
SESSION_PATHS = ("/vscode", "/preview", "/chat")
MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares"
ROUTING_MIDDLEWARES = "session-slash@file,session-strip@file"
MIDDLEWARES = "session-auth@file," + ROUTING_MIDDLEWARES
AUTH_PATH = "/api/v1/auth/forward"


def auth_url(service_port: int) -> str:
    """The forward-auth endpoint of a service listening on this machine's ``service_port``."""
    return f"http://{HOST}:{service_port}{AUTH_PATH}"


def dynamic_config(
    prefixes: Sequence[str] = SESSION_PATHS, *, auth_address: str
) -> dict[str, object]:
    """The file provider's middlewares: ask the service, add the trailing slash, strip the
    prefix. ``trustForwardHeader: false``: the client's own ``X-Forwarded-*`` are replaced
    by what Traefik saw, so the service judges the real Host and URI."""
    alternatives = "|".join(p.strip("/") for p in prefixes)
    return {
        "http": {
            "middlewares": {
                "session-auth": {
                    "forwardAuth": {"address": auth_address, "trustForwardHeader": False}
                },
                "session-slash": {
                    "redirectRegex": {
                        "regex": rf"^(https?://[^/]+/(?:{alternatives}))$",
                        "replacement": "${1}/",
                    }
                },
                "session-strip": {"stripPrefix": {"prefixes": list(prefixes)}},
            }
        }
    }


def static_config(state: StateLayout, port: int) -> dict[str, object]:
    return {
        "global": {"checkNewVersion": False, "sendAnonymousUsage": False},
        "entryPoints": {"web": {"address": f"{HOST}:{port}"}},
        "ping": {"entryPoint": "web"},
        "providers": {
            # allowEmptyServices: a path whose pod is not ready yet answers 503 behind the
            # session's forward-auth, not 404 as if the session did not exist.
            "kubernetesIngress": {"throttleDuration": "0s", "allowEmptyServices": True},
            "file": {"filename": str(state.data(COMPONENT) / "dynamic.yml"), "watch": True},
        },
        "log": {"level": "INFO"},
        "accessLog": {},
    }


def write_config(state: StateLayout, port: int, *, auth_address: str) -> Path:
    """Write both config files; return the static one (traefik's ``--configFile``).

    The dynamic file is watched: rewriting it updates a running controller."""
    home = state.data(COMPONENT)
    home.mkdir(parents=True, exist_ok=True)
    dynamic = yaml.safe_dump(dynamic_config(auth_address=auth_address), sort_keys=True)
    (home / "dynamic.yml").write_text(dynamic)
    static = home / "traefik.yml"
    static.write_text(yaml.safe_dump(static_config(state, port), sort_keys=True))
    return static


def ensure_ingress_class(kubeconfig: Path, log: Path) -> None:
    """The IngressClass ``traefik`` that the controller serves (idempotent)."""
    manifest = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "IngressClass",
        "metadata": {"name": INGRESS_CLASS, "labels": {"app.kubernetes.io/part-of": "devsessions"}},
        "spec": {"controller": CONTROLLER},
    }
    proc = subprocess.run(
        [kube_checks.kubectl(), f"--kubeconfig={kubeconfig}", "apply", "-f", "-"],
        input=yaml.safe_dump(manifest),
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a") as out:
        out.write(proc.stdout + proc.stderr)
    if proc.returncode != 0:
        raise RuntimeError(f"creating IngressClass {INGRESS_CLASS} failed: {proc.stderr.strip()}")


def start(
    binary: Path, state: StateLayout, port: int, kubeconfig: Path, *, auth_address: str
) -> procs.PidRecord:
    """Start traefik on ``127.0.0.1:port``; record it in ``pids/ingress.pid``."""
    config = write_config(state, port, auth_address=auth_address)
    env = {**os.environ, "KUBECONFIG": str(kubeconfig)}
    return procs.spawn(
        [str(binary), f"--configFile={config}"],
        state.log(COMPONENT),
        state.pid(COMPONENT),
        env=env,
    )


def healthy(port: int) -> bool:
    """True when traefik answers its ping on the listening port."""
    try:
        with urllib.request.urlopen(f"http://{HOST}:{port}/ping", timeout=2) as reply:
            return bool(reply.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def wait_ready(port: int, record: procs.PidRecord, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not procs.is_alive(record):
            raise RuntimeError(f"traefik exited during start-up (see {log})")
        if healthy(port):
            return
        time.sleep(0.2)
    raise RuntimeError(f"traefik did not answer /ping within {timeout:.0f}s (see {log})")


def address(port: int) -> str:
    """``host:port`` for ``DEVSESSIONS_INGRESS_ADDRESS``."""
    return f"{HOST}:{port}"


def url_template(port: int) -> str:
    """Public URLs through the controller: one Host per session under ``localhost``.

    ``*.localhost`` names resolve to the loopback address in browsers and curl, so the
    URL opens on this machine as it is, and its Host header selects the session's rules.
    """
    return f"http://{{project_uuid}}.devsessions.localhost:{port}{{path}}"


def fetch(url: str, ingress_address: str, *, timeout: float = 10) -> tuple[int, str]:
    """GET a session URL through the controller, following its redirects; (status, body).

    The URL's host (``<uuid>.devsessions.localhost``) is sent as the Host header to the
    controller's address, so this works where the resolver does not know ``*.localhost``
    (Python's, unlike browsers and curl). Cookies set on the way are sent back, so a
    session link with ``?access=<token>`` opens like in a browser.
    """
    host, _, port = ingress_address.rpartition(":")
    cookies: dict[str, str] = {}  # set along the way (the session access cookie), sent back
    for _hop in range(5):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {"Host": parts.netloc}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            connection.request("GET", target or "/", headers=headers)
            reply = connection.getresponse()
            body = reply.read().decode("utf-8", "replace")
        finally:
            connection.close()
        for value in reply.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            cookies[name.strip()] = rest.split(";", 1)[0]
        location = reply.getheader("Location")
        if reply.status not in (301, 302, 303, 307, 308) or not location:
            return reply.status, body
        url = urljoin(url, location)
    return reply.status, body


def serves_vscode(url: str, ingress_address: str, access: str = "") -> bool:
    """True when ``url`` (a session's ``vscode_url``) answers with VS Code's workbench;
    ``access``: a session access token (sessions behind the stack's forward-auth)."""
    target = url.rstrip("/") + "/" + (f"?access={access}" if access else "")
    try:
        status, body = fetch(target, ingress_address)
    except OSError:
        return False
    return status == 200 and "vs/code/browser/workbench/workbench" in body

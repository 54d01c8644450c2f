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
MIDDLEWARES = "session-slash@file,session-strip@file"


def dynamic_config(prefixes: Sequence[str] = SESSION_PATHS) -> dict[str, object]:
    """The file provider's middlewares: add the trailing slash, then strip the prefix."""
    alternatives = "|".join(p.strip("/") for p in prefixes)
    return {
        "http": {
            "middlewares": {
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
            "kubernetesIngress": {"throttleDuration": "0s"},
            "file": {"filename": str(state.data(COMPONENT) / "dynamic.yml"), "watch": True},
        },
        "log": {"level": "INFO"},
        "accessLog": {},
    }


def write_config(state: StateLayout, port: int) -> Path:
    """Write both config files; return the static one (traefik's ``--configFile``)."""
    home = state.data(COMPONENT)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dynamic.yml").write_text(yaml.safe_dump(dynamic_config(), sort_keys=True))
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


def start(binary: Path, state: StateLayout, port: int, kubeconfig: Path) -> procs.PidRecord:
    """Start traefik on ``127.0.0.1:port``; record it in ``pids/ingress.pid``."""
    config = write_config(state, port)
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
    (Python's, unlike browsers and curl).
    """
    host, _, port = ingress_address.rpartition(":")
    for _hop in range(5):
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        connection = http.client.HTTPConnection(host, int(port), timeout=timeout)
        try:
            connection.request("GET", target or "/", headers={"Host": parts.netloc})
            reply = connection.getresponse()
            body = reply.read().decode("utf-8", "replace")
        finally:
            connection.close()
        location = reply.getheader("Location")
        if reply.status not in (301, 302, 303, 307, 308) or not location:
            return reply.status, body
        url = urljoin(url, location)
    return reply.status, body


def serves_vscode(url: str, ingress_address: str) -> bool:
    """True when ``url`` (a session's ``vscode_url``) answers with VS Code's workbench."""
    try:
        status, body = fetch(url.rstrip("/") + "/", ingress_address)
    except OSError:
        return False
    return status == 200 and "vs/code/browser/workbench/workbench" in body

"""The steps of ``stack up`` that make session URLs real: local images and the Ingress.

Called by :mod:`devstack.api`: builds (or finds) the local images, writes the chart
values that use them, starts the Traefik controller (reused when it answers) and says
what ``stack env`` exports for them: ``DEVSESSIONS_INGRESS_ADDRESS``, a
``DEVSESSIONS_PUBLIC_URL_TEMPLATE`` whose per-session Host routes through the controller,
``DEVSESSIONS_CHART_VALUES_FILE`` (the values file of the local images), while this
stack holds the real node ``DEVSESSIONS_REAL_NODE_VALUES_FILE`` (the same on the real
node), and for session access (docs/security.md) ``DEVSESSIONS_HTTP_PORT`` (the port the
controller's forward-auth asks: run the service there) and
``DEVSESSIONS_ACCESS_KEYS_FILE`` (a signing key the stack generated).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from devstack import (
    engine,
    image_pins,
    ingress,
    ingress_access,
    ingress_build,
    local_images,
    procs,
    session_placement,
)
from devstack.paths import StateLayout
from devstack.steps import Reporter, step

INGRESS_VAR = "DEVSESSIONS_INGRESS_ADDRESS"
URL_TEMPLATE_VAR = "DEVSESSIONS_PUBLIC_URL_TEMPLATE"
VALUES_VAR = session_placement.VALUES_VAR
VALUES_FILE = session_placement.VALUES_FILE
HTTP_PORT_VAR = "DEVSESSIONS_HTTP_PORT"
ACCESS_KEYS_VAR = "DEVSESSIONS_ACCESS_KEYS_FILE"
ACCESS_KEYS_FILE = "access-keys"
SERVICE_PORT = "service_http"  # the stack's port name for the service's HTTP API


def ensure_images(reporter: Reporter, state: StateLayout, *, service: bool) -> dict[str, str]:
    """Build what is missing of the local images; return ``name -> tag``.

    Where podman is missing and cannot be installed (not root, no apt-get), the images
    are skipped with the reason and ``{}`` is returned: the rest of the stack still works.
    """
    log = state.log("build-images")
    with step(reporter, "container engine", log) as note:
        reason = engine.cannot_install_reason()
        if reason is not None:
            note.text = f"skipped: {reason}"
            return {}
        note.text = "installed podman, runc" if engine.ensure_installed(log) else "podman found"
    built = local_images.ensure_all(
        log, service=service, around=lambda name: step(reporter, f"image {name}", log)
    )
    return {b.name: b.tag for b in built}


def values(tags: dict[str, str]) -> dict[str, Any]:
    """Chart values for the local stack: the Traefik class and middlewares, local images."""
    chart = local_images.chart_values(tags) if tags else {}
    chart["ingress"] = {
        "className": ingress.INGRESS_CLASS,
        "annotations": {ingress.MIDDLEWARES_ANNOTATION: ingress.MIDDLEWARES},
    }
    return chart


def write_values(state: StateLayout, tags: dict[str, str], *, real_node: bool = False) -> Path:
    """The values files of :mod:`devstack.session_placement`; returns the default one."""
    return session_placement.write(state, values(tags), real_node=real_node)


def ensure_access_keys(state: StateLayout) -> Path:
    """The stack's access-token signing key file (created once, owner-only)."""
    path = state.root / ACCESS_KEYS_FILE
    if not path.is_file():
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write("# Written by `devsessions stack up`: the first key signs.\n")
            out.write(secrets.token_urlsafe(48) + "\n")
        tmp.replace(path)
    return path


def start_ingress(
    reporter: Reporter, state: StateLayout, port: int, kubeconfig: Path, *, service_port: int
) -> None:
    """Build (or find) Traefik, then reuse or start the controller on ``port``.

    ``kubeconfig`` (the admin's) creates the IngressClass and the controller's own
    ServiceAccount; the controller runs with that account's token only. Its forward-auth
    asks the service on ``service_port``; a reused controller picks that up from the
    rewritten (watched) dynamic config.
    """
    auth_address = ingress.auth_url(service_port)
    build_log = state.log("build-traefik")
    with step(reporter, "traefik binary", build_log) as note:
        binary, fresh = ingress_build.ensure(image_pins.load().traefik, build_log)
        note.text = "built" if fresh else "cached"
    log = state.log(ingress.COMPONENT)
    with step(reporter, "ingress (traefik)", log) as note:
        ingress.ensure_ingress_class(kubeconfig, log)
        running = procs.running(state.pid(ingress.COMPONENT))
        ingress.write_config(state, port, auth_address=auth_address)
        if running is not None and ingress.healthy(port) and ingress_access.valid(state):
            note.text = f"reused, {ingress.address(port)}"
            return
        if running is not None:
            procs.stop_pid_file(state.pid(ingress.COMPONENT))
        identity = ingress_access.ensure(kubeconfig, state)
        record = ingress.start(binary, state, port, identity, auth_address=auth_address)
        ingress.wait_ready(port, record, log)
        note.text = f"started, {ingress.address(port)}"


def stop(state: StateLayout) -> bool:
    return procs.stop_pid_file(state.pid(ingress.COMPONENT))


def exports(state: StateLayout, data: dict[str, Any]) -> dict[str, str]:
    """What ``stack env`` adds for the controller and the images (empty before an up)."""
    port = data.get("ports", {}).get("ingress")
    env: dict[str, str] = {}
    if port:
        env[INGRESS_VAR] = ingress.address(int(port))
        env[URL_TEMPLATE_VAR] = ingress.url_template(int(port))
    service_port = data.get("ports", {}).get(SERVICE_PORT)
    if service_port:
        env[HTTP_PORT_VAR] = str(service_port)
    if (state.root / ACCESS_KEYS_FILE).is_file():
        env[ACCESS_KEYS_VAR] = str(state.root / ACCESS_KEYS_FILE)
    env.update(session_placement.exports(state))
    return env


def health_rows(state: StateLayout, data: dict[str, Any]) -> list[tuple[str, bool, str]]:
    """``stack status`` rows for the controller."""
    port = data.get("ports", {}).get("ingress")
    if not port:
        return []
    if procs.running(state.pid(ingress.COMPONENT)) is None:
        return [("ingress", False, f"not running (log: {state.log(ingress.COMPONENT)})")]
    ok = ingress.healthy(int(port))
    return [("ingress", ok, f"{ingress.address(int(port))} " + ("ping ok" if ok else "no answer"))]

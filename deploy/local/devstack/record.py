"""``stack.json``: the description of the stack (ports and endpoints) and StackInfo.

Written by ``up`` (ports as soon as they are chosen, endpoints when the stack is
ready) and read by ``env``, ``status``, ``info`` and the test fixtures. Also builds the
environment a process needs to use the stack, under the service's own setting names.
"""

from __future__ import annotations

import json
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack import postgres

KAFKA_VAR = "DEVSESSIONS_KAFKA_BOOTSTRAP_SERVERS"
DATABASE_VAR = "DEVSESSIONS_DATABASE_URL"
KUBECONFIG_VAR = "KUBECONFIG"
HELM_VAR = "DEVSESSIONS_HELM_BINARY"
# Set by the images and Ingress steps of ``up`` (stack.json ``session_env``), when present.
EXTRA_VARS = (
    "DEVSESSIONS_INGRESS_ADDRESS",
    "DEVSESSIONS_PUBLIC_URL_TEMPLATE",
    "DEVSESSIONS_CHART_VALUES_FILE",
    "DEVSESSIONS_REAL_NODE_VALUES_FILE",
    "DEVSESSIONS_HTTP_PORT",  # where the Ingress's forward-auth asks the service
    "DEVSESSIONS_ACCESS_KEYS_FILE",  # the stack's session access signing key
)


@dataclass(frozen=True)
class StackInfo:
    """How to reach a stack: endpoints, kubeconfig, helm, and the env that says so."""

    kafka_bootstrap_servers: str
    database_url: str
    kubeconfig: Path
    helm_binary: Path
    env: dict[str, str] = field(default_factory=dict)

    def subprocess_env(self) -> dict[str, str]:
        """The current environment with the stack's exports applied."""
        return {**os.environ, **self.env}


def make_info(kafka: str, database_url: str, kubeconfig: Path, helm: Path) -> StackInfo:
    path = os.environ.get("PATH", "")
    env = {
        KAFKA_VAR: kafka,
        DATABASE_VAR: database_url,
        KUBECONFIG_VAR: str(kubeconfig),
        HELM_VAR: str(helm),
        "PATH": f"{helm.parent}{os.pathsep}{path}" if path else str(helm.parent),
    }
    return StackInfo(kafka, database_url, kubeconfig, helm, env)


def exports(info: StackInfo) -> str:
    """Shell lines for ``eval "$(devsessions stack env)"``."""
    lines = [
        f"export {name}={shlex.quote(info.env[name])}"
        for name in (KAFKA_VAR, DATABASE_VAR, KUBECONFIG_VAR, HELM_VAR)
    ]
    lines += [
        f"export {k}={shlex.quote(v)}" for k, v in sorted(info.env.items()) if k in EXTRA_VARS
    ]
    lines.append(f'export PATH={shlex.quote(str(info.helm_binary.parent))}:"$PATH"')
    return "\n".join(lines) + "\n"


def load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def save(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically (temp file + rename)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def info_from(data: dict[str, Any]) -> StackInfo | None:
    """The StackInfo a ``stack.json`` describes, if it got as far as endpoints."""
    try:
        ports = data["ports"]
        info = make_info(
            f"127.0.0.1:{ports['kafka']}",
            postgres.url(int(ports["postgres"])),
            Path(data["kubeconfig"]),
            Path(data["helm_binary"]),
        )
    except (KeyError, TypeError, ValueError):
        return None
    extra = data.get("session_env") or {}
    info.env.update({k: str(v) for k, v in extra.items() if k in EXTRA_VARS})
    return info

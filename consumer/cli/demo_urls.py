"""The demo's closing words: the new session's URLs as a person on this machine opens them.

Called by :mod:`consumer.cli.demo` once ``SessionReady`` came back. The URLs in the event
route through the local stack's Ingress controller (``DEVSESSIONS_INGRESS_ADDRESS``):
their host, ``<uuid>.devsessions.localhost``, resolves to the loopback address in browsers
and curl. The stack's controller lets a request through only if the service says so
(forward-auth, docs/security.md): the event carries no credential, so this asks the
service's API for the owner's link (``POST .../access``), prints it with a curl line,
shows that the bare URL is refused, then asks for ``/vscode`` with the link until VS
Code's workbench answers (the pod is Ready when SessionReady is published, so this is
quick) and says so, or says why it cannot (no controller, or a session on fake nodes,
where nothing serves the URLs).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from typing import Any

from rich.console import Console

INGRESS_VAR = "DEVSESSIONS_INGRESS_ADDRESS"
ENDPOINTS = ("preview", "chat", "vscode")


def curl_line(url: str) -> str:
    """Follows the link's redirect, which sets the access cookie, as a browser does."""
    return f"curl -sSL -b '' '{url}'"


def owner_link(api_base: str, project: str, user_id: int) -> dict[str, Any] | None:
    """The session's URLs with a short-lived access token, from the service's API."""
    request = urllib.request.Request(
        f"{api_base}/api/v1/sessions/project/{project}/access",
        data=json.dumps({"user_id": user_id}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return dict(json.loads(reply.read()))
    except (OSError, urllib.error.HTTPError, ValueError):
        return None


def wait_for_vscode(url: str, ingress_address: str, timeout: float, access: str) -> float | None:
    """Seconds until ``url`` served VS Code through the controller, or None at timeout."""
    from devstack import ingress

    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if ingress.serves_vscode(url, ingress_address, access=access):
            return time.monotonic() - begin
        time.sleep(0.5)
    return None


def anonymous_status(url: str, ingress_address: str) -> int:
    """What the controller answers a request without credentials (0: no answer)."""
    from devstack import ingress

    try:
        return ingress.fetch(url, ingress_address)[0]
    except OSError:
        return 0


def show(
    console: Console,
    ready: dict[str, Any],
    *,
    real_node: bool,
    api_base: str,
    user_id: int,
    timeout: float = 60,
) -> bool:
    """Print the URLs and whether ``/vscode`` answers with VS Code; True when it does."""
    address = os.environ.get(INGRESS_VAR, "")
    console.rule("Open the session")
    for name in ENDPOINTS:
        console.print(f"{name:8} {ready[f'{name}_url']}", soft_wrap=True)
    vscode = ready["vscode_url"].rstrip("/") + "/"
    link = owner_link(api_base, ready["project_uuid"], user_id)
    token = link["token"] if link else ""
    if link:
        console.print(
            f"\nThe owner's link (user {user_id}, valid until {link['expires_at']}):\n"
            f"{link['vscode_url']}",
            soft_wrap=True,
        )
        console.print(f"{curl_line(link['vscode_url'])}", soft_wrap=True)
    else:
        console.print(f"\n[yellow]the API minted no access link: {curl_line(vscode)}")
    if not address:
        console.print("[yellow]no Ingress controller in this stack: the URLs route nowhere here")
        return False
    console.print(f"(through the Ingress controller at {address})")
    if not real_node:
        console.print(
            "[yellow]this session runs on a fake (kwok) node: nothing serves its URLs. "
            "Run the demo on a stack that holds the real node (`devsessions stack status`)."
        )
        return False
    refused = anonymous_status(vscode, address)
    if refused in (401, 403):
        console.print(f"[green]✓ without the link, /vscode is refused ({refused})")
    else:
        console.print(f"[red]without the link, /vscode answered {refused}: it should refuse")
    waited = wait_for_vscode(vscode, address, timeout, token)
    if waited is None:
        console.print(f"[red]/vscode did not answer with VS Code within {timeout:.0f}s")
        return False
    console.print(f"[green]✓ /vscode answers with VS Code (after {waited:.1f}s more)")
    return True

"""The demo's closing words: the new session's URLs as a person on this machine opens them.

Called by :mod:`consumer.cli.demo` once ``SessionReady`` came back. The URLs in the event
route through the local stack's Ingress controller (``DEVSESSIONS_INGRESS_ADDRESS``):
their host, ``<uuid>.devsessions.localhost``, resolves to the loopback address in browsers
and curl. This prints them with a curl line, then asks the controller for ``/vscode`` until
VS Code's workbench answers (the pod is Ready when SessionReady is published, so this is
quick) and says so, or says why it cannot (no controller, or a session on fake nodes,
where nothing serves the URLs).
"""

from __future__ import annotations

import os
import time
from typing import Any

from rich.console import Console

INGRESS_VAR = "DEVSESSIONS_INGRESS_ADDRESS"
ENDPOINTS = ("preview", "chat", "vscode")


def curl_line(url: str) -> str:
    return f"curl -sS {url}"


def wait_for_vscode(url: str, ingress_address: str, timeout: float) -> float | None:
    """Seconds until ``url`` served VS Code through the controller, or None at timeout."""
    from devstack import ingress

    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if ingress.serves_vscode(url, ingress_address):
            return time.monotonic() - begin
        time.sleep(0.5)
    return None


def show(console: Console, ready: dict[str, Any], *, real_node: bool, timeout: float = 60) -> bool:
    """Print the URLs and whether ``/vscode`` answers with VS Code; True when it does."""
    address = os.environ.get(INGRESS_VAR, "")
    console.rule("Open the session")
    for name in ENDPOINTS:
        console.print(f"{name:8} {ready[f'{name}_url']}", soft_wrap=True)
    vscode = ready["vscode_url"].rstrip("/") + "/"
    console.print(f"\n{curl_line(vscode)}", soft_wrap=True)
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
    waited = wait_for_vscode(vscode, address, timeout)
    if waited is None:
        console.print(f"[red]/vscode did not answer with VS Code within {timeout:.0f}s")
        return False
    console.print(f"[green]✓ /vscode answers with VS Code (after {waited:.1f}s more)")
    return True

"""``devsessions sessions create|delete|wait``: the session API from the command line.

Talks to a running service over HTTP (``--url``, default ``http://127.0.0.1:<port>``
from the settings), so what it does goes through the event log like any other client.
A token is read from ``--token-file`` or ``DEVSESSIONS_API_TOKEN``. ``wait`` holds
server-side (``?wait=``) in rounds, printing each status change, and exits 0 when
running, 1 when failed or gone, 2 on timeout.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import typer

app = typer.Typer()

URL_HELP = "Service base URL (default: http://127.0.0.1:$DEVSESSIONS_HTTP_PORT)."
TOKEN_HELP = "File holding a bearer token (default: $DEVSESSIONS_API_TOKEN)."
JSON_HELP = "Print the session document as JSON."


def _base(url: str | None) -> str:
    if url:
        return url.rstrip("/")
    from consumer.settings import Settings

    return f"http://127.0.0.1:{Settings().http_port}"


def _call(
    method: str, url: str, token_file: Path | None, body: Any = None, timeout: float = 10
) -> tuple[int, dict[str, Any]]:
    import urllib.error
    import urllib.request

    headers = {"Accept": "application/json"}
    token = (
        token_file.read_text().strip() if token_file else os.environ.get("DEVSESSIONS_API_TOKEN")
    )
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except (urllib.error.URLError, OSError) as error:
        typer.echo(f"error: cannot reach the service at {url}: {error}", err=True)
        raise typer.Exit(1) from None


def _show(code: int, doc: dict[str, Any], as_json: bool) -> None:
    if code >= 400:
        typer.echo(f"error: {code} {doc.get('code', '')}: {doc.get('message', doc)}", err=True)
        raise typer.Exit(1)
    if as_json:
        typer.echo(json.dumps(doc, indent=2))
    else:
        typer.echo(f"{doc.get('project_uuid')} {doc.get('status')} (HTTP {code})")


@app.command()
def create(  # noqa: PLR0917 (typer passes options by name)
    project_uuid: str,
    user_id: int = typer.Option(..., "--user-id"),
    project_id: int = typer.Option(..., "--project-id"),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help=TOKEN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Ask for a project's session (ProjectCreated through the API)."""
    body = {"user_id": user_id, "project_id": project_id, "project_uuid": project_uuid}
    code, doc = _call("POST", f"{_base(url)}/api/v1/sessions", token_file, body)
    _show(code, doc, as_json)


@app.command()
def delete(
    session: str = typer.Argument(..., help="Project UUID or the session's numeric id."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help=TOKEN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Delete a session (ProjectDeleted through the API)."""
    code, doc = _call("DELETE", f"{_base(url)}/api/v1/sessions/{session}", token_file)
    _show(code, doc, as_json)


@app.command()
def wait(
    project_uuid: str,
    timeout: float = typer.Option(300.0, "--timeout", min=1, help="Give up after this long."),
    url: str | None = typer.Option(None, "--url", help=URL_HELP),
    token_file: Path | None = typer.Option(None, "--token-file", help=TOKEN_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Wait until a session is running (exit 0), failed (1) or the timeout passes (2)."""
    deadline = time.monotonic() + timeout
    last = None
    doc: dict[str, Any] = {}
    while (left := deadline - time.monotonic()) > 0:
        hold = max(1, min(30, int(left)))
        target = f"{_base(url)}/api/v1/sessions/project/{project_uuid}?wait={hold}"
        code, doc = _call("GET", target, token_file, timeout=hold + 10)
        if code >= 400:
            _show(code, doc, as_json)
        status = doc.get("status")
        if status != last:
            print(f"{time.strftime('%H:%M:%S')} {project_uuid} {status}", file=sys.stderr)
            last = status
        if status in ("running", "failed"):
            _show(code, doc, as_json)
            if status == "failed":
                typer.echo(f"failed: {doc.get('last_error')}", err=True)
                raise typer.Exit(1)
            return
    typer.echo(f"timed out after {timeout:g}s; last status {last}", err=True)
    raise typer.Exit(2)

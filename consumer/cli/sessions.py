"""``devsessions sessions show|list|retry``: where each project stands."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import typer

app = typer.Typer(no_args_is_help=True)


async def _with_database(fn: Any) -> Any:
    from consumer import bootstrap
    from consumer import settings as settings_mod

    async with bootstrap.open_database(settings_mod.load()) as uow:
        return await fn(uow)


async def _with_queries(fn: Any) -> Any:
    from consumer.service.queries import SessionQueries

    return await _with_database(lambda uow: fn(SessionQueries(uow)))


@app.command()
def show(
    project_uuid: str,
    as_json: bool = typer.Option(False, "--json", help="Print the session as JSON."),
) -> None:
    """Print one project's session (the design's field names)."""
    from consumer.views import session_view

    session = asyncio.run(_with_queries(lambda q: q.get(project_uuid)))
    if session is None:
        typer.echo(f"no session for project {project_uuid}", err=True)
        raise typer.Exit(1)
    view = session_view(session)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
        return
    for key, value in view.items():
        typer.echo(f"{key:22} {value}")


@app.command("list")
def list_(limit: int = typer.Option(100, help="At most this many sessions.")) -> None:
    """List sessions with their status."""
    from rich.console import Console
    from rich.table import Table

    sessions = asyncio.run(_with_queries(lambda q: q.list(limit=limit)))
    table = Table("project_uuid", "status", "desired", "ip_address", "attempts", "updated_at")
    for s in sessions:
        table.add_row(
            s.project_uuid,
            s.status.value,
            s.desired.value,
            s.endpoints.ip_address if s.endpoints else "",
            str(s.attempts),
            s.updated_at.isoformat(timespec="seconds"),
        )
    Console().print(table)


@app.command()
def retry(project_uuid: str) -> None:
    """Revive a failed session: the running service picks it up on its next resync."""
    from consumer.bootstrap import SystemClock, owner_id
    from consumer.service import admin

    async def go(uow: Any) -> str:
        return await admin.retry_failed(
            uow, project_uuid, owner=f"cli:{owner_id()}", now=SystemClock().now()
        )

    typer.echo(asyncio.run(_with_database(go)))

"""``devsessions dlq list|requeue``: dead-lettered records, and sending them back."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from consumer.service.dead_letters import DeadLetter
    from consumer.settings import Settings

app = typer.Typer(no_args_is_help=True)


async def _letters() -> tuple[Settings, list[DeadLetter]]:
    from consumer import bootstrap
    from consumer import settings as settings_mod
    from consumer.service import dead_letters

    settings = settings_mod.load()
    return settings, await dead_letters.read(bootstrap.dead_letter_log(settings))


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="One JSON object a line.")) -> None:
    """Every dead-lettered record: position, key, code, reason, where it came from."""
    _, letters = asyncio.run(_letters())
    for d in letters:
        row = {
            "position": d.position,
            "key": d.key,
            "code": d.code,
            "reason": d.reason,
            "source": d.source,
        }
        if as_json:
            typer.echo(json.dumps(row))
        else:
            typer.echo(f"{d.position:>8}  {d.code:<20} {d.key:<36}  {d.reason[:120]}")
    if not as_json:
        typer.echo(f"{len(letters)} dead-lettered record(s)", err=True)


@app.command()
def requeue(
    positions: list[str] | None = typer.Argument(
        None, help="partition:offset in the dead-letter topic"
    ),
    code: str | None = typer.Option(None, "--code", help="Only letters of this code."),
    all_: bool = typer.Option(False, "--all", help="Every letter (or every one of --code)."),
) -> None:
    """Send chosen letters back to the input topic, as they first arrived."""
    from consumer import bootstrap
    from consumer.service import dead_letters

    if not positions and not all_ and code is None:
        typer.echo("name letters by partition:offset, or pass --all or --code", err=True)
        raise typer.Exit(2)

    async def go() -> int:
        settings, letters = await _letters()
        chosen = dead_letters.choose(letters, positions=set(positions or ()), code=code)
        async with bootstrap.publisher(settings) as publisher:
            return await dead_letters.requeue(chosen, publisher, settings.input_topic)

    typer.echo(f"requeued {asyncio.run(go())} record(s)")

"""``devsessions stack ...`` commands (placeholder until the stack lands)."""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True)


@app.command()
def status() -> None:
    """Report each component's health."""
    typer.echo("stack: not implemented yet")

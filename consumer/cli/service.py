"""``devsessions run`` and ``devsessions migrate``."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer()


@app.command()
def run() -> None:
    """Run the consumer, the reconcile workers and the outbox relay until SIGTERM."""
    from consumer import settings as settings_mod
    from consumer.entrypoints import app as service_app
    from consumer.observability import logging as logs

    settings = settings_mod.load()
    logs.configure(settings.log_level, json=settings.log_json)
    service_app.main(settings)


@app.command()
def migrate(
    revision: str = typer.Argument("head", help="Alembic revision to upgrade to."),
) -> None:
    """Apply database migrations (the service also migrates on start)."""
    from consumer import bootstrap
    from consumer import settings as settings_mod

    settings = settings_mod.load()
    asyncio.run(bootstrap.migrate(settings, revision))
    typer.echo(f"database migrated to {revision}")

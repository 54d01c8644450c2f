"""Root of the ``devsessions`` command: mounts one sub-command module per concern.

Sub-apps are imported here so ``devsessions --help`` lists them; each keeps its heavy
imports inside its commands so that the CLI starts fast.
"""

from __future__ import annotations

import typer
from devstack import cli as stack_cli

from consumer.cli import (
    bench,
    demo,
    dlq,
    publish,
    reconcile,
    replay,
    service,
    session_api,
    sessions,
)

app = typer.Typer(
    name="devsessions",
    help="Always-on dev sessions: provisioner service and its local stack.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
app.add_typer(
    stack_cli.app, name="stack", help="Local stack: Kafka, PostgreSQL, Kubernetes+kwok, helm."
)
app.registered_commands += service.app.registered_commands
app.registered_commands += replay.app.registered_commands
app.registered_commands += reconcile.app.registered_commands
app.registered_commands += demo.app.registered_commands
sessions.app.registered_commands += session_api.app.registered_commands
app.add_typer(sessions.app, name="sessions", help="Inspect, retry, create, delete, wait.")
app.add_typer(publish.app, name="publish", help="Publish a well-formed project event.")
app.add_typer(bench.app, name="bench", help="End-to-end benchmarks against baselines.")
app.add_typer(dlq.app, name="dlq", help="List dead-lettered records; send them back.")


def main() -> None:
    """Console entry: known operational failures print one line and exit 1, no traceback."""
    from sqlalchemy.exc import DBAPIError, ProgrammingError

    from consumer.ports import DatabaseUnavailable

    try:
        app()
    except DatabaseUnavailable as exc:
        typer.echo(f"error: database unavailable: {exc.__cause__ or exc}", err=True)
        raise SystemExit(1) from None
    except ProgrammingError as exc:
        hint = " (is the schema current? run `devsessions migrate`)"
        typer.echo(f"error: database: {exc.orig}{hint}", err=True)
        raise SystemExit(1) from None
    except (DBAPIError, OSError) as exc:
        typer.echo(f"error: {type(exc).__name__}: {getattr(exc, 'orig', None) or exc}", err=True)
        raise SystemExit(1) from None

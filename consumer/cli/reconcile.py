"""``devsessions reconcile``: the orphan sweep by hand, or only its plan (``--dry-run``).

The same sweep the running service makes every ``ORPHAN_SWEEP_INTERVAL_SECONDS``, with
the same caps unless told otherwise for this one run (``--max-removals``,
``--max-share``); ``--project`` limits the plan to some namespaces (the share still
counts every namespace of ours).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from consumer.domain.orphans import Plan
    from consumer.service.orphans import SweepReport

app = typer.Typer()


@app.command()
def reconcile(
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan; change nothing."),
    projects: list[str] | None = typer.Option(
        None, "--project", help="Only these namespaces (project UUIDs); repeatable."
    ),
    max_removals: int | None = typer.Option(
        None, min=0, help="Removals allowed in this sweep (default: the setting)."
    ),
    max_share: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Share of our namespaces above which nothing is removed."
    ),
) -> None:
    """Find namespaces of ours with no live session; remove the provable orphans."""
    from rich.console import Console

    from consumer import bootstrap
    from consumer import settings as settings_mod
    from consumer.domain.orphans import Limits
    from consumer.observability import logging as logs

    settings = settings_mod.load()
    logs.configure("WARNING", json=settings.log_json)
    limits = Limits(
        max_removals=(
            settings.orphan_max_removals_per_sweep if max_removals is None else max_removals
        ),
        max_share=settings.orphan_max_share if max_share is None else max_share,
    )
    scope = projects or None

    async def go() -> SweepReport | None:
        from consumer.service.orphans import SweepReport

        async with bootstrap.open_orphan_sweep(settings) as sweep:
            if dry_run:
                return SweepReport(await sweep.plan(scope=scope, limits=limits))
            return await sweep.sweep(scope=scope, limits=limits)

    from consumer.domain.errors import ActionError

    try:
        report = asyncio.run(go())
    except (ActionError, ConnectionError, TimeoutError) as exc:  # cluster or Kafka away
        typer.echo(f"error: {type(exc).__name__}: {exc}", err=True)
        raise typer.Exit(1) from None
    console = Console(width=200)
    if report is None:
        console.print("[red]another orphan sweep is running; nothing done[/red]")
        raise typer.Exit(1)
    _print(console, report, dry_run=dry_run)
    failed = [r for r in report.removals if r.outcome.value == "failed"]
    if not dry_run and (report.plan.stopped or failed):
        raise typer.Exit(1)


def _print(console: object, report: SweepReport, *, dry_run: bool) -> None:
    from rich.console import Console
    from rich.table import Table

    assert isinstance(console, Console)
    plan: Plan = report.plan
    outcomes = {r.entry.namespace: r for r in report.removals}
    table = Table(title="orphan sweep plan" if dry_run else "orphan sweep")
    for column in ("namespace", "release (if any)", "verdict", "reason"):
        table.add_column(column)
    if not dry_run:
        table.add_column("outcome")
    for e in plan.entries:
        row = [e.namespace, e.release or "-", e.verdict.value, e.reason.value]
        if not dry_run:
            done = outcomes.get(e.namespace)
            row.append(
                "-" if done is None else " ".join(filter(None, (done.outcome.value, done.detail)))
            )
        table.add_row(*row)
    console.print(table)
    console.print(
        f"namespaces of ours: {plan.managed}; orphans: {plan.orphans} ({plan.share:.0%});"
        f" consumer caught up: {'yes' if plan.caught_up else 'no'};"
        f" caps: {plan.limits.max_removals} per sweep, share {plan.limits.max_share:.0%}"
    )
    if plan.stopped:
        console.print(f"[red]sweep stopped:[/red] {plan.stopped}")
    elif not dry_run:
        console.print(f"removed: {report.removed}")

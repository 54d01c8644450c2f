"""``devsessions replay``: re-read the input topic from the start and converge."""

from __future__ import annotations

import asyncio

import typer

app = typer.Typer()


@app.command()
def replay(
    timeout: float = typer.Option(900.0, help="Seconds to wait for convergence."),
) -> None:
    """Rebuild sessions from the input log and converge the cluster to it."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from consumer import bootstrap
    from consumer import settings as settings_mod
    from consumer.observability import logging as logs
    from consumer.service import announced as announced_mod
    from consumer.service import replay as replay_mod

    settings = settings_mod.load()
    logs.configure("WARNING", json=settings.log_json)
    console = Console()

    async def go() -> replay_mod.ReplayReport:
        service = bootstrap.build(settings)
        await bootstrap.migrate(settings)
        await service.publisher.start()
        columns = (
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as bar:
            tasks = {
                "announced": bar.add_task("read output topic", total=None),
                "read": bar.add_task("read input topic", total=None),
                "reconcile": bar.add_task("reconcile sessions", total=None),
            }
            progress = replay_mod.Progress(
                total=lambda phase, n: bar.update(tasks[phase], total=n),
                advance=lambda phase, n: bar.advance(tasks[phase], n),
            )
            log = bootstrap.input_log(settings, lambda n: progress.total("read", n))

            async def announced() -> int:
                partitions = await bootstrap.output_partitions(settings)  # for the tail and log
                tail = await bootstrap.output_tail(settings, partitions)
                source = settings.event_source
                if await announced_mod.up_to_date(tail, service.uow, source=source):
                    progress.total("announced", 0)  # nothing lost: the topic is not read
                    return 0
                return await announced_mod.adopt_announced(
                    bootstrap.output_log(
                        settings, lambda n: progress.total("announced", n), partitions
                    ),
                    service.uow,
                    source=source,
                    clock=bootstrap.SystemClock(),
                    advance=lambda n: progress.advance("announced", n),
                )

            try:
                return await replay_mod.replay(
                    log,
                    intake=service.intake,
                    sessions=service.sessions,
                    workers=service.workers,
                    resync=service.resync,
                    relay=service.relay,
                    timeout=timeout,
                    progress=progress,
                    announced=announced,
                )
            finally:
                await service.stop()

    report = asyncio.run(go())
    outcomes = ", ".join(f"{k}={v}" for k, v in sorted(report.outcomes.items())) or "none"
    console.print(f"records read: {report.records} ({outcomes})")
    console.print(f"events already announced on the output topic: {report.announced}")
    console.print(f"sessions reconciled: {report.reconciled}; events published: {report.published}")
    if report.unconverged:
        console.print(
            f"[red]not converged within {timeout:.0f}s:[/red] {', '.join(report.unconverged)}"
        )
        raise typer.Exit(1)
    console.print("[green]converged[/green]")

"""``devsessions stack up|down|status|env``: the local stack from the command line.

Thin: the work is in :mod:`devstack.api`; this module renders progress (one line per
step with a spinner and elapsed time), the summary table, and failures (step name and
log file, non-zero exit).
"""

from __future__ import annotations

import time
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TaskID, TextColumn
from rich.table import Table
from rich.text import Text

app = typer.Typer(
    no_args_is_help=True, help="Local stack: Kafka, PostgreSQL, Kubernetes+kwok, helm."
)


PLAIN_PROGRESS_SECONDS = 15.0


class _Elapsed(ProgressColumn):
    def render(self, task: Task) -> Text:
        seconds = task.finished_time if task.finished_time is not None else task.elapsed
        return Text(f"{seconds or 0:6.1f}s", style="cyan")


class _Mark(ProgressColumn):
    def __init__(self) -> None:
        super().__init__()
        self._spinner = SpinnerColumn()

    def render(self, task: Task) -> Text:
        if task.fields.get("failed"):
            return Text("✗", style="bold red")
        if task.finished:
            return Text("✓", style="green")
        rendered = self._spinner.render(task)
        return rendered if isinstance(rendered, Text) else Text("…")


class RichReporter:
    """Renders steps live on a terminal, as plain lines elsewhere (CI, pipes)."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live = console.is_terminal
        self.bar = Progress(
            _Mark(),
            TextColumn("{task.description:<22}"),
            _Elapsed(),
            TextColumn("[dim]{task.fields[note]}"),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}
        self.printed: dict[str, float] = {}

    def __enter__(self) -> RichReporter:
        if self.live:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live:
            self.bar.stop()

    def started(self, step: str) -> None:
        if self.live:
            self.tasks[step] = self.bar.add_task(step, total=1, note="", failed=False)
        else:
            self.console.print(f"… {step}")

    def progress(self, step: str, seconds: float, text: str) -> None:
        """Live: the step's note shows what it is doing; plain: a line every 15 s."""
        text = text or "no output yet (another stack may be building the same artefact)"
        text = text if len(text) <= 70 else "…" + text[-69:]
        if self.live:
            self.bar.update(self.tasks[step], note=text)
        elif seconds - self.printed.get(step, 0.0) >= PLAIN_PROGRESS_SECONDS:
            self.printed[step] = seconds
            self.console.print(f"… {step:<22} {seconds:6.1f}s  {text}")

    def finished(self, step: str, seconds: float, note: str) -> None:
        if self.live:
            self.bar.update(self.tasks[step], completed=1, note=note)
        else:
            self.console.print(f"✓ {step:<22} {seconds:6.1f}s  {note}")

    def failed(self, step: str, seconds: float, log: Path) -> None:
        if self.live:
            task = self.tasks[step]
            self.bar.update(task, failed=True, note=f"failed (log: {log})")
            self.bar.stop_task(task)
        else:
            self.console.print(f"✗ {step:<22} {seconds:6.1f}s  failed (log: {log})")


@app.command()
def up() -> None:
    """Build what is missing, start what is stopped, wait until everything is healthy."""
    from devstack import api  # noqa: PLC0415 (keeps the root CLI fast)
    from devstack.steps import StepFailed  # noqa: PLC0415 (keeps the root CLI fast)

    console = Console(stderr=True)
    begin = time.monotonic()
    try:
        with RichReporter(console) as reporter:
            info = api.up(reporter)
    except StepFailed as failure:
        console.print(f"[bold red]stack up failed at step '{failure.step}':[/] {failure.cause}")
        console.print(f"log file: {failure.log}")
        raise typer.Exit(1) from failure
    table = Table(title=f"local stack up in {time.monotonic() - begin:.1f}s")
    table.add_column("what")
    table.add_column("where")
    table.add_row("kafka", info.kafka_bootstrap_servers)
    table.add_row("postgresql", info.database_url)
    table.add_row("kubeconfig", str(info.kubeconfig))
    table.add_row("helm", str(info.helm_binary))
    if "DEVSESSIONS_INGRESS_ADDRESS" in info.env:
        table.add_row("ingress", info.env["DEVSESSIONS_INGRESS_ADDRESS"])
    real = api.real_node()
    table.add_row(
        "real node",
        f"{real['name']} at {real['ip']}" if real.get("state") == "running" else real["state"],
    )
    console.print(table)
    console.print('use it: eval "$(devsessions stack env)"')


@app.command()
def down() -> None:
    """Stop exactly the processes the stack started (data and caches are kept)."""
    from devstack import api  # noqa: PLC0415 (keeps the root CLI fast)

    stopped = api.down()
    typer.echo("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))


@app.command()
def stop(component: str = typer.Argument(..., help="kafka or postgresql")) -> None:
    """Stop one component (data and ports kept), e.g. to try an outage; `start` undoes it."""
    from devstack import api  # noqa: PLC0415 (keeps the root CLI fast)

    try:
        was = api.stop_component(component)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"stopped: {component}" if was else f"{component} was not running")


@app.command()
def start(component: str = typer.Argument(..., help="kafka or postgresql")) -> None:
    """Start one stopped component again on its recorded port and wait until it answers."""
    from devstack import api  # noqa: PLC0415 (keeps the root CLI fast)

    try:
        api.start_component(component)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    typer.echo(f"running: {component}")


@app.command()
def status() -> None:
    """Report each component's health; exit 1 when any is unhealthy."""
    from devstack import api  # noqa: PLC0415 (keeps the root CLI fast)

    rows = api.status()
    table = Table()
    for column in ("component", "health", "detail"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.name, "[green]ok" if row.healthy else "[red]down", row.detail)
    Console().print(table)
    if not all(row.healthy for row in rows):
        raise typer.Exit(1)


@app.command()
def env() -> None:
    """Print shell exports for the stack: eval "$(devsessions stack env)"."""
    from devstack import api, paths  # noqa: PLC0415 (keeps the root CLI fast)
    from devstack import record as rec  # noqa: PLC0415 (keeps the root CLI fast)

    described = rec.info_from(rec.load(paths.layout().stack_json))
    if described is None:
        typer.echo("no local stack yet: run `devsessions stack up`", err=True)
        raise typer.Exit(1)
    if api.info() is None:
        typer.echo(
            "warning: the local stack is not fully running (`devsessions stack up`)", err=True
        )
    typer.echo(rec.exports(described), nl=False)

"""``devsessions bench``: end-to-end benchmarks on the local (or a named) stack.

Each subcommand runs one scenario of ``consumer.bench`` on an isolated topology, prints a
table of figures with their same-run baseline, and writes ``--json FILE`` (top-level
``rate`` and, where there is a baseline, ``ratio``) and, where a distribution matters,
``--plot FILE`` (PNG). The machine is assumed shared: read ratios, not absolute times.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from consumer.bench.topology import Topology

app = typer.Typer(no_args_is_help=True, help="End-to-end benchmarks against baselines.")

JSON = typer.Option(None, "--json", help="Write the figures as JSON to this file.")
PLOT = typer.Option(None, "--plot", help="Write a latency CDF (PNG) to this file.")
PROFILE = typer.Option(
    None, "--profile", help="Sample the service with py-spy into this file (collapsed stacks)."
)
WORKERS = typer.Option(8, "--workers", min=1, help="DEVSESSIONS_WORKER_CONCURRENCY.")


def _run(scenario: Callable[[Topology], Awaitable[Any]]) -> Any:
    from consumer.bench import topology
    from consumer.observability import logging as logs

    logs.configure("WARNING")

    async def go() -> Any:
        async with topology.isolated(topology.stack()) as topo:
            return await scenario(topo)

    return asyncio.run(go())


def _provision(
    phase: str,
    n: int,
    *,
    workers: int,
    json_file: Path | None,
    plot: Path | None,
    profile: Path | None = None,
    with_baseline: bool = True,
) -> None:
    from consumer.bench import burst, render, report

    result = _run(
        lambda topo: burst.run(
            topo, n, workers=workers, profile=profile, with_baseline=with_baseline
        )
    )
    other = "teardown" if phase == "burst" else "burst"
    typer.echo(render.burst(result, phase))
    typer.echo(f"\n(the same run, {other} phase)\n\n" + render.burst(result, other))
    ours = result.create if phase == "burst" else result.delete
    loop = result.loop_create if phase == "burst" else result.loop_delete
    series = {"devsessions": ours.latencies}
    if loop is not None:
        series["design's loop"] = loop.latencies
    what = "publish to SessionReady" if phase == "burst" else "publish to SessionDeleted"
    typer.echo(report.cdf_plot(plot, series, f"{phase} of {n} projects", f"{what} (s)"))
    report.write_json(json_file, result.document(phase) | {other: result.document(other)})


@app.command()
def burst(  # noqa: PLR0917 (typer passes options by name)
    n: int = typer.Option(200, "-n", min=1, help="Projects published at once."),
    workers: int = WORKERS,
    json_file: Path | None = JSON,
    plot: Path | None = PLOT,
    profile: Path | None = PROFILE,
    with_baseline: bool = typer.Option(
        True,
        "--baseline/--no-baseline",
        help="Also run the design's loop for N other projects (at N=1000 it takes long).",
    ),
) -> None:
    """N ProjectCreated at once vs the design's loop (namespace, helm install --wait, get svc)."""
    _provision(
        "burst",
        n,
        workers=workers,
        json_file=json_file,
        plot=plot,
        profile=profile,
        with_baseline=with_baseline,
    )


@app.command()
def teardown(
    n: int = typer.Option(200, "-n", min=1, help="Projects deleted at once."),
    workers: int = WORKERS,
    json_file: Path | None = JSON,
    plot: Path | None = PLOT,
) -> None:
    """The same N deleted at once vs helm uninstall + namespace delete in a loop."""
    _provision("teardown", n, workers=workers, json_file=json_file, plot=plot)


@app.command()
def steady(
    rate: float = typer.Option(2.0, "--rate", min=0.01, help="ProjectCreated per second."),
    seconds: float = typer.Option(60.0, "--seconds", min=0.5, help="How long to publish."),
    workers: int = WORKERS,
    json_file: Path | None = JSON,
    plot: Path | None = PLOT,
) -> None:
    """Latency percentiles under a steady rate of ProjectCreated."""
    from consumer.bench import render, report
    from consumer.bench import steady as steady_mod

    result = _run(lambda topo: steady_mod.run(topo, rate, seconds, workers=workers))
    typer.echo(render.steady(result))
    label = f"steady {rate:g}/s for {seconds:g}s"
    typer.echo(report.cdf_plot(plot, {"devsessions": result.latencies}, label, "latency (s)"))
    report.write_json(json_file, result.document())


@app.command()
def replay(
    events: int = typer.Option(100_000, "--events", min=1, help="Applied events to replay."),
    json_file: Path | None = JSON,
) -> None:
    """`devsessions replay` of an applied log vs a bare aiokafka consumer; Helm calls."""
    from consumer.bench import logs, render, report

    document = _run(lambda topo: logs.replay(topo, events))
    typer.echo(render.logs(document))
    report.write_json(json_file, document)


@app.command()
def intake(
    events: int = typer.Option(20_000, "--events", min=2, help="ProjectCreated to apply."),
    json_file: Path | None = JSON,
    profile: Path | None = PROFILE,
) -> None:
    """Events/s applied by the real consumer (no Helm) vs one INSERT per batch."""
    from consumer.bench import logs, render, report

    document = _run(lambda topo: logs.intake(topo, events, profile))
    typer.echo(render.logs(document))
    report.write_json(json_file, document)


@app.command()
def sweep(
    n: int = typer.Option(30, "-n", min=1, help="Projects per burst."),
    limits: str = typer.Option("1,2,4,8,16", "--limits", help="Worker limits, comma-separated."),
    json_file: Path | None = JSON,
) -> None:
    """The burst at each worker limit; names the bottleneck from CPU use."""
    from consumer.bench import render, report
    from consumer.bench import sweep as sweep_mod

    chosen = [int(x) for x in limits.split(",") if x.strip()]
    cores = os.cpu_count() or 1
    document = _run(lambda topo: sweep_mod.run(topo, n, chosen, cores))
    typer.echo(render.sweep(document))
    report.write_json(json_file, document)


@app.command()
def helm(
    rounds: int = typer.Option(10, "--rounds", min=1, help="Fresh releases per variant."),
    json_file: Path | None = JSON,
) -> None:
    """CPU per Helm call: install with/without OpenAPI validation; the extra `status`."""
    from consumer.bench import levers, render, report

    document = _run(lambda topo: levers.run(topo, rounds))
    typer.echo(render.logs(document))
    report.write_json(json_file, document)

"""Output of a scenario: the printed table, the ``--json`` document and the CDF plot.

The JSON document always has a top-level ``rate`` (items per second) and, where the
scenario has a baseline, ``ratio``; the rest is the scenario's own detail. The plot is
drawn only when matplotlib is installed (the optional ``bench`` extra).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null instead."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def write_json(path: Path | None, document: Mapping[str, Any]) -> None:
    if path is not None:
        path.write_text(json.dumps(_clean(dict(document)), indent=2, sort_keys=True) + "\n")


def cdf_plot(
    path: Path | None, series: Mapping[str, Sequence[float]], title: str, xlabel: str
) -> str:
    """Draw each series' empirical CDF into ``path``; returns what happened, for the table."""
    if path is None:
        return "no plot asked for"
    try:
        import matplotlib  # noqa: PLC0415 (optional dependency)

        matplotlib.use("Agg")
        from matplotlib import pyplot  # noqa: PLC0415
    except ImportError:
        return "no plot: matplotlib not installed (pip install -e '.[bench]')"
    figure, axes = pyplot.subplots(figsize=(7, 4.2))
    for label, values in series.items():
        ordered = sorted(values)
        if not ordered:
            continue
        fractions = [0.0] + [(i + 1) / len(ordered) for i in range(len(ordered))]
        xs = [0.0, *ordered]
        axes.step(xs, fractions, where="post", label=f"{label} (n={len(ordered)})")
    axes.set_xlabel(xlabel)
    axes.set_ylabel("fraction of projects")
    axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    pyplot.close(figure)
    return f"plot written to {path}"

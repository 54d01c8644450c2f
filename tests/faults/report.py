"""One small table per fault scenario, printed with the test's output (``pytest -s``)."""

from __future__ import annotations

from collections.abc import Mapping


def print_table(scenario: str, figures: Mapping[str, object]) -> None:
    width = max(len(k) for k in figures)
    lines = [f"\n{scenario}", "-" * (width + 16)]
    lines += [f"{name:<{width}}  {value}" for name, value in figures.items()]
    print("\n".join(lines))

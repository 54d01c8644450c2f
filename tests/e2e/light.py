"""Session pods that ask the scheduler for almost nothing (the chart's LimitRange minimum),
for tests that only need them to become Available: the local stack's simulated nodes are
shared by every test run on the machine, and full-size requests (850m CPU a session)
fill them up."""

from __future__ import annotations

from pathlib import Path

import yaml

COMPONENTS = ("preview", "chat", "vscode")


def light_values(directory: Path) -> Path:
    """A chart values file (``DEVSESSIONS_CHART_VALUES_FILE``) with tiny requests."""
    path = directory / "light-values.yaml"
    tiny = {"resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}
    path.write_text(yaml.safe_dump({"containers": dict.fromkeys(COMPONENTS, tiny)}))
    return path

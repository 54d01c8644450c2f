"""Drive the pinned helm against helm/dev-session-template and read what it renders.

Shared by the rendering tests (no cluster) and the cluster tests: values are written to
a file and passed with ``-f`` exactly as the service does, subprocesses get argument
lists and timeouts, and Kubernetes quantities are parsed so tests can compare budgets.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[2] / "helm" / "dev-session-template"
PROJECT_UUID = "550e8400-e29b-41d4-a716-446655440000"
RELEASE = f"dev-session-{PROJECT_UUID}"
ENDPOINTS = ("preview", "chat", "vscode")

Manifest = dict[str, Any]

_SUFFIX = {
    "": Decimal(1),
    "m": Decimal("0.001"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")


def quantity(text: object) -> Decimal:
    """A Kubernetes quantity ("500m", "4Gi", "2") as a number of base units."""
    match = _QUANTITY.match(str(text))
    if match is None:
        raise ValueError(f"not a quantity: {text!r}")
    return Decimal(match.group(1)) * _SUFFIX[match.group(2) or ""]


def load_values_yaml() -> dict[str, Any]:
    loaded = yaml.safe_load((CHART / "values.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def helm(
    helm_bin: Path,
    args: Sequence[str],
    values_file: Path | None = None,
    timeout: float = 120,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run helm with an argument list; never raises on a non-zero exit."""
    argv = [str(helm_bin), *args]
    if values_file is not None:
        argv += ["-f", str(values_file)]
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )


def write_values(directory: Path, values: Mapping[str, Any], name: str = "values.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(dict(values), sort_keys=False))
    return path


def project_values(**extra: Any) -> dict[str, Any]:
    """The values the service always writes, plus ``extra`` top-level keys."""
    return {"project": {"uuid": PROJECT_UUID, "id": 456}, "user": {"id": 123}, **extra}


def template(
    helm_bin: Path, tmp_path: Path, values: Mapping[str, Any], namespace: str = PROJECT_UUID
) -> subprocess.CompletedProcess[str]:
    args = ["template", RELEASE, str(CHART), "--namespace", namespace]
    return helm(helm_bin, args, write_values(tmp_path, values))


def render(
    helm_bin: Path, tmp_path: Path, values: Mapping[str, Any], namespace: str = PROJECT_UUID
) -> list[Manifest]:
    done = template(helm_bin, tmp_path, values, namespace)
    assert done.returncode == 0, done.stderr
    return [doc for doc in yaml.safe_load_all(done.stdout) if doc]


def render_error(helm_bin: Path, tmp_path: Path, values: Mapping[str, Any]) -> str:
    done = template(helm_bin, tmp_path, values)
    assert done.returncode != 0, f"helm accepted {dict(values)}"
    return done.stderr


def by_kind(docs: list[Manifest], kind: str) -> list[Manifest]:
    return [doc for doc in docs if doc["kind"] == kind]


def one(docs: list[Manifest], kind: str, name: str | None = None) -> Manifest:
    found = [d for d in by_kind(docs, kind) if name is None or d["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name or ''}, got {len(found)}"
    return found[0]


def pod_spec(docs: list[Manifest]) -> Manifest:
    spec = one(docs, "Deployment")["spec"]["template"]["spec"]
    assert isinstance(spec, dict)
    return spec


def containers(docs: list[Manifest]) -> dict[str, Manifest]:
    return {c["name"]: c for c in pod_spec(docs)["containers"]}


def env_of(container: Manifest) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container.get("env", [])}

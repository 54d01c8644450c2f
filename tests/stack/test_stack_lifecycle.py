"""The stack's own contract: re-entrant ``up``, a usable ``stack env``, ``status``.

The first two need the local stack (they are skipped when the suite points at
external services through the environment); the exports test works with either.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from devstack import api, record
from devstack.record import StackInfo
from devstack.steps import NullReporter


def local_only() -> None:
    if api.from_env() is not None:
        pytest.skip("the suite uses external services given by the environment")


class Notes(NullReporter):
    def __init__(self) -> None:
        self.notes: dict[str, str] = {}

    def finished(self, step: str, seconds: float, note: str) -> None:
        self.notes[step] = note


def test_second_up_reuses_everything_within_a_minute(stack: StackInfo) -> None:
    local_only()
    notes = Notes()
    begin = time.monotonic()
    again = api.up(notes)
    elapsed = time.monotonic() - begin
    assert elapsed < 60, f"re-entrant up took {elapsed:.1f}s"
    assert again == stack
    build_steps = ("helm binary", "kubernetes binaries", "etcd binary", "kwok binaries")
    for build_step in (*build_steps, "traefik binary"):
        assert notes.notes[build_step] == "cached"
    # Images are skipped (with the reason) where no container engine can be installed.
    for image in ("base", "preview", "chat", "vscode"):
        assert notes.notes.get(f"image {image}", "cached").startswith("cached"), notes.notes
    for runtime_step in ("postgresql", "kafka", "kubernetes (kwok)", "ingress (traefik)"):
        assert notes.notes[runtime_step].startswith("reused"), notes.notes


def test_status_reports_every_component_healthy(stack: StackInfo) -> None:
    local_only()
    rows = api.status()
    names = {row.name for row in rows}
    for expected in ("postgres", "kafka", "kube-apiserver", "kube-controller-manager"):
        assert expected in names
    assert {"etcd", "kube-scheduler", "kwok-controller", "kubernetes api", "helm"} <= names
    assert "ingress" in names
    unhealthy = [row for row in rows if not row.healthy]
    assert unhealthy == []


def test_exports_drive_kubectl_and_helm_from_a_clean_shell(stack: StackInfo) -> None:
    script = record.exports(stack) + (
        'test "$(command -v helm)" = "$DEVSESSIONS_HELM_BINARY"\n'
        "kubectl get nodes -o name\n"
        "helm list -A -q >/dev/null\n"
        'echo "kubeconfig=$KUBECONFIG"\n'
    )
    clean = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.environ.get("HOME", "/")}
    done = subprocess.run(
        ["bash", "-euc", script], capture_output=True, text=True, env=clean, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert sum(line.startswith("node/") for line in lines) >= 3
    assert lines[-1] == f"kubeconfig={stack.kubeconfig}"
    assert Path(stack.kubeconfig).is_file()

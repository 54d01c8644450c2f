"""Commands that never reach the cluster do not import the Kubernetes client.

Importing it costs 0.15-0.4 s of a command's start (BENCHMARKS.md: most of a replay's
fixed cost is imports); ``LazyCluster`` imports it on its first probe instead.
"""

from __future__ import annotations

import subprocess
import sys


def _imported_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    return {line.split(".")[0] for line in out.splitlines()}


def test_the_composition_root_and_the_cli_do_not_import_the_kubernetes_client() -> None:
    imported = _imported_after("import consumer.bootstrap, consumer.cli.main, consumer.cli.replay")
    assert "consumer" in imported  # the statement ran
    assert "kubernetes" not in imported


def test_the_first_probe_imports_it() -> None:
    imported = _imported_after(
        "import asyncio; from consumer.adapters.kube_lazy import LazyCluster; "
        "asyncio.run(LazyCluster('/nonexistent/kubeconfig').reachable())"
    )
    assert "kubernetes" in imported

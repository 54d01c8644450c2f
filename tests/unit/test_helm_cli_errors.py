"""How the Helm CLI adapter reads Helm's failures (a stand-in ``helm`` script, no cluster).

Only Helm's own "release: not found" means the release is absent; any other message that
happens to contain "not found" is a failure to observe and must not lead to an install
over a release that may well exist.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from consumer.adapters.helm_cli import HelmCli
from consumer.domain.errors import TransientError
from consumer.domain.release import ReleaseState


def fake_helm(tmp_path: Path, stderr: str, code: int = 1) -> HelmCli:
    script = tmp_path / "helm"
    script.write_text(f"#!/bin/sh\ncat >&2 <<'EOF'\n{stderr}\nEOF\nexit {code}\n")
    script.chmod(0o755)
    return HelmCli(binary=str(script), chart=tmp_path, timeout_seconds=5)


async def test_release_not_found_is_absent(tmp_path: Path) -> None:
    info = await fake_helm(tmp_path, "Error: release: not found").status("r", "ns")
    assert info.state is ReleaseState.ABSENT


@pytest.mark.parametrize(
    "stderr",
    [
        'Error: kubernetes cluster unreachable: context "prod" not found',
        'Error: plugin "diff" not found',
        "Error: query: failed to query with labels: the server could not find the requested"
        " resource (get secrets): resource not found",
    ],
)
async def test_other_not_found_messages_are_failures(tmp_path: Path, stderr: str) -> None:
    with pytest.raises(TransientError):
        await fake_helm(tmp_path, stderr).status("r", "ns")

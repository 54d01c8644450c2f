"""What still refuses a bad release when Helm's client-side OpenAPI validation is off.

The service runs ``helm upgrade --install --disable-openapi-validation`` by default
(``DEVSESSIONS_HELM_OPENAPI_VALIDATION=false``; BENCHMARKS.md has the CPU it saves). Two
guards remain and are shown here on the real cluster: the chart's ``values.schema.json``
refuses bad values before anything is sent, and the API server refuses a manifest with an
unknown field (Helm applies with strict field validation either way).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from devstack.record import StackInfo

from consumer.adapters.helm_cli import HelmCli
from consumer.domain.errors import PermanentError
from consumer.settings import DEFAULT_CHART, Settings

BAD_MANIFEST = """\
apiVersion: v1
kind: ConfigMap
metadata:
  name: bad
data:
  a: b
bogusField: 1
"""


@pytest.fixture
def namespace(stack: StackInfo) -> Iterator[str]:
    name = str(uuid.uuid4())
    kubectl = ["kubectl", f"--kubeconfig={stack.kubeconfig}"]
    subprocess.run([*kubectl, "create", "namespace", name], check=True, capture_output=True)
    yield name
    subprocess.run(
        [*kubectl, "delete", "namespace", name, "--wait=false"], check=False, capture_output=True
    )


def _helm(stack: StackInfo, chart: Path, *, openapi_validation: bool = False) -> HelmCli:
    return HelmCli(
        binary=str(stack.helm_binary),
        chart=chart,
        timeout_seconds=60,
        kubeconfig=str(stack.kubeconfig),
        openapi_validation=openapi_validation,
    )


def test_client_side_openapi_validation_is_off_by_default() -> None:
    assert Settings().helm_openapi_validation is False


async def test_values_schema_still_refuses_bad_values(stack: StackInfo, namespace: str) -> None:
    helm = _helm(stack, DEFAULT_CHART)
    bad = {"project": {"uuid": "NOT-A-UUID", "id": 1}, "user": {"id": 1}}
    with pytest.raises(PermanentError, match="schema"):
        await helm.upgrade_install(f"dev-session-{namespace}", namespace, bad)


@pytest.mark.parametrize("openapi_validation", [False, True])
async def test_api_server_refuses_an_unknown_field_either_way(
    stack: StackInfo, namespace: str, tmp_path: Path, openapi_validation: bool
) -> None:
    """Same refusal, same message, with Helm's client-side step on or off: against an API
    server that validates fields itself, that step only checks that it does."""
    chart = tmp_path / "bad-chart"
    (chart / "templates").mkdir(parents=True)
    (chart / "Chart.yaml").write_text("apiVersion: v2\nname: bad\nversion: 0.1.0\n")
    (chart / "templates" / "bad.yaml").write_text(BAD_MANIFEST)
    helm = _helm(stack, chart, openapi_validation=openapi_validation)
    with pytest.raises(PermanentError, match="bogusField: field not declared in schema"):
        await helm.upgrade_install("bad", namespace, {})
    status = await helm.status("bad", namespace)
    assert status.raw_status != "deployed"

"""Chart values from a session: identity, ingress host, and the allow-listed overrides."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import jsonschema
import pytest

import events
from consumer.domain import endpoints, values
from consumer.domain.model import Cause, Desired, SessionState, Status

CHART = Path(__file__).resolve().parents[2] / "helm" / "dev-session-template"
P = "0b6f3a52-2c4e-4b8e-9a51-7f0e2d1c9a10"


def session(overrides: dict[str, object]) -> SessionState:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    return SessionState(
        project_uuid=P,
        project_id=4,
        user_id=9,
        namespace=P,
        release_name=f"dev-session-{P}",
        status=Status.PENDING,
        desired=Desired.PRESENT,
        generation=1,
        observed_generation=0,
        high_water=None,
        cause=Cause("e", "s"),
        overrides=overrides,
        created_at=now,
        updated_at=now,
        expires_at=now,
    )


def overrides(**kw: object) -> dict[str, object]:
    """Overrides as intake stores them: validated by the event model, defaults dropped."""
    return events.ChartOverrides.model_validate(kw).model_dump(exclude_defaults=True)


def test_identity_only_without_overrides() -> None:
    assert values.chart_values(session({}), ingress_host="") == {
        "project": {"uuid": P, "id": 4},
        "user": {"id": 9},
    }


def test_every_allowed_override_lands_where_the_chart_reads_it() -> None:
    got = values.chart_values(
        session(
            overrides(
                vscode_image="codercom/code-server:4.99.0",
                cpu_request="500m",
                memory_request="1Gi",
                env={"B": "2", "A": "1"},
            )
        ),
        ingress_host="x.example.com",
    )
    assert got["containers"]["vscode"]["image"] == "codercom/code-server:4.99.0"
    assert "image" not in got["containers"]["preview"]
    for name in ("preview", "chat", "vscode"):
        assert got["containers"][name]["resources"]["requests"] == {"cpu": "500m", "memory": "1Gi"}
    assert got["extraEnv"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    assert got["ingress"] == {"host": "x.example.com"}
    schema = json.loads((CHART / "overrides.schema.json").read_text())
    jsonschema.validate(got, schema)  # exactly what a per-project values file may hold


def test_ingress_host_from_template() -> None:
    assert endpoints.ingress_host("https://{project_uuid}.dev.example.com{path}", P) == (
        f"{P}.dev.example.com"
    )
    assert endpoints.ingress_host("http://{ip_address}{path}", P) == ""


def test_override_outside_the_allow_list_is_refused_at_decoding() -> None:
    with pytest.raises(ValueError, match="extra"):
        events.ChartOverrides.model_validate({"privileged": True})


def test_operator_values_lie_under_the_projects_own() -> None:
    base = {
        "containers": {"preview": {"image": "localhost/devsessions/preview:k", "args": []}},
        "ingress": {"className": "traefik", "annotations": {"a": "b"}},
    }
    over = {"containers": {"preview": {"image": "mine:1"}}, "ingress": {"host": "h.example"}}
    got = values.merged(base, over)
    assert got == {
        "containers": {"preview": {"image": "mine:1", "args": []}},
        "ingress": {"className": "traefik", "annotations": {"a": "b"}, "host": "h.example"},
    }
    assert base["containers"]["preview"]["image"] == "localhost/devsessions/preview:k"

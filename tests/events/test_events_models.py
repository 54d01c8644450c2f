"""Event models: strict types, bounded strings, the project UUID rule, overrides allow-list,
and the unknown-field policy (input ignores, overrides and output forbid)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from events import (
    ChartOverrides,
    ProjectCreated,
    ProjectDeleted,
    SessionDeleted,
    SessionFailed,
    SessionReady,
)
from events.fields import cpu_millicores, memory_bytes

GOOD_UUID = "0b5c1a2e-3f4d-4e5f-8a9b-0c1d2e3f4a5b"


def _errors(model: type[BaseModel], payload: dict[str, Any]) -> list[tuple[str, str]]:
    """(dotted location, message) of every error when validating ``payload`` as JSON."""
    with pytest.raises(ValidationError) as caught:
        model.model_validate_json(json.dumps(payload))
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in caught.value.errors()]


def _json(model: BaseModel) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(model.model_dump_json())
    return data


@pytest.mark.parametrize(
    "bad",
    [
        GOOD_UUID.upper(),
        "{" + GOOD_UUID + "}",
        "urn:uuid:" + GOOD_UUID,
        GOOD_UUID.replace("-", ""),
        GOOD_UUID[:-1] + "g",
        " " + GOOD_UUID[1:],
        GOOD_UUID[:8] + "_" + GOOD_UUID[9:],
        "",
    ],
)
def test_project_uuid_must_be_canonical_lowercase(bad: str) -> None:
    assert _errors(ProjectDeleted, {"project_uuid": bad, "deleted_at": "2026-01-01T00:00:00Z"}) == [
        ("project_uuid", "must be a canonical lowercase UUID")
    ]


def test_project_uuid_error_does_not_echo_long_input() -> None:
    errors = _errors(ProjectDeleted, {"project_uuid": GOOD_UUID * 500, "deleted_at": "2026-01-01Z"})
    assert errors[0] == ("project_uuid", "must be a canonical lowercase UUID")


@given(st.uuids())
def test_any_canonical_uuid_is_accepted(value: Any) -> None:
    event = ProjectDeleted.model_validate_json(
        json.dumps({"project_uuid": str(value), "deleted_at": "2026-01-01T00:00:00+02:00"})
    )
    assert event.project_uuid == str(value)


@pytest.mark.parametrize(
    ("field", "value"),
    [("project_id", "42"), ("project_id", 42.0), ("user_id", True), ("user_id", -1)],
)
def test_ids_are_strict_non_negative_integers(
    created: ProjectCreated, field: str, value: object
) -> None:
    payload = _json(created) | {field: value}
    assert [loc for loc, _ in _errors(ProjectCreated, payload)] == [field]


def test_naive_times_are_rejected(created: ProjectCreated) -> None:
    payload = _json(created) | {"created_at": "2026-01-01T00:00:00"}
    assert _errors(ProjectCreated, payload) == [("created_at", "Input should have timezone info")]


def test_python_construction_is_strict_too(project_uuid: str) -> None:
    with pytest.raises(ValidationError):
        ProjectCreated.model_validate(
            {
                "project_uuid": project_uuid,
                "project_id": "1",
                "user_id": 1,
                "created_at": datetime(2026, 1, 1).astimezone(),
            }
        )


def test_models_are_frozen(created: ProjectCreated) -> None:
    field = "user_id"
    with pytest.raises(ValidationError, match="frozen"):
        setattr(created, field, 8)


def test_input_events_ignore_unknown_top_level_fields(created: ProjectCreated) -> None:
    payload = _json(created) | {"added_in_a_later_minor": {"x": 1}}
    assert ProjectCreated.model_validate_json(json.dumps(payload)) == created


def test_chart_overrides_forbid_unknown_fields(created: ProjectCreated) -> None:
    payload = _json(created)
    payload["overrides"]["gpu_request"] = "1"
    assert _errors(ProjectCreated, payload) == [
        ("overrides.gpu_request", "Extra inputs are not permitted")
    ]


@pytest.mark.parametrize("model", [SessionReady, SessionDeleted, SessionFailed])
def test_output_events_forbid_unknown_fields(
    model: type[BaseModel],
    ready: SessionReady,
    session_deleted: SessionDeleted,
    failed: SessionFailed,
) -> None:
    sample = {SessionReady: ready, SessionDeleted: session_deleted, SessionFailed: failed}[model]
    payload = _json(sample) | {"surprise": 1}
    assert _errors(model, payload) == [("surprise", "Extra inputs are not permitted")]


@pytest.mark.parametrize("value", ["1m", "500m", "2000m", "1", "2", "0.5", "1.999"])
def test_cpu_requests_up_to_two_cores_are_accepted(value: str) -> None:
    assert ChartOverrides(cpu_request=value).cpu_request == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2001m", "must be more than 0 and at most 2000m"),
        ("2.001", "must be more than 0 and at most 2000m"),
        ("3", "must be more than 0 and at most 2000m"),
        ("0", "must be more than 0 and at most 2000m"),
        ("0m", "must be more than 0 and at most 2000m"),
        ("500M", "must be a CPU quantity like '500m' or '1'"),
        ("-1", "must be a CPU quantity like '500m' or '1'"),
        ("1e3m", "must be a CPU quantity like '500m' or '1'"),
    ],
)
def test_cpu_requests_out_of_range_or_malformed_are_rejected(value: str, message: str) -> None:
    assert _errors(ChartOverrides, {"cpu_request": value}) == [("cpu_request", message)]


@given(st.integers(min_value=1, max_value=2000))
def test_cpu_millicores_reads_both_notations(millicores: int) -> None:
    assert cpu_millicores(f"{millicores}m") == millicores
    assert cpu_millicores(f"{millicores / 1000:.3f}".rstrip("0").rstrip(".")) == millicores


@pytest.mark.parametrize(
    ("value", "accepted"),
    [
        ("512Mi", True),
        ("4Gi", True),
        ("4096Mi", True),
        ("4194304Ki", True),
        ("4097Mi", False),
        ("5Gi", False),
        ("0Mi", False),
        ("512MB", False),
        ("512", False),
    ],
)
def test_memory_requests_up_to_4gi(value: str, accepted: bool) -> None:
    if accepted:
        assert memory_bytes(ChartOverrides(memory_request=value).memory_request or "") <= 4 << 30
    else:
        [(loc, _)] = _errors(ChartOverrides, {"memory_request": value})
        assert loc == "memory_request"


def test_env_allows_32_entries_but_not_33() -> None:
    env = {f"VAR_{i}": str(i) for i in range(32)}
    assert len(ChartOverrides(env=env).env) == 32
    errors = _errors(ChartOverrides, {"env": env | {"ONE_MORE": "x"}})
    assert [loc for loc, _ in errors] == ["env"]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("DEVSESSIONS_TOKEN", "must not start with the reserved prefix DEVSESSIONS_"),
        ("devsessions_token", "must not start with the reserved prefix DEVSESSIONS_"),
        ("1ABC", "must match ^[A-Za-z_][A-Za-z0-9_]*$"),
        ("A-B", "must match ^[A-Za-z_][A-Za-z0-9_]*$"),
        ("A" * 129, "String should have at most 128 characters"),
    ],
)
def test_env_names_are_checked(name: str, message: str) -> None:
    assert _errors(ChartOverrides, {"env": {name: "x"}}) == [(f"env.{name}.[key]", message)]


def test_env_values_are_bounded() -> None:
    assert ChartOverrides(env={"A": "x" * 4096}).env["A"] == "x" * 4096
    assert _errors(ChartOverrides, {"env": {"A": "x" * 4097}}) == [
        ("env.A", "String should have at most 4096 characters")
    ]


@pytest.mark.parametrize(
    ("image", "accepted"),
    [
        ("nginx", True),
        ("nginx:1.27", True),
        ("registry.example:5000/team/app:1.2.3", True),
        ("ghcr.io/org/app@sha256:" + "a" * 64, True),
        ("Team/App", False),
        ("app:", False),
        ("app:tag with space", False),
        ("", False),
        ("a" * 513, False),
    ],
)
def test_image_references(image: str, accepted: bool) -> None:
    if accepted:
        assert ChartOverrides(chat_image=image).chat_image == image
    else:
        assert [loc for loc, _ in _errors(ChartOverrides, {"chat_image": image})] == ["chat_image"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("ip_address", "10.0.0.300"),
        ("ip_address", "not-an-ip"),
        ("namespace", "Upper"),
        ("namespace", "a" * 64),
        ("release_name", "r" * 54),
        ("preview_url", "ftp://x.example/"),
        ("chat_url", "https://a b"),
        ("vscode_path", "vscode"),
        ("status", "starting"),
        ("expires_at", "tomorrow"),
    ],
)
def test_session_ready_field_checks(ready: SessionReady, field: str, value: str) -> None:
    assert [loc for loc, _ in _errors(SessionReady, _json(ready) | {field: value})] == [field]


def test_session_ready_accepts_ipv6_and_defaults_status(ready: SessionReady) -> None:
    payload = _json(ready) | {"ip_address": "fd00::17"}
    del payload["status"]
    parsed = SessionReady.model_validate_json(json.dumps(payload))
    assert (parsed.ip_address, parsed.status) == ("fd00::17", "running")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reason", ""),
        ("reason", "x" * 2001),
        ("attempts", 0),
        ("will_retry", "yes"),
        ("operation", "upgrade"),
    ],
)
def test_session_failed_field_checks(failed: SessionFailed, field: str, value: object) -> None:
    assert [loc for loc, _ in _errors(SessionFailed, _json(failed) | {field: value})] == [field]


def test_session_failed_reason_of_2000_chars_is_fine(failed: SessionFailed) -> None:
    payload = _json(failed) | {"reason": "r" * 2000}
    assert len(SessionFailed.model_validate_json(json.dumps(payload)).reason) == 2000


def test_session_deleted_reason_defaults_to_deleted_and_is_left_out_of_the_wire(
    session_deleted: SessionDeleted,
) -> None:
    """Every SessionDeleted a reader of the older contract could receive is unchanged."""
    assert session_deleted.reason == "deleted"
    assert "reason" not in _json(session_deleted)
    assert SessionDeleted.model_validate_json(session_deleted.model_dump_json()) == session_deleted


def test_session_deleted_says_expired_on_the_wire(session_deleted: SessionDeleted) -> None:
    expired = session_deleted.model_copy(update={"reason": "expired"})
    payload = _json(expired)
    assert payload["reason"] == "expired"
    assert SessionDeleted.model_validate_json(json.dumps(payload)) == expired


def test_session_deleted_accepts_an_explicit_deleted_reason(
    session_deleted: SessionDeleted,
) -> None:
    payload = _json(session_deleted) | {"reason": "deleted"}
    assert SessionDeleted.model_validate_json(json.dumps(payload)) == session_deleted


def test_session_deleted_refuses_an_unknown_reason(session_deleted: SessionDeleted) -> None:
    payload = _json(session_deleted) | {"reason": "evicted"}
    assert _errors(SessionDeleted, payload) == [
        ("reason", "Input should be 'deleted' or 'expired'")
    ]

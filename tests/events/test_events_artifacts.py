"""The committed contract artefacts: fresh, valid, and in agreement with the models."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from events import (
    DEFAULT_DEAD_LETTER_TOPIC,
    DEFAULT_INPUT_TOPIC,
    DEFAULT_OUTPUT_TOPIC,
    AnyEvent,
    EventType,
    event_type_of,
    new_envelope,
)
from events.generate import PACKAGE_DIR, render, schema_file, stale, write

GENERATE_HINT = "run: python -m events.generate"


def _schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((PACKAGE_DIR / schema_file(name)).read_text())
    return loaded


def test_committed_artefacts_are_up_to_date() -> None:
    assert stale() == [], GENERATE_HINT


def test_staleness_is_detected(tmp_path: Path) -> None:
    write(tmp_path)
    assert stale(tmp_path) == []
    target = tmp_path / schema_file(EventType.SESSION_READY.value)
    target.write_text(target.read_text().replace('"ip_address"', '"ip"', 1))
    (tmp_path / "schemas" / "leftover.schema.json").write_text("{}")
    (tmp_path / "asyncapi.json").unlink()
    assert stale(tmp_path) == [
        schema_file(EventType.SESSION_READY.value),
        "asyncapi.json",
        "schemas/leftover.schema.json",
    ]


def test_there_is_a_schema_per_event_type_and_one_for_the_envelope() -> None:
    names = {Path(p).name for p in render() if p.startswith("schemas/")}
    assert names == {f"{t.value}.schema.json" for t in EventType} | {"envelope.schema.json"}


def test_every_schema_is_valid_json_schema() -> None:
    for name in [t.value for t in EventType] + ["envelope"]:
        Draft202012Validator.check_schema(_schema(name))


def test_schemas_accept_what_the_models_emit(all_events: list[AnyEvent]) -> None:
    for data in all_events:
        validator = Draft202012Validator(_schema(event_type_of(data).value))
        assert list(validator.iter_errors(json.loads(data.model_dump_json()))) == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"project_uuid": "0B5C1A2E-3F4D-4E5F-8A9B-0C1D2E3F4A5B"}, "project_uuid"),
        ({"project_id": "1"}, "project_id"),
        ({"overrides": {"gpu": "1"}}, "overrides"),
        ({"overrides": {"env": {"1BAD": "x"}}}, "overrides"),
        ({"overrides": {"env": {"DevSessions_X": "x"}}}, "overrides"),
        ({"overrides": {"env": {"OK": "x" * 4097}}}, "overrides"),
    ],
)
def test_schemas_reject_what_the_models_reject(
    all_events: list[AnyEvent], change: dict[str, Any], field: str
) -> None:
    created = all_events[0]
    validator = Draft202012Validator(_schema(EventType.PROJECT_CREATED.value))
    errors = list(validator.iter_errors(json.loads(created.model_dump_json()) | change))
    assert [e.absolute_path[0] for e in errors] == [field]


def test_output_schemas_forbid_and_input_schemas_allow_unknown_fields() -> None:
    for event_type in EventType:
        closed = _schema(event_type.value).get("additionalProperties") is False
        assert closed == event_type.value.startswith("io.devsessions.session.")


def test_envelope_schema_accepts_an_envelope(all_events: list[AnyEvent]) -> None:
    validator = Draft202012Validator(_schema("envelope"))
    for data in all_events:
        document = json.loads(new_envelope(data, source="urn:test").model_dump_json())
        assert list(validator.iter_errors(document)) == []


def test_asyncapi_declares_the_three_topics_with_cloudevents_headers_and_key() -> None:
    doc = json.loads((PACKAGE_DIR / "asyncapi.json").read_text())
    assert doc["asyncapi"] == "3.0.0"
    addresses = {c["address"] for c in doc["channels"].values()}
    assert addresses == {DEFAULT_INPUT_TOPIC, DEFAULT_OUTPUT_TOPIC, DEFAULT_DEAD_LETTER_TOPIC}
    messages = doc["components"]["messages"]
    project = messages["project-events:Message"]
    assert project["headers"]["properties"]["ce_type"]["enum"] == [
        EventType.PROJECT_CREATED.value,
        EventType.PROJECT_DELETED.value,
    ]
    assert "ce_id" in project["headers"]["required"]
    assert project["bindings"]["kafka"]["key"]["pattern"].startswith("^[0-9a-f]{8}")
    assert "correlationId" not in project
    dead_letter = messages["project-events-dlq:Message"]
    assert "dlq_reason" in dead_letter["headers"]["required"]
    schemas = doc["components"]["schemas"]
    assert {"ProjectCreated", "SessionReady", "ChartOverrides"} <= set(schemas)


def test_events_imports_without_consumer_kafka_client_or_faststream() -> None:
    code = (
        "import sys, events; events.from_record; "
        "bad = sorted(m for m in sys.modules "
        "if m.split('.')[0] in {'consumer', 'aiokafka', 'faststream', 'cloudevents'}); "
        "print(','.join(bad))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE_DIR.parent,
    )
    assert result.stdout.strip() == ""


def test_generator_check_mode_exit_code() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "events.generate", "--check"],
        capture_output=True,
        text=True,
        check=False,
        cwd=PACKAGE_DIR.parent,
    )
    assert (result.returncode, result.stderr) == (0, "")

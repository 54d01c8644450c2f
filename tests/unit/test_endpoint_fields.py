"""The endpoint fields are defined once (``domain.model.Endpoints``); the wire model in
``events`` (which may not import the service) must carry every one of them, and a
running session's ``SessionReady`` must carry their values unchanged."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest

import events
from consumer.domain.endpoints import COMPONENTS, Observed, Route, build
from consumer.domain.model import ENDPOINT_FIELDS, Cause, Status
from consumer.service.messages import MessageFactory
from tests.unit.test_values import P, session


def test_session_ready_carries_every_endpoint_field() -> None:
    missing = set(ENDPOINT_FIELDS) - set(events.SessionReady.model_fields)
    assert not missing, f"SessionReady lacks {sorted(missing)}"


def test_session_ready_values_come_from_the_session_endpoints() -> None:
    routes = {c: Route(c, 3000 + i, f"/{c}") for i, c in enumerate(COMPONENTS)}
    endpoints = build(
        "https://{project_uuid}.example.com{path}", P, P, Observed("10.96.0.9", routes)
    )
    running = dataclasses.replace(session({}), status=Status.RUNNING, endpoints=endpoints)
    message = MessageFactory(source="urn:test", topic="out").session_ready(
        running, Cause("e1", "urn:up"), datetime.now(UTC)
    )
    data = events.from_record(message.key, message.value, message.headers).data
    assert isinstance(data, events.SessionReady)
    assert {name: getattr(data, name) for name in ENDPOINT_FIELDS} == dataclasses.asdict(endpoints)


def test_session_ready_without_endpoints_is_refused_even_under_python_O() -> None:
    # Was an ``assert``: gone under ``python -O``, which would then fail further down
    # with an unrelated error (or, with other code, publish a broken event).
    running = dataclasses.replace(session({}), status=Status.RUNNING, endpoints=None)
    with pytest.raises(ValueError, match="no endpoints"):
        MessageFactory(source="urn:test", topic="out").session_ready(
            running, Cause("e1", "urn:up"), datetime.now(UTC)
        )

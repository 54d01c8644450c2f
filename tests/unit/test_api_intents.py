"""The API's pure rules: input validation, get-or-create decisions, derived event ids."""

from __future__ import annotations

import dataclasses

import pytest

from consumer.domain import intents
from consumer.domain.intents import BadRequest, Ids, Verdict
from consumer.domain.model import Status
from tests.unit.api_fakes import session

P = "550e8400-e29b-41d4-a716-446655440000"
IDS = Ids(user_id=123, project_id=456)


@pytest.mark.parametrize(
    "bad", [P.upper(), "{" + P + "}", "urn:uuid:" + P, P.replace("-", ""), P + " ", "x" * 36]
)
def test_non_canonical_uuids_are_refused_saying_lowercase(bad: str) -> None:
    with pytest.raises(BadRequest, match="canonical lowercase"):
        intents.check_uuid(bad)


def test_ids_go_together_and_are_non_negative_integers() -> None:
    assert intents.check_ids(None, None) is None
    assert intents.check_ids("123", "456") == IDS
    for user, project in (("123", None), (None, "456"), ("-1", "4"), ("1.5", "4"), ("\u0661", "4")):
        with pytest.raises(BadRequest):
            intents.check_ids(user, project)
    with pytest.raises(BadRequest):
        intents.check_id(2**63, "user_id")


def test_get_decisions() -> None:
    assert intents.on_get(P, None, None).verdict is Verdict.NOT_FOUND
    assert intents.on_get(P, None, IDS).verdict is Verdict.PUBLISH
    assert intents.on_get(P, session(P, Status.DELETED), IDS).verdict is Verdict.PUBLISH
    assert intents.on_get(P, session(P, Status.DELETED), None).verdict is Verdict.NOT_FOUND
    assert intents.on_get(P, session(P, Status.RUNNING), IDS).verdict is Verdict.SETTLED
    assert intents.on_get(P, session(P, Status.FAILED), None).verdict is Verdict.SETTLED
    assert intents.on_get(P, session(P, Status.PENDING), IDS).verdict is Verdict.IN_PROGRESS


def test_event_id_is_a_function_of_what_the_request_saw() -> None:
    first = intents.on_get(P, None, IDS).event_id
    assert first == intents.on_get(P, None, IDS).event_id  # concurrent callers: one fact
    deleted = session(P, Status.DELETED, generation=2)
    later = intents.on_get(P, deleted, IDS).event_id
    assert later != first
    again = intents.on_get(P, dataclasses.replace(deleted, generation=4), IDS).event_id
    assert again not in (first, later)
    assert intents.on_get(P, None, Ids(1, 2)).event_id != first
    assert len(first) <= 256


def test_create_revives_failed_and_applies_changed_ids_but_not_a_running_twin() -> None:
    assert intents.on_create(P, session(P, Status.RUNNING), IDS).verdict is Verdict.SETTLED
    assert intents.on_create(P, session(P, Status.PENDING), IDS).verdict is Verdict.IN_PROGRESS
    assert intents.on_create(P, session(P, Status.FAILED), IDS).verdict is Verdict.PUBLISH
    moved = intents.on_create(P, session(P, Status.RUNNING), Ids(1, 2))
    assert moved.verdict is Verdict.PUBLISH


def test_delete_decisions() -> None:
    assert intents.on_delete(None).verdict is Verdict.NOT_FOUND
    assert intents.on_delete(session(P, Status.DELETED)).verdict is Verdict.GONE
    assert intents.on_delete(session(P, Status.DELETING)).verdict is Verdict.IN_PROGRESS
    running = session(P, Status.RUNNING, generation=3)
    decision = intents.on_delete(running)
    assert decision.verdict is Verdict.PUBLISH
    assert decision.event_id == intents.deleted_event_id(running)
    assert decision.event_id != intents.deleted_event_id(dataclasses.replace(running, generation=5))


def test_session_refs_and_cursors() -> None:
    assert intents.session_ref("17") == 17
    assert intents.session_ref(P) == P
    with pytest.raises(BadRequest, match="numeric id or a project UUID"):
        intents.session_ref(P.upper())
    assert intents.decode_cursor(intents.encode_cursor(42)) == 42
    assert intents.decode_cursor(None) == 0
    for bad in ("nope", intents.encode_cursor(1)[:-1] + "!", "djI6MQ"):  # v2:1
        with pytest.raises(BadRequest, match="cursor"):
            intents.decode_cursor(bad)


def test_wait_is_capped_and_refuses_nonsense() -> None:
    assert intents.wait_seconds(None, 60) == 0
    assert intents.wait_seconds(30, 60) == 30
    assert intents.wait_seconds(3600, 60) == 60
    for bad in (-1.0, float("nan")):
        with pytest.raises(BadRequest):
            intents.wait_seconds(bad, 60)

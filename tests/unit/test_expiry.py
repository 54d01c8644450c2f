"""Expiry: a session whose expiry passed without renewal is torn down with
``SessionDeleted`` reason expired; evidence of life renews it; a replay after the expiry
changes nothing, a later ``ProjectCreated`` provisions again."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import events
from consumer.adapters.db import rows
from consumer.domain import expiry
from consumer.domain.model import Desired, EndReason, Status
from consumer.observability import metrics
from consumer.service.intake import Outcome, RawRecord
from tests.unit.api_fakes import NOW, api
from tests.unit.api_fakes import session as api_session
from tests.unit.conftest import SETTINGS, World, make_world

LIFETIME = timedelta(days=SETTINGS.session_lifetime_days)
DAY = 86_400.0


async def _running(world: World, project: str) -> RawRecord:
    record = world.record(world.created(project))
    await world.intake.handle(record)
    await world.settle()
    return record


async def _expired_count() -> float:
    return float(metrics.EXPIRED._value.get())


async def test_expiry_decision_is_pure_and_only_for_wanted_sessions(
    world: World, project: str
) -> None:
    await _running(world, project)
    session = await world.sessions.get(project)
    assert session is not None
    assert expiry.expire(session, session.expires_at - timedelta(seconds=1)) is None
    doomed = expiry.expire(session, session.expires_at)
    assert doomed is not None
    assert (doomed.desired, doomed.status, doomed.end_reason) == (
        Desired.ABSENT,
        Status.DELETING,
        EndReason.EXPIRED,
    )
    assert doomed.generation == session.generation + 1 and doomed.cause == session.cause
    assert expiry.expire(doomed, doomed.expires_at + LIFETIME) is None, "absent stays absent"
    later = session.expires_at + LIFETIME
    assert expiry.renew(session, later - LIFETIME * 2, LIFETIME) == session, "never pulled in"
    assert expiry.renew(session, later, LIFETIME).expires_at == later + LIFETIME


async def test_lapsed_session_is_torn_down_with_reason_expired(world: World, project: str) -> None:
    await _running(world, project)
    before = await _expired_count()
    world.clock.advance(LIFETIME.total_seconds() - 1)
    await world.resync.once()
    assert world.woken == [], "not yet"
    world.clock.advance(2)
    await world.resync.once()
    assert world.woken == [project]
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None
    assert (session.status, session.end_reason) == (Status.DELETED, EndReason.EXPIRED)
    assert project not in world.cluster.namespaces and not world.helm.releases
    gone = world.published(project)[-1]
    assert isinstance(gone.data, events.SessionDeleted) and gone.data.reason == "expired"
    assert await _expired_count() == before + 1


async def test_replay_after_expiry_changes_nothing(world: World, project: str) -> None:
    """The high-water mark makes the old create stale, even with the inbox forgotten."""
    created = await _running(world, project)
    world.clock.advance(LIFETIME.total_seconds() + 1)
    await world.resync.once()
    await world.settle()
    world.db.inbox.clear()
    calls, published = len(world.helm.calls), len(world.published())
    assert await world.intake.handle(created) is Outcome.UNCHANGED
    await world.settle()
    await world.resync.once()
    await world.settle()
    assert len(world.helm.calls) == calls, "zero Helm calls"
    assert len(world.published()) == published
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.DELETED


async def test_a_later_project_created_provisions_again_with_a_fresh_expiry(
    world: World, project: str
) -> None:
    await _running(world, project)
    world.clock.advance(LIFETIME.total_seconds() + 1)
    await world.resync.once()
    await world.settle()
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert session.end_reason is None
    assert session.expires_at == world.clock.now() + LIFETIME
    assert isinstance(world.published(project)[-1].data, events.SessionReady)
    await world.resync.once()
    assert world.woken == [], "a revived session is not expired again at once"


async def test_project_created_for_a_live_session_renews_it(world: World, project: str) -> None:
    await _running(world, project)
    world.clock.advance(LIFETIME.total_seconds() - DAY)
    await world.intake.handle(world.record(world.created(project)))
    world.clock.advance(2 * DAY)
    await world.resync.once()
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert session.expires_at == world.clock.now() - 2 * timedelta(days=1) + LIFETIME


async def test_project_deleted_after_expiry_answers_as_deleted(world: World, project: str) -> None:
    await _running(world, project)
    world.clock.advance(LIFETIME.total_seconds() + 1)
    await world.resync.once()
    await world.settle()
    calls = len(world.helm.calls)
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    assert len(world.helm.calls) == calls
    gone = world.published(project)[-1]
    assert isinstance(gone.data, events.SessionDeleted) and gone.data.reason == "deleted"
    session = await world.sessions.get(project)
    assert session is not None and session.end_reason is EndReason.DELETED


async def test_a_session_still_pending_when_it_lapses_is_torn_down(project: str) -> None:
    """A session still pending when its expiry passes is torn down, not left running."""
    short = SETTINGS.model_copy(update={"session_lifetime_days": 1.0})
    world = make_world(settings=short)
    await world.intake.handle(world.record(world.created(project)))
    world.clock.advance(DAY + 1)
    await world.resync.once()
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.DELETED
    assert session.end_reason is EndReason.EXPIRED


async def test_blanket_renewal_keeps_sessions_forever(project: str) -> None:
    always = SETTINGS.model_copy(update={"session_renewal": "always"})
    world = make_world(settings=always)
    await _running(world, project)
    world.clock.advance(LIFETIME.total_seconds() * 3)
    await world.resync.once()
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert session.expires_at == world.clock.now() + LIFETIME


async def test_owner_opening_the_session_renews_it(tmp_path: Path) -> None:
    tokens, keys = tmp_path / "tokens", tmp_path / "keys"
    tokens.write_text("api-token\n")
    keys.write_text("k" * 32 + "\n")
    project = "550e8400-e29b-41d4-a716-446655440000"
    auth = {"Authorization": "Bearer api-token"}
    access = f"/api/v1/sessions/project/{project}/access"
    async with api(tokens, access_keys=keys) as a:
        a.reads.put(api_session(project, expires_at=NOW + timedelta(days=3)))
        reply = await a.client.post(access, json={"user_id": 123}, headers=auth)
        assert reply.status_code == 200, reply.text
        assert a.renewals.calls == [(project, NOW + timedelta(days=365))]
        renewed = await a.reads.by_project(project)
        assert renewed is not None and renewed.expires_at == NOW + timedelta(days=365)
        refused = await a.client.post(access, json={"user_id": 999}, headers=auth)
        assert refused.status_code == 403 and len(a.renewals.calls) == 1, "only the owner renews"


def test_end_reason_round_trips_through_rows(project: str) -> None:
    base = api_session(project, Status.DELETED)
    for reason in (None, EndReason.DELETED, EndReason.EXPIRED):
        state = dataclasses.replace(base, end_reason=reason)
        row = rows.to_row(state) | {"id": 1}
        assert rows.to_state(row).end_reason is reason

"""The unit of work's contract, checked on PostgreSQL and on the in-memory fake alike.

Every test runs twice: against ``SqlUnitOfWork`` on a fresh database of the real stack,
and against ``FakeUnitOfWork``. So the fake the unit tests rely on does what the real
one does (atomic commit, rollback without it, conditional saves, dedupe, relay leader,
expiry renewal, pruning), and a drift between them fails here.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from consumer.domain import intake, naming
from consumer.domain.model import Cause, Desired, EndReason, LogPosition, SessionState, Status
from consumer.ports import InboxKey, OutboxMessage, UnitOfWorkFactory
from tests.fakes import FakeClock, FakeDatabase

NOW = datetime.now(UTC)
LIFETIME = timedelta(days=30)


@pytest.fixture(
    scope="module", params=["fake", pytest.param("postgresql", marks=pytest.mark.stack)]
)
async def uow(request: pytest.FixtureRequest) -> AsyncIterator[UnitOfWorkFactory]:
    if request.param == "fake":
        yield FakeDatabase(FakeClock(NOW))
        return
    from consumer.adapters.db import uow as sql_uow
    from consumer.adapters.db.engine import make_engine, upgrade
    from tests.e2e.harness import create_database

    stack = request.getfixturevalue("stack")
    url = await create_database(stack.database_url, f"uow_{uuid.uuid4().hex[:8]}")
    await upgrade(url)
    engine = make_engine(url, pool_size=4)
    factory = sql_uow.factory(engine)
    factory.engine = engine  # type: ignore[attr-defined]
    yield factory
    await engine.dispose()


@pytest.fixture
def sql_locks(uow: UnitOfWorkFactory):  # type: ignore[no-untyped-def]
    from consumer.adapters.db.locks import SqlLocks

    return SqlLocks(uow.engine)  # type: ignore[attr-defined]


def _session(project: str | None = None) -> SessionState:
    project = project or str(uuid.uuid4())
    decision = intake.decide(
        None,
        intake.Created(project, 1, 2, {}),
        cause=Cause(f"evt-{project}", "urn:test"),
        position=LogPosition(0, 1),
        now=NOW,
        lifetime=LIFETIME,
    )
    assert decision.session is not None
    return decision.session


def _message(project: str, name: str) -> OutboxMessage:
    return OutboxMessage(name, project, "t", "out", project.encode(), b"{}", (("ce_id", b"x"),))


async def _put(uow: UnitOfWorkFactory, session: SessionState) -> None:
    async with uow() as unit:
        await unit.sessions.put(session)
        await unit.commit()


async def test_nothing_is_durable_without_commit(uow: UnitOfWorkFactory) -> None:
    session = _session()
    async with uow() as unit:
        await unit.sessions.put(session)
        assert await unit.sessions.get(session.project_uuid) is not None, "own writes seen"
    async with uow() as unit:
        assert await unit.sessions.get(session.project_uuid) is None


async def test_commit_makes_session_inbox_and_outbox_durable_together(
    uow: UnitOfWorkFactory,
) -> None:
    session = _session()
    key = InboxKey("group", "urn:test", f"e-{session.project_uuid}")
    async with uow() as unit:
        await unit.sessions.lock(session.project_uuid)
        assert await unit.inbox.add(key, session.project_uuid, LogPosition(0, 1))
        await unit.sessions.put(session)
        await unit.outbox.add([_message(session.project_uuid, f"m-{session.project_uuid}")])
        await unit.commit()
    async with uow() as unit:
        stored = await unit.sessions.get(session.project_uuid, for_update=True)
        assert stored is not None and stored.id is not None
        assert dataclasses.replace(stored, id=None) == session
        assert not await unit.inbox.add(key, session.project_uuid, LogPosition(0, 1))
        assert await unit.inbox.seen("group", [("urn:test", key.event_id)]) == {
            ("urn:test", key.event_id)
        }


async def test_outcome_is_saved_only_by_the_lease_holder_of_the_current_generation(
    uow: UnitOfWorkFactory,
) -> None:
    session = _session()
    await _put(uow, session)
    running = dataclasses.replace(session, status=Status.PROVISIONING)
    async with uow() as unit:
        assert not await unit.sessions.save_outcome(running, owner="w1"), "no lease yet"
        assert await unit.leases.claim(session.project_uuid, "w1", 60) is not None
        assert await unit.leases.claim(session.project_uuid, "w2", 60) is None
        stale = dataclasses.replace(running, generation=session.generation - 1)
        assert not await unit.sessions.save_outcome(stale, owner="w1")
        assert await unit.sessions.save_outcome(running, owner="w1")
        await unit.leases.release(session.project_uuid, "w1")
        await unit.commit()
    async with uow() as unit:
        stored = await unit.sessions.get(session.project_uuid)
        assert stored is not None and stored.status is Status.PROVISIONING
        assert await unit.leases.claim(session.project_uuid, "w2", 60) is not None


async def test_relay_claims_in_order_one_relay_at_a_time_and_marks_sent(
    uow: UnitOfWorkFactory,
) -> None:
    project = str(uuid.uuid4())
    names = [f"{project}-{i}" for i in range(3)]
    async with uow() as unit:
        await unit.outbox.add([_message(project, n) for n in names])
        await unit.outbox.add([_message(project, names[0])])  # same event id: skipped
        await unit.commit()
    async with uow() as first, uow() as second:
        batch = [
            r for r in await first.outbox.claim_batch(1000) if r.message.project_uuid == project
        ]
        assert [r.message.event_id for r in batch] == names
        assert await second.outbox.claim_batch(1000) == [], "one relay publishes at a time"
        await first.outbox.mark_sent([r.id for r in batch], NOW)
        await first.commit()
    async with uow() as unit:
        left = await unit.outbox.claim_batch(1000)
        assert not [r for r in left if r.message.project_uuid == project]
        assert await unit.outbox.prune(NOW - timedelta(seconds=1)) == 0, "sent just now"
        assert await unit.outbox.prune(NOW + timedelta(seconds=1)) >= 3
        await unit.commit()


async def test_messages_added_as_sent_are_held_never_claimed_and_win_over_a_later_add(
    uow: UnitOfWorkFactory,
) -> None:
    """What replay's adoption of the output topic relies on."""
    project = str(uuid.uuid4())
    announced, other = f"{project}-announced", f"{project}-other"
    async with uow() as unit:
        assert await unit.outbox.holding([announced, other]) == set()
        await unit.outbox.add_sent([_message(project, announced)], NOW)
        await unit.commit()
    async with uow() as unit:
        rebuilt = dataclasses.replace(_message(project, announced), value=b'{"later": 1}')
        await unit.outbox.add([rebuilt, _message(project, other)])
        await unit.commit()
    async with uow() as unit:
        assert await unit.outbox.holding([announced, other, "absent"]) == {announced, other}
        claimed = [
            r for r in await unit.outbox.claim_batch(1000) if r.message.project_uuid == project
        ]
        assert [r.message.event_id for r in claimed] == [other], "announced: already sent"


async def test_unconverged_is_the_domains_rule_in_the_database(uow: UnitOfWorkFactory) -> None:
    """What replay waits for: the query agrees with ``SessionState.converged``."""
    variants = [
        dataclasses.replace(_session(), status=status, observed_generation=observed)
        for status in Status
        for observed in (0, 1)
    ]
    for session in variants:
        await _put(uow, session)
    async with uow() as unit:
        listed = set(await unit.sessions.unconverged())
    for session in variants:
        assert (session.project_uuid in listed) is (not session.converged), session


async def test_renew_expiry_pushes_out_running_sessions_close_to_expiry(
    uow: UnitOfWorkFactory,
) -> None:
    soon = dataclasses.replace(
        _session(), status=Status.RUNNING, expires_at=NOW + timedelta(hours=1)
    )
    pending = dataclasses.replace(_session(), expires_at=NOW + timedelta(hours=1))
    fresh = dataclasses.replace(_session(), status=Status.RUNNING, expires_at=NOW + LIFETIME)
    for session in (soon, pending, fresh):
        await _put(uow, session)
    async with uow() as unit:
        assert await unit.schedule.renew_expiry(NOW, LIFETIME.total_seconds()) >= 1
        await unit.commit()
    async with uow() as unit:
        got = {s.project_uuid: s for s in await unit.sessions.list(limit=100_000)}
    assert got[soon.project_uuid].expires_at == NOW + LIFETIME
    assert got[pending.project_uuid].expires_at == pending.expires_at, "only running ones"
    assert got[fresh.project_uuid].expires_at == fresh.expires_at


async def test_lapsed_lists_wanted_sessions_past_their_expiry(uow: UnitOfWorkFactory) -> None:
    past = dataclasses.replace(
        _session(), status=Status.RUNNING, expires_at=NOW - timedelta(days=400)
    )
    gone = dataclasses.replace(
        past, project_uuid=str(uuid.uuid4()), desired=Desired.ABSENT, status=Status.DELETED
    )
    later = dataclasses.replace(_session(), status=Status.RUNNING, expires_at=NOW + LIFETIME)
    for session in (past, gone, later):
        await _put(uow, session)
    async with uow() as unit:
        lapsed = set(await unit.schedule.lapsed(NOW))
    assert past.project_uuid in lapsed
    assert gone.project_uuid not in lapsed and later.project_uuid not in lapsed


async def test_ended_and_forget_touch_only_unchanged_ended_rows(uow: UnitOfWorkFactory) -> None:
    old = NOW - timedelta(days=900)
    ended = [
        dataclasses.replace(_session(), status=status, desired=Desired.ABSENT, updated_at=old)
        for status in (Status.DELETED, Status.DELETED, Status.FAILED)
    ]
    running = dataclasses.replace(_session(), status=Status.RUNNING, updated_at=old)
    for session in (*ended, running):
        await _put(uow, session)
    async with uow() as unit:
        found = await unit.schedule.ended(old + timedelta(seconds=1), limit=100_000)
    mine = {s.project_uuid: s for s in found}
    assert set(mine) >= {s.project_uuid for s in ended}
    assert running.project_uuid not in mine
    changed, first, second = ended
    await _put(uow, dataclasses.replace(changed, updated_at=old + timedelta(seconds=5)))
    async with uow() as unit:
        gone = await unit.schedule.forget([mine[s.project_uuid] for s in ended])
        await unit.commit()
    assert set(gone) == {first.project_uuid, second.project_uuid}
    async with uow() as unit:
        assert await unit.sessions.get(changed.project_uuid) is not None
        assert await unit.sessions.get(first.project_uuid) is None


async def test_end_reason_is_stored(uow: UnitOfWorkFactory) -> None:
    session = dataclasses.replace(
        _session(), desired=Desired.ABSENT, status=Status.DELETING, end_reason=EndReason.EXPIRED
    )
    await _put(uow, session)
    async with uow() as unit:
        got = await unit.sessions.get(session.project_uuid)
    assert got is not None and got.end_reason is EndReason.EXPIRED


async def test_drift_marks_only_running_unleased_sessions(uow: UnitOfWorkFactory) -> None:
    free = dataclasses.replace(_session(), status=Status.RUNNING)
    leased = dataclasses.replace(_session(), status=Status.RUNNING)
    for session in (free, leased):
        await _put(uow, session)
    async with uow() as unit:
        assert await unit.leases.claim(leased.project_uuid, "w", 60) is not None
        assert {free.project_uuid, leased.project_uuid} <= set(await unit.schedule.running())
        drifted = await unit.schedule.mark_drifted([free.project_uuid, leased.project_uuid], NOW)
        assert drifted == 1
        await unit.commit()
    async with uow() as unit:
        repaired = await unit.sessions.get(free.project_uuid)
        assert repaired is not None and repaired.status is Status.PENDING
        assert repaired.retries == 1
        assert free.project_uuid in await unit.schedule.due(NOW + timedelta(minutes=1))


async def test_an_expired_lease_counts_as_free_for_drift_repair(uow: UnitOfWorkFactory) -> None:
    # A worker died between recording "running" and releasing its lease: the row keeps an
    # owner whose lease has run out. Drift repair must still take it (it used to skip
    # every row with an owner, so such a session was never repaired again).
    orphaned = dataclasses.replace(_session(), status=Status.RUNNING)
    await _put(uow, orphaned)
    async with uow() as unit:
        assert await unit.leases.claim(orphaned.project_uuid, "dead", -1) is not None
        await unit.commit()
    async with uow() as unit:
        assert await unit.schedule.mark_drifted([orphaned.project_uuid], NOW) == 1
        await unit.commit()
    async with uow() as unit:
        repaired = await unit.sessions.get(orphaned.project_uuid)
        assert repaired is not None and repaired.status is Status.PENDING
        assert orphaned.project_uuid in await unit.schedule.due(NOW + timedelta(minutes=1))


async def test_a_dead_lock_holders_lease_is_due_and_taken_over(
    uow: UnitOfWorkFactory, request: pytest.FixtureRequest
) -> None:
    # A worker that holds the project lock owns the lease; while the lock is held the
    # lease is live, once the lock is free (the worker died) it is due and taken over.
    session = _session()
    project = session.project_uuid
    await _put(uow, session)
    holder = "w1" + naming.LOCK_HOLDER
    locks = uow.locks if isinstance(uow, FakeDatabase) else request.getfixturevalue("sql_locks")
    async with locks.hold(naming.project_lock(project)) as held:
        assert held
        async with uow() as unit:
            assert await unit.leases.claim(project, holder, 600) is not None
            await unit.commit()
        async with uow() as unit:
            assert project not in await unit.schedule.due(NOW + timedelta(minutes=1))
            assert await unit.leases.claim(project, "w2", 600) is None
    async with uow() as unit:
        assert project in await unit.schedule.due(NOW + timedelta(minutes=1))
        assert await unit.leases.claim(project, "w2", 600) is None, "not without the lock"
        # A take-over also waits until PostgreSQL has run for one lease period (locks
        # die with a restart, leases do not): a short one, so a fresh stack passes too.
        assert await unit.leases.claim(project, "w2", 1, take_over=True) is not None


async def test_inbox_prune_forgets_old_ids(uow: UnitOfWorkFactory) -> None:
    key = InboxKey("group", "urn:test", str(uuid.uuid4()))
    async with uow() as unit:
        assert await unit.inbox.add(key, "p", LogPosition(0, 1))
        await unit.commit()
    async with uow() as unit:
        assert await unit.inbox.prune(NOW - timedelta(days=2)) == 0
        assert await unit.inbox.prune(datetime.now(UTC) + timedelta(days=1)) >= 1
        await unit.commit()
    async with uow() as unit:
        assert await unit.inbox.add(key, "p", LogPosition(0, 1)), "forgotten, so new again"


async def test_inbox_knows_which_projects_it_saw(uow: UnitOfWorkFactory) -> None:
    seen, unseen = str(uuid.uuid4()), str(uuid.uuid4())
    async with uow() as unit:
        assert await unit.inbox.projects_seen([seen, unseen]) == set()
        for n in range(2):
            await unit.inbox.add(
                InboxKey("group", "urn:test", f"{seen}-{n}"), seen, LogPosition(0, n)
            )
        assert await unit.inbox.projects_seen([seen, unseen]) == {seen}, "own writes count"
        await unit.commit()
    async with uow() as unit:
        assert await unit.inbox.projects_seen([seen, unseen]) == {seen}
        assert await unit.inbox.projects_seen([]) == set()

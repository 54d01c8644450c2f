"""The pure intake rules: stale events, later-wins, duplicates, tombstones."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from consumer.domain import intake
from consumer.domain.endpoints import COMPONENTS, Observed, Route, build
from consumer.domain.model import Cause, Desired, LogPosition, Status

NOW = datetime(2026, 1, 1, tzinfo=UTC)
YEAR = timedelta(days=365)
P = "0b6f3a52-2c4e-4b8e-9a51-7f0e2d1c9a10"
ENDPOINTS = build(
    "https://{project_uuid}.example.com{path}",
    P,
    P,
    Observed("10.96.0.9", {c: Route(c, 3000 + i, f"/{c}") for i, c in enumerate(COMPONENTS)}),
)


def created(project_id: int = 1, overrides: dict[str, object] | None = None) -> intake.Created:
    return intake.Created(P, project_id, 7, dict(overrides or {}))


def decide(current, event, offset, *, partition=0):
    return intake.decide(
        current,
        event,
        cause=Cause(f"e{offset}", "src"),
        position=LogPosition(partition, offset),
        now=NOW,
        lifetime=YEAR,
    )


def test_first_create_wants_the_project_and_wakes_the_reconciler() -> None:
    d = decide(None, created(), 5)
    assert d.session is not None and d.reconcile
    assert (d.session.desired, d.session.status, d.session.generation) == (
        Desired.PRESENT,
        Status.PENDING,
        1,
    )
    assert d.session.high_water == LogPosition(0, 5)
    assert d.session.namespace == P and d.session.release_name == f"dev-session-{P}"
    assert d.session.cause == Cause("e5", "src")


def test_event_at_or_before_high_water_changes_nothing() -> None:
    live = decide(None, created(), 5).session
    assert decide(live, intake.Deleted(P), 5).session is None
    assert decide(live, intake.Deleted(P), 3).session is None


def test_older_create_after_delete_never_resurrects() -> None:
    live = decide(None, created(), 1).session
    gone = decide(live, intake.Deleted(P), 2).session
    assert gone is not None and gone.desired is Desired.ABSENT
    replayed_old_create = decide(gone, created(), 1)
    assert replayed_old_create.session is None and not replayed_old_create.reconcile


def test_later_create_after_delete_provisions_again() -> None:
    gone = dataclasses.replace(decide(None, intake.Deleted(P), 1).session, status=Status.DELETED)
    again = decide(gone, created(), 9)
    assert again.session is not None and again.session.desired is Desired.PRESENT
    assert again.reconcile and again.session.generation == gone.generation + 1


def test_create_for_running_project_republishes_ready_without_reconcile() -> None:
    live = dataclasses.replace(
        decide(None, created(), 1).session,
        status=Status.RUNNING,
        observed_generation=1,
        endpoints=ENDPOINTS,
    )
    d = decide(live, created(), 2)
    assert d.replies == (intake.Reply.SESSION_READY,) and not d.reconcile
    assert d.session is not None and d.session.generation == live.generation
    assert d.session.high_water == LogPosition(0, 2)


def test_create_for_running_project_without_endpoints_reconciles_instead_of_replying() -> None:
    # A running row without endpoints (edited by hand, half-restored) has nothing to
    # announce: provision again rather than fail building the SessionReady.
    live = dataclasses.replace(
        decide(None, created(), 1).session, status=Status.RUNNING, observed_generation=1
    )
    d = decide(live, created(), 2)
    assert d.reconcile and d.replies == ()


def test_create_with_changed_overrides_upgrades() -> None:
    live = dataclasses.replace(
        decide(None, created(), 1).session,
        status=Status.RUNNING,
        observed_generation=1,
    )
    d = decide(live, created(overrides={"cpu_request": "500m"}), 2)
    assert d.reconcile and d.session is not None
    assert d.session.generation == 2 and d.session.overrides == {"cpu_request": "500m"}


def test_delete_of_unknown_project_records_tombstone_and_replies() -> None:
    d = decide(None, intake.Deleted(P), 4)
    assert d.replies == (intake.Reply.SESSION_DELETED,) and not d.reconcile
    assert d.session is not None and d.session.status is Status.DELETED
    assert d.session.converged


def test_delete_while_deleting_neither_replies_nor_reconciles_again() -> None:
    live = decide(None, created(), 1).session
    deleting = decide(live, intake.Deleted(P), 2).session
    d = decide(deleting, intake.Deleted(P), 3)
    assert d.replies == () and not d.reconcile


def test_failed_session_is_revived_by_a_new_create() -> None:
    failed = dataclasses.replace(
        decide(None, created(), 1).session,
        status=Status.FAILED,
        observed_generation=1,
        attempts=5,
    )
    d = decide(failed, created(), 2)
    assert d.reconcile and d.session is not None and d.session.attempts == 0
    assert d.session.status is Status.PENDING


def test_other_partition_is_taken_as_newer() -> None:
    live = decide(None, created(), 100).session
    d = decide(live, intake.Deleted(P), 3, partition=1)
    assert d.session is not None and d.session.desired is Desired.ABSENT


def test_delete_revives_a_failed_teardown() -> None:
    live = decide(None, created(), 1).session
    deleting = decide(live, intake.Deleted(P), 2).session
    failed = dataclasses.replace(deleting, status=Status.FAILED, attempts=5)
    d = decide(failed, intake.Deleted(P), 3)
    assert d.reconcile and d.session is not None
    assert (d.session.status, d.session.attempts) == (Status.DELETING, 0)
    assert d.session.generation == failed.generation + 1

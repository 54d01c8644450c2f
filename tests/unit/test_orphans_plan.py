"""The orphan plan (``domain.orphans``): every kind of evidence, the cap, the share stop.

The rule under test: a namespace of ours goes only when the log says the project was
deleted (a tombstone row) or, with the consumer read to the end of the input topic, the
project was never seen (no row, no inbox entry); and never more than the caps allow.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from collections.abc import Set as AbstractSet
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from consumer.domain import naming, orphans
from consumer.domain.model import Cause, Desired, SessionState, Status
from consumer.domain.orphans import Limits, Observation, Reason, Verdict

LOOSE = Limits(max_removals=100, max_share=1.0)
NOW = datetime(2026, 1, 1, tzinfo=UTC)
_numbers = itertools.count(1)


def uid() -> str:
    """A fresh project UUID whose sort order follows creation order (readable plans)."""
    return f"{next(_numbers):08x}-0000-4000-8000-000000000000"


def row(project: str, desired: Desired, status: Status) -> SessionState:
    return SessionState(
        project_uuid=project,
        project_id=1,
        user_id=2,
        namespace=project,
        release_name=naming.release_for(project),
        status=status,
        desired=desired,
        generation=1,
        observed_generation=1,
        high_water=None,
        cause=Cause("e", "s"),
        overrides={},
        created_at=NOW,
        updated_at=NOW,
        expires_at=NOW,
    )


def live(project: str, status: Status = Status.RUNNING) -> SessionState:
    return row(project, Desired.PRESENT, status)


def tombstone(project: str, status: Status = Status.DELETED) -> SessionState:
    return row(project, Desired.ABSENT, status)


def ours(project: str) -> dict[str, str]:
    return naming.namespace_labels(project)


def observe(
    namespaces: dict[str, dict[str, str]],
    sessions: Sequence[SessionState] = (),
    seen: AbstractSet[str] = frozenset(),
    *,
    caught_up: bool = True,
) -> Observation:
    return Observation(
        namespaces, {s.project_uuid: s for s in sessions}, frozenset(seen), caught_up
    )


def verdicts(plan: orphans.Plan) -> dict[str, tuple[Verdict, Reason]]:
    return {e.namespace: (e.verdict, e.reason) for e in plan.entries}


# -- evidence, one namespace at a time ------------------------------------------------


@pytest.mark.parametrize("status", list(Status))
def test_a_live_session_is_never_an_orphan(status: Status) -> None:
    p = uid()
    for caught_up in (True, False):
        plan = orphans.plan(observe({p: ours(p)}, [live(p, status)], caught_up=caught_up), LOOSE)
        assert verdicts(plan) == {p: (Verdict.KEEP, Reason.LIVE)}
        assert plan.orphans == 0 and not plan.removals


def test_a_tombstone_is_an_orphan_whether_or_not_the_consumer_caught_up() -> None:
    p = uid()
    for caught_up in (True, False):
        plan = orphans.plan(observe({p: ours(p)}, [tombstone(p)], caught_up=caught_up), LOOSE)
        assert verdicts(plan) == {p: (Verdict.REMOVE, Reason.DELETED_IN_LOG)}


@pytest.mark.parametrize("status", [Status.PENDING, Status.DELETING, Status.FAILED])
def test_a_deletion_still_in_the_reconcilers_hands_is_kept(status: Status) -> None:
    """Desired absent but not yet deleted: the reconciler (with its lease) owns it."""
    p = uid()
    plan = orphans.plan(observe({p: ours(p)}, [tombstone(p, status)]), LOOSE)
    assert verdicts(plan) == {p: (Verdict.KEEP, Reason.TEARDOWN_PENDING)}


def test_never_seen_and_caught_up_is_an_orphan() -> None:
    p = uid()
    plan = orphans.plan(observe({p: ours(p)}), LOOSE)
    assert verdicts(plan) == {p: (Verdict.REMOVE, Reason.NEVER_SEEN)}
    assert plan.removals[0].release == f"dev-session-{p}"


def test_never_seen_but_not_caught_up_is_kept() -> None:
    p = uid()
    plan = orphans.plan(observe({p: ours(p)}, caught_up=False), LOOSE)
    assert verdicts(plan) == {p: (Verdict.KEEP, Reason.NOT_CAUGHT_UP)}


def test_seen_in_the_inbox_without_a_row_is_kept() -> None:
    p = uid()
    plan = orphans.plan(observe({p: ours(p)}, seen={p}), LOOSE)
    assert verdicts(plan) == {p: (Verdict.KEEP, Reason.SEEN_WITHOUT_ROW)}


@pytest.mark.parametrize(
    "name", ["kube-system", "my-team", "0B6F3A52-2C4E-4B8E-9A51-7F0E2D1C9A10", "dev-session-x"]
)
def test_our_label_on_a_namespace_not_named_by_a_project_uuid_is_kept(name: str) -> None:
    for caught_up in (True, False):
        plan = orphans.plan(observe({name: ours(name)}, caught_up=caught_up), LOOSE)
        assert verdicts(plan) == {name: (Verdict.KEEP, Reason.NOT_A_PROJECT)}
        assert plan.entries[0].project_uuid is None and plan.entries[0].release is None


def test_a_project_label_naming_another_project_is_kept() -> None:
    p, other = uid(), uid()
    plan = orphans.plan(observe({p: ours(other)}, [tombstone(p)]), LOOSE)
    assert verdicts(plan) == {p: (Verdict.KEEP, Reason.LABEL_MISMATCH)}


def test_a_namespace_with_only_the_managed_by_label_counts_as_its_names() -> None:
    """``naming.owns`` accepts a namespace without the project label: so does the plan."""
    p = uid()
    labels = {naming.MANAGED_BY_LABEL: naming.MANAGER}
    assert verdicts(orphans.plan(observe({p: labels}), LOOSE)) == {
        p: (Verdict.REMOVE, Reason.NEVER_SEEN)
    }


# -- an empty database ------------------------------------------------------------------


def test_empty_database_not_caught_up_removes_nothing() -> None:
    fleet = [uid() for _ in range(10)]
    plan = orphans.plan(observe({p: ours(p) for p in fleet}, caught_up=False), LOOSE)
    assert not plan.removals and plan.orphans == 0 and plan.stopped is None
    assert {v for v, _ in verdicts(plan).values()} == {Verdict.KEEP}


def test_empty_database_caught_up_stops_and_reports() -> None:
    """Every namespace looks orphaned: exactly what an emptied database looks like."""
    fleet = [uid() for _ in range(10)]
    plan = orphans.plan(observe({p: ours(p) for p in fleet}), Limits(5, 0.2))
    assert plan.stopped is not None and "10 of 10" in plan.stopped
    assert not plan.removals and plan.orphans == 10 and plan.share == 1.0
    assert {verdict for verdict, _ in verdicts(plan).values()} == {Verdict.HOLD}


def test_nothing_observed_is_an_empty_plan() -> None:
    plan = orphans.plan(observe({}), Limits(5, 0.2))
    assert plan.entries == () and plan.stopped is None and plan.share == 0.0


# -- the caps -----------------------------------------------------------------------------


def test_the_share_counts_every_namespace_of_ours() -> None:
    fleet = [uid() for _ in range(10)]
    doomed = fleet[:2]
    sessions = [live(p) for p in fleet[2:]] + [tombstone(p) for p in doomed]
    observed = observe({p: ours(p) for p in fleet}, sessions)
    assert orphans.plan(observed, Limits(5, 0.2)).stopped is None  # 2/10 is not above 20%
    stopped = orphans.plan(observed, Limits(5, 0.19))
    assert stopped.stopped is not None and not stopped.removals


def test_the_cap_defers_the_rest_tombstones_first() -> None:
    never = [uid() for _ in range(3)]
    dead = [uid() for _ in range(3)]
    fleet = never + dead
    plan = orphans.plan(
        observe({p: ours(p) for p in fleet}, [tombstone(p) for p in dead]), Limits(4, 1.0)
    )
    assert {e.namespace for e in plan.removals} == {*dead, never[0]}
    assert [e.namespace for e in plan.entries if e.verdict is Verdict.DEFER] == never[1:]
    assert plan.orphans == 6


def test_zero_removals_reports_only() -> None:
    p = uid()
    plan = orphans.plan(observe({p: ours(p)}), Limits(0, 1.0))
    assert verdicts(plan) == {p: (Verdict.DEFER, Reason.NEVER_SEEN)}


def test_scope_limits_the_plan_not_the_denominator() -> None:
    fleet = [uid() for _ in range(4)]
    observed = observe({p: ours(p) for p in fleet}, [live(p) for p in fleet[1:]])
    plan = orphans.plan(observed, Limits(5, 0.5), scope=[fleet[0], fleet[1]])
    assert set(verdicts(plan)) == {fleet[0], fleet[1]}
    assert plan.managed == 4 and plan.orphans == 1 and plan.removals[0].namespace == fleet[0]


# -- properties ---------------------------------------------------------------------------

KINDS = st.sampled_from(["live", "tombstone", "teardown", "seen", "never", "foreign", "label"])


@given(kinds=st.lists(KINDS, max_size=30), caught_up=st.booleans(), cap=st.integers(0, 10))
def test_plan_properties(kinds: list[str], caught_up: bool, cap: int) -> None:
    namespaces: dict[str, dict[str, str]] = {}
    sessions: list[SessionState] = []
    seen: set[str] = set()
    for n, kind in enumerate(kinds):
        p = str(uuid.UUID(int=n + 1))
        if kind == "foreign":
            namespaces[f"team-{n}"] = ours(f"team-{n}")
            continue
        namespaces[p] = ours(str(uuid.UUID(int=10_000 + n)) if kind == "label" else p)
        if kind == "live":
            sessions.append(live(p))
        elif kind == "tombstone":
            sessions.append(tombstone(p))
        elif kind == "teardown":
            sessions.append(tombstone(p, Status.DELETING))
        elif kind == "seen":
            seen.add(p)
    limits = Limits(cap, 0.5)
    plan = orphans.plan(observe(namespaces, sessions, seen, caught_up=caught_up), limits)
    by_ns = {e.namespace: e for e in plan.entries}
    assert len(plan.removals) <= cap
    for s in sessions:
        if s.desired is Desired.PRESENT:
            assert by_ns[s.namespace].verdict is Verdict.KEEP
    for e in plan.removals:
        assert e.reason in orphans.ORPHAN_REASONS and e.project_uuid == e.namespace
        assert caught_up or e.reason is Reason.DELETED_IN_LOG
    if plan.stopped is not None:
        assert not plan.removals and plan.orphans > 0.5 * len(namespaces)
    else:
        assert plan.orphans <= 0.5 * len(namespaces)
    assert (
        plan.entries
        == orphans.plan(observe(namespaces, sessions, seen, caught_up=caught_up), limits).entries
    )


# -- reading the log to its end -------------------------------------------------------


@pytest.mark.parametrize(
    ("partitions", "expected"),
    [
        ([(10, 0, 10), (5, 0, 5)], True),
        ([(10, 0, 10), (4, 0, 5)], False),  # lag on one partition
        ([(None, 0, 5)], False),  # never committed, records waiting
        ([(None, 0, 0), (3, 0, 3)], True),  # an empty partition needs no commit
        ([(None, 7, 7)], True),  # everything in it deleted by retention
        ([(2, 5, 9)], False),  # committed before the first retained record
        ([(12, 0, 10)], True),
        ([], False),  # no partitions: the topic is missing, nothing is known
    ],
)
def test_read_to_end(partitions: list[tuple[int | None, int, int]], expected: bool) -> None:
    assert orphans.read_to_end(partitions) is expected

"""Orphan decisions (pure): which namespaces of ours no session accounts for, and which of
them may go.

An orphan is a namespace carrying our ownership label (each holds at most one release of
ours, named after the same project) that no live session accounts for. Removing one is
the only place the service deletes on *absence* of intent, so the evidence must be
positive, never merely an empty table:

- the project's last event in the log is a ``ProjectDeleted``: its session row is a
  tombstone (desired absent, status deleted); or
- the consumer group has read the input topic to its end and the project was never seen:
  no session row and no inbox row.

Fleets have been wiped by controllers that trusted an empty source, so a sweep is also
capped: at most ``max_removals`` go per sweep (the rest wait for the next one), and a
sweep whose orphans would exceed ``max_share`` of every namespace of ours removes nothing
at all and reports instead (an emptied or restored-from-old-backup database looks exactly
like a fleet of orphans).

Releases are not listed on their own: the service's credentials may not read Helm's
release records cluster-wide (least privilege, deploy/README.md), and a release of ours
can only live in its project's namespace, which is what is observed here.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

from consumer.domain import naming
from consumer.domain.model import Desired, SessionState, Status


class Verdict(enum.StrEnum):
    """What a sweep does with one namespace."""

    REMOVE = "remove"  # an orphan, removed by this sweep
    DEFER = "defer"  # an orphan beyond this sweep's removal cap: a later sweep takes it
    HOLD = "hold"  # an orphan, but the sweep stopped (share exceeded): nothing is removed
    KEEP = "keep"  # not an orphan, or not provably one


class Reason(enum.StrEnum):
    """Why a namespace got its verdict (printed by ``devsessions reconcile``)."""

    LIVE = "live session"
    TEARDOWN_PENDING = "deleted in the log; the reconciler is still tearing it down"
    SEEN_WITHOUT_ROW = "seen in the input log, but no session row"
    NOT_CAUGHT_UP = "never seen, but the consumer has not read the input topic to its end"
    NOT_A_PROJECT = "our label, but the name is not a project UUID"
    LABEL_MISMATCH = "our label, but its project label names another project"
    DELETED_IN_LOG = "last event is ProjectDeleted (tombstone)"
    NEVER_SEEN = "never seen in the input topic, read to its end"


ORPHAN_REASONS = frozenset({Reason.DELETED_IN_LOG, Reason.NEVER_SEEN})


@dataclasses.dataclass(frozen=True)
class Limits:
    """How much one sweep may remove: a count, and a share of every namespace of ours."""

    max_removals: int
    max_share: float


@dataclasses.dataclass(frozen=True)
class Observation:
    """What a sweep saw, read in this order: cluster, log progress, database.

    ``namespaces``: live namespaces carrying our ownership label, with their labels.
    ``sessions``: the session rows (tombstones included) of the UUID-named ones.
    ``seen``: projects among them the inbox has events of.
    ``caught_up``: the consumer group had no lag on any partition of the input topic.
    Reading the database last means every namespace the service made has its row by then
    (intake commits the row before a worker creates the namespace).
    """

    namespaces: Mapping[str, Mapping[str, str]]
    sessions: Mapping[str, SessionState]
    seen: frozenset[str]
    caught_up: bool


@dataclasses.dataclass(frozen=True)
class Entry:
    """One namespace of ours and what the sweep does with it."""

    namespace: str
    project_uuid: str | None
    verdict: Verdict
    reason: Reason

    @property
    def release(self) -> str | None:
        """The release of ours that may live in it."""
        return naming.release_for(self.project_uuid) if self.project_uuid else None

    @property
    def orphan(self) -> bool:
        return self.reason in ORPHAN_REASONS


@dataclasses.dataclass(frozen=True)
class Plan:
    """A sweep's decisions, plus what an operator needs to judge a stopped one."""

    entries: tuple[Entry, ...]
    managed: int  # every namespace of ours, in scope or not: the share's denominator
    orphans: int  # orphans among them (in scope)
    caught_up: bool
    limits: Limits
    stopped: str | None = None  # why the sweep removes nothing, when it stopped

    @property
    def removals(self) -> tuple[Entry, ...]:
        return tuple(e for e in self.entries if e.verdict is Verdict.REMOVE)

    @property
    def share(self) -> float:
        return self.orphans / self.managed if self.managed else 0.0


def classify(
    namespace: str,
    labels: Mapping[str, str],
    session: SessionState | None,
    *,
    seen: bool,
    caught_up: bool,
) -> tuple[str | None, Reason]:
    """The project a namespace of ours belongs to, and whether (why) it is an orphan.

    Also the re-check made under the project's lock right before a removal.
    """
    if not naming.is_project_uuid(namespace):
        return None, Reason.NOT_A_PROJECT
    project = namespace
    if labels.get(naming.PROJECT_LABEL, project) != project:
        return project, Reason.LABEL_MISMATCH
    if session is not None:
        if session.desired is Desired.PRESENT:
            return project, Reason.LIVE
        if session.status is Status.DELETED:
            return project, Reason.DELETED_IN_LOG
        return project, Reason.TEARDOWN_PENDING
    if seen:
        return project, Reason.SEEN_WITHOUT_ROW
    if not caught_up:
        return project, Reason.NOT_CAUGHT_UP
    return project, Reason.NEVER_SEEN


def plan(observed: Observation, limits: Limits, scope: Iterable[str] | None = None) -> Plan:
    """Decide every namespace of ours (those in ``scope`` only, when given).

    Tombstones go before never-seen projects (the stronger evidence), each in name order,
    so capped sweeps take the same ones first and the plan reads the same twice.
    """
    wanted = None if scope is None else frozenset(scope)
    decided = []
    for namespace in sorted(observed.namespaces):
        if wanted is not None and namespace not in wanted:
            continue
        project, reason = classify(
            namespace,
            observed.namespaces[namespace],
            observed.sessions.get(namespace),
            seen=namespace in observed.seen,
            caught_up=observed.caught_up,
        )
        decided.append((namespace, project, reason))
    orphans = sorted(
        (d for d in decided if d[2] in ORPHAN_REASONS),
        key=lambda d: (d[2] is not Reason.DELETED_IN_LOG, d[0]),
    )
    managed = len(observed.namespaces)
    stopped = _stop_reason(len(orphans), managed, limits)
    verdicts: dict[str, Verdict] = {}
    for rank, (namespace, _, _) in enumerate(orphans):
        if stopped is not None:
            verdicts[namespace] = Verdict.HOLD
        elif rank < limits.max_removals:
            verdicts[namespace] = Verdict.REMOVE
        else:
            verdicts[namespace] = Verdict.DEFER
    entries = tuple(
        Entry(namespace, project, verdicts.get(namespace, Verdict.KEEP), reason)
        for namespace, project, reason in decided
    )
    return Plan(entries, managed, len(orphans), observed.caught_up, limits, stopped)


def _stop_reason(orphans: int, managed: int, limits: Limits) -> str | None:
    """Why a sweep of ``orphans`` out of ``managed`` must remove nothing, if it must."""
    if orphans and orphans > limits.max_share * managed:
        return (
            f"{orphans} of {managed} namespaces look orphaned ({orphans / managed:.0%}),"
            f" more than the allowed share of {limits.max_share:.0%}: is the database"
            " empty, or restored from an old backup? nothing removed"
        )
    return None


def read_to_end(partitions: Iterable[tuple[int | None, int, int]]) -> bool:
    """Whether a consumer group has read every partition to its end (no lag anywhere).

    Each item is (committed offset or None, first offset, end offset) of one partition; a
    partition with nothing left in it needs no commit. No partitions at all (the topic is
    missing) is not evidence of anything: False.
    """
    seen_any = False
    for committed, first, end in partitions:
        seen_any = True
        if end <= first:
            continue
        if committed is None or committed < end:
            return False
    return seen_any

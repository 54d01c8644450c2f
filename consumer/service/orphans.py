"""The orphan sweep: observe, plan (``domain.orphans``), remove what the plan allows.

Namespaces of ours that no live session accounts for are found by the periodic resync
(and by ``devsessions reconcile``). What may go is the pure plan's decision; this module
only gathers its evidence and carries out removals, each one:

- one sweep at a time across replicas (a named lock), so the cap holds for the fleet;
- under the project's lock (``naming.project_lock``), so no worker acts on the project
  at the same time; a project whose lock is taken is left for a later sweep;
- after deciding again from a fresh read of its row and inbox under that lock (an event
  consumed since the plan was made wins);
- through teardown's own path (``actions.teardown.remove_owned``), which refuses a
  namespace that does not carry our ownership label before any destructive call.

Nothing is written to the database: an orphan has no session (never seen), or a
tombstone whose ``SessionDeleted`` went out long ago.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable

import structlog

from consumer.domain import naming, orphans
from consumer.domain.errors import ActionError
from consumer.domain.orphans import Entry, Limits, Observation, Plan
from consumer.observability import metrics
from consumer.ports import Cluster, Helm, Locks, LogProgress, UnitOfWorkFactory
from consumer.service.actions.teardown import OWNERSHIP_STEP, remove_owned

log = structlog.get_logger(__name__)
SWEEP_LOCK = "devsessions.orphan-sweep"  # one sweep at a time across replicas


class Outcome(enum.StrEnum):
    """What happened to one planned removal."""

    REMOVED = "removed"
    GONE = "gone"  # the namespace had already disappeared
    BUSY = "busy"  # a worker holds the project's lock: a later sweep looks again
    NOT_ORPHAN = "not an orphan any more"  # an event arrived since the plan
    NOT_OURS = "not ours"  # the ownership check refused it
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Removal:
    entry: Entry
    outcome: Outcome
    detail: str = ""


@dataclasses.dataclass(frozen=True)
class SweepReport:
    """A plan and what its removals came to."""

    plan: Plan
    removals: tuple[Removal, ...] = ()

    @property
    def removed(self) -> int:
        return sum(r.outcome is Outcome.REMOVED for r in self.removals)


@dataclasses.dataclass(frozen=True)
class SweepConfig:
    """Where the evidence comes from, and the caps of one sweep."""

    group: str
    topic: str
    limits: Limits


class OrphanSweep:
    """Finds namespaces of ours without a live session and removes the provable orphans."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        locks: Locks,
        helm: Helm,
        cluster: Cluster,
        progress: LogProgress,
        config: SweepConfig,
    ) -> None:
        self._uow, self._locks, self._helm, self._cluster = uow, locks, helm, cluster
        self._progress, self._config = progress, config

    async def plan(
        self, *, scope: Iterable[str] | None = None, limits: Limits | None = None
    ) -> Plan:
        """What a sweep would do now (no change anywhere: ``reconcile --dry-run``).

        Read in this order, so that the database is never older than the other two: the
        cluster, the group's progress, then the database.
        """
        namespaces = await self._cluster.managed_namespace_labels()
        caught_up = await self._progress.caught_up(self._config.group, self._config.topic)
        projects = sorted(n for n in namespaces if naming.is_project_uuid(n))
        async with self._uow() as uow:
            sessions = await uow.sessions.get_many(projects) if projects else {}
            seen = await uow.inbox.projects_seen([p for p in projects if p not in sessions])
        observed = Observation(namespaces, sessions, frozenset(seen), caught_up)
        return orphans.plan(observed, limits or self._config.limits, scope)

    async def sweep(
        self, *, scope: Iterable[str] | None = None, limits: Limits | None = None
    ) -> SweepReport | None:
        """Plan, then remove what the plan allows (nothing when it stopped).

        None when another sweep (another replica, or ``devsessions reconcile``) is running.
        """
        async with self._locks.hold(SWEEP_LOCK) as alone:
            if not alone:
                log.info("orphan sweep skipped: another one is running")
                return None
            return await self._sweep(await self.plan(scope=scope, limits=limits))

    async def _sweep(self, plan: Plan) -> SweepReport:
        held = [
            e for e in plan.entries if e.verdict in (orphans.Verdict.DEFER, orphans.Verdict.HOLD)
        ]
        if plan.orphans:
            metrics.ORPHANS.labels(outcome="found").inc(plan.orphans)
        if held:
            metrics.ORPHANS.labels(outcome="held").inc(len(held))
        if plan.stopped is not None:
            metrics.ORPHAN_SWEEPS_STOPPED.inc()
            log.warning(
                "orphan sweep stopped",
                reason=plan.stopped,
                orphans=plan.orphans,
                managed=plan.managed,
                namespaces=[e.namespace for e in plan.entries if e.orphan][:20],
            )
            return SweepReport(plan)
        removals = tuple([await self._remove(entry) for entry in plan.removals])
        if plan.orphans:
            log.info(
                "orphan sweep",
                orphans=plan.orphans,
                managed=plan.managed,
                removed=sum(r.outcome is Outcome.REMOVED for r in removals),
                deferred=len(held),
            )
        return SweepReport(plan, removals)

    async def _remove(self, entry: Entry) -> Removal:
        project = entry.project_uuid
        assert project is not None  # only UUID-named namespaces are ever orphans
        with structlog.contextvars.bound_contextvars(project_uuid=project):
            async with self._locks.hold(naming.project_lock(project)) as locked:
                if not locked:
                    removal = Removal(entry, Outcome.BUSY, "a worker holds the project")
                else:
                    removal = await self._remove_locked(entry, project)
        counted = {Outcome.REMOVED: "removed", Outcome.FAILED: "failed"}
        if removal.outcome in (Outcome.BUSY, Outcome.NOT_OURS):
            metrics.ORPHANS.labels(outcome="held").inc()
        elif removal.outcome in counted:
            metrics.ORPHANS.labels(outcome=counted[removal.outcome]).inc()
        quiet = removal.outcome in (Outcome.REMOVED, Outcome.GONE)
        (log.info if quiet else log.warning)(
            "orphan " + removal.outcome.value,
            namespace=entry.namespace,
            project_uuid=project,
            reason=entry.reason.value,
            detail=removal.detail,
        )
        return removal

    async def _remove_locked(self, entry: Entry, project: str) -> Removal:
        """Decide again from fresh rows, then remove through teardown's ownership check."""
        async with self._uow() as uow:
            session = await uow.sessions.get(project)
            seen = bool(await uow.inbox.projects_seen([project])) if session is None else False
        labels = await self._cluster.namespace_labels(entry.namespace)
        if labels is None:
            return Removal(entry, Outcome.GONE)
        # Caught up as the plan found it: an event produced since then either reached the
        # database (the fresh read sees it) or not yet, and then re-provisions afterwards.
        _, reason = orphans.classify(
            entry.namespace,
            labels,
            session,
            seen=seen,
            caught_up=entry.reason is orphans.Reason.NEVER_SEEN,
        )
        if reason not in orphans.ORPHAN_REASONS:
            return Removal(entry, Outcome.NOT_ORPHAN, reason.value)
        release = entry.release or naming.release_for(project)
        try:
            removed = await remove_owned(
                project,
                entry.namespace,
                release,
                helm=self._helm,
                cluster=self._cluster,
                timeout=None,
            )
        except ActionError as exc:
            outcome = Outcome.NOT_OURS if exc.step == OWNERSHIP_STEP else Outcome.FAILED
            return Removal(entry, outcome, str(exc)[:300])
        except Exception as exc:  # CancelledError is not an Exception: it propagates
            return Removal(entry, Outcome.FAILED, f"{type(exc).__name__}: {exc}"[:300])
        return Removal(entry, Outcome.REMOVED if removed else Outcome.GONE)

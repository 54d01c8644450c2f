"""The reconcile loop for one project: lock, claim, decide, act, record, repeat.

A worker first takes the project's session-level lock (``ports.Locks``: held by one
database connection, dropped by PostgreSQL the moment the worker's process dies), then
claims the project's lease in its row, asks the pure domain for the next action, runs
it, and writes the outcome together with the event to publish. The lock makes crash
recovery fast: a dead worker's lock is free at once, so another replica takes its
projects over within one takeover check instead of after the lease runs out; the lease
stays as the fence on every write (``save_outcome`` needs it) and as the fallback
right after a database restart. The outcome is written only while the generation it
worked on is still current: when a newer event changed what is desired meanwhile, the
loop decides again from the fresh row instead.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Literal

import structlog

from consumer.domain import naming, reconcile
from consumer.domain.backoff import RetryPolicy
from consumer.domain.errors import ActionError, PermanentError, TransientError
from consumer.domain.model import SessionState
from consumer.domain.reconcile import Action
from consumer.observability import metrics
from consumer.ports import (
    Clock,
    Cluster,
    HeldLock,
    Helm,
    Locks,
    OutboxMessage,
    UnitOfWorkFactory,
)
from consumer.service import heartbeat
from consumer.service.actions.provision import ProvisionConfig, provision
from consumer.service.actions.teardown import teardown
from consumer.service.messages import MessageFactory

log = structlog.get_logger(__name__)
MAX_STEPS = 8  # a project whose desire keeps changing yields to others after this


@dataclasses.dataclass(frozen=True)
class ReconcileConfig:
    """Timing and policy of reconciliation."""

    provision: ProvisionConfig
    namespace_timeout: float
    lease_seconds: float
    lifetime: timedelta
    retry: RetryPolicy


class Reconciler:
    """Drives one project at a time to its desired state."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        locks: Locks,
        helm: Helm,
        cluster: Cluster,
        clock: Clock,
        messages: MessageFactory,
        config: ReconcileConfig,
        owner: str,
        on_outbox: Callable[[], None] = lambda: None,
        rng: random.Random | None = None,
    ) -> None:
        self._uow, self._locks, self._helm, self._cluster = uow, locks, helm, cluster
        self._clock, self._messages, self._config = clock, messages, config
        # The suffix tells other workers this owner works only while holding the lock.
        self._owner, self._on_outbox = owner + naming.LOCK_HOLDER, on_outbox
        self._rng = rng or random.Random()

    async def reconcile(self, project_uuid: str) -> SessionState | None:
        """Run actions for ``project_uuid`` until it converges, waits, or is owned elsewhere."""
        with structlog.contextvars.bound_contextvars(project_uuid=project_uuid):
            return await self._reconcile(project_uuid)

    async def _reconcile(self, project_uuid: str) -> SessionState | None:
        async with self._locks.hold(naming.project_lock(project_uuid)) as held:
            if not held:  # a live worker (here or in another replica) has the project
                return None
            return await self._reconcile_holding(project_uuid, held)

    async def _reconcile_holding(self, project_uuid: str, held: HeldLock) -> SessionState | None:
        session = await self._claim(project_uuid)
        if session is None:
            return None
        released = False
        try:
            for _ in range(MAX_STEPS):
                action = reconcile.next_action(session, self._clock.now())
                if action in (Action.NONE, Action.WAIT):
                    return session
                outcome = await self._step(session, action, held)
                if outcome is None:  # a newer event moved the generation: decide again
                    fresh = await self._claim(project_uuid)
                    if fresh is None:
                        return None
                    session = fresh
                else:
                    session, released = outcome
                    if released:  # the final outcome gave the lease back with it
                        return session
            return session
        finally:
            if not released:
                await self._release(project_uuid)

    async def _claim(self, project_uuid: str) -> SessionState | None:
        """Take or renew the project's lease; None when another worker holds it."""
        async with self._uow() as uow:
            session = await uow.leases.claim(
                project_uuid, self._owner, self._config.lease_seconds, take_over=True
            )
            await uow.commit()
        return session

    async def _release(self, project_uuid: str) -> None:
        async with self._uow() as uow:
            await uow.leases.release(project_uuid, self._owner)
            await uow.commit()

    async def _save(
        self, session: SessionState, outbox: list[OutboxMessage], *, release: bool = False
    ) -> bool:
        """Record an outcome and its events; False when the lease or generation moved.

        With ``release`` the lease is given back in the same transaction: a crash can then
        never leave a final outcome behind with a lease still held.
        """
        async with self._uow() as uow:
            if not await uow.sessions.save_outcome(session, owner=self._owner):
                return False
            await uow.outbox.add(outbox)
            if release:
                await uow.leases.release(session.project_uuid, self._owner)
            await uow.commit()
        return True

    async def _step(
        self, session: SessionState, action: Action, held: HeldLock
    ) -> tuple[SessionState, bool] | None:
        with structlog.contextvars.bound_contextvars(action=action.value):
            return await self._run_step(session, action, held)

    async def _run_step(
        self, session: SessionState, action: Action, held: HeldLock
    ) -> tuple[SessionState, bool] | None:
        """One action: record the start, act, record the outcome.

        Returns the outcome and whether the lease went back with it (nothing left to do
        now), or None when the lease or the generation moved meanwhile.
        """
        running = reconcile.started(session, action, self._clock.now())
        if not await self._save(running, []):
            return None
        log.info("reconcile action", generation=session.generation, attempt=session.attempts + 1)
        started = time.monotonic()
        metrics.INFLIGHT.inc()
        try:
            outcome = await heartbeat.while_owned(
                self._act(running, action),
                held=held,
                renew=lambda: self._claim(session.project_uuid),
                generation=session.generation,
                beat=self._config.lease_seconds / 3,
            )
        finally:
            metrics.INFLIGHT.dec()
            metrics.ACTION_SECONDS.labels(action=action.value).observe(time.monotonic() - started)
        if outcome is None:
            return None
        done, outbox = outcome
        final = reconcile.next_action(done, self._clock.now()) in (Action.NONE, Action.WAIT)
        if not await self._save(done, outbox, release=final):
            return None
        if outbox:
            self._on_outbox()
        return done, final

    async def _act(
        self, session: SessionState, action: Action
    ) -> tuple[SessionState, list[OutboxMessage]]:
        operation: Literal["provision", "teardown"] = (
            "provision" if action is Action.PROVISION else "teardown"
        )
        try:
            if action is Action.PROVISION:
                endpoints = await provision(
                    session, helm=self._helm, cluster=self._cluster, config=self._config.provision
                )
                now = self._clock.now()
                done = reconcile.provisioned(session, endpoints, now, self._config.lifetime)
                message = self._messages.session_ready(done, done.cause, now)
            else:
                await teardown(
                    session,
                    helm=self._helm,
                    cluster=self._cluster,
                    timeout=self._config.namespace_timeout,
                )
                now = self._clock.now()
                done = reconcile.torn_down(session, now)
                message = self._messages.session_deleted(done, done.cause, now)
        except Exception as caught:  # CancelledError is not an Exception: it propagates
            exc = (
                caught
                if isinstance(caught, ActionError)
                else TransientError("unexpected", f"{type(caught).__name__}: {caught}")
            )
            if not isinstance(caught, ActionError):
                log.exception("unexpected error in action")
            metrics.ACTIONS.labels(action=action.value, result="failed").inc()
            now = self._clock.now()
            failure = reconcile.failed(
                session,
                str(exc),
                permanent=isinstance(exc, PermanentError),
                now=now,
                policy=self._config.retry,
                rng=self._rng,
            )
            log.warning(
                "reconcile action failed",
                error=str(exc),
                attempts=failure.attempts,
                will_retry=failure.will_retry,
            )
            message = self._messages.session_failed(
                failure.session,
                operation=operation,
                reason=failure.reason,
                will_retry=failure.will_retry,
                now=now,
            )
            return failure.session, [message]
        metrics.ACTIONS.labels(action=action.value, result="succeeded").inc()
        log.info("reconcile action succeeded")
        return done, [message]

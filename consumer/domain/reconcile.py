"""Reconcile decisions (pure): which action a session needs, and how outcomes change it.

Shaped like Flux's helm-controller: ask "state -> next action", run one action, record
the observation, repeat until nothing is left. ``Ready`` (status ``running``) is only
ever derived here from a successful provision of the current generation.
"""

from __future__ import annotations

import dataclasses
import enum
import random
from datetime import datetime, timedelta

from consumer.domain import backoff
from consumer.domain.backoff import RetryPolicy
from consumer.domain.model import Desired, Endpoints, SessionState, Status


class Action(enum.StrEnum):
    """The one next step for a session."""

    NONE = "none"
    WAIT = "wait"
    PROVISION = "provision"
    TEARDOWN = "teardown"


def next_action(session: SessionState, now: datetime) -> Action:
    """The next step for ``session`` at ``now``."""
    if session.converged:
        return Action.NONE
    if session.next_attempt_at is not None and session.next_attempt_at > now:
        return Action.WAIT
    return Action.PROVISION if session.desired is Desired.PRESENT else Action.TEARDOWN


def started(session: SessionState, action: Action, now: datetime) -> SessionState:
    """The session as it looks while ``action`` runs."""
    status = Status.PROVISIONING if action is Action.PROVISION else Status.DELETING
    return dataclasses.replace(session, status=status, updated_at=now)


def provisioned(
    session: SessionState, endpoints: Endpoints, now: datetime, lifetime: timedelta
) -> SessionState:
    """The session after a successful provision of its current generation."""
    return backoff.fresh_start(
        session,
        status=Status.RUNNING,
        observed_generation=session.generation,
        endpoints=endpoints,
        ready_at=now,
        expires_at=now + lifetime,
        updated_at=now,
    )


def torn_down(session: SessionState, now: datetime) -> SessionState:
    """The session after its namespace is gone."""
    return backoff.fresh_start(
        session,
        status=Status.DELETED,
        observed_generation=session.generation,
        endpoints=None,
        deleted_at=now,
        expires_at=now,
        updated_at=now,
    )


@dataclasses.dataclass(frozen=True)
class Failure:
    """What a failed attempt leaves behind, for the session row and ``SessionFailed``."""

    session: SessionState
    will_retry: bool
    attempts: int
    reason: str


def failed(
    session: SessionState,
    reason: str,
    *,
    permanent: bool,
    now: datetime,
    policy: RetryPolicy,
    rng: random.Random,
) -> Failure:
    """Record a failed attempt: back off and retry, or give up as ``failed``."""
    attempts = session.attempts + 1
    will_retry = not permanent and attempts < policy.max_attempts
    if will_retry:
        after = backoff.failed_attempt(
            session,
            reason,
            retry_at=now + timedelta(seconds=policy.delay(attempts, rng)),
            updated_at=now,
            status=Status.PENDING if session.desired is Desired.PRESENT else Status.DELETING,
        )
    else:
        after = backoff.failed_attempt(
            session,
            reason,
            retry_at=None,
            updated_at=now,
            status=Status.FAILED,
            observed_generation=session.generation,
        )
    return Failure(session=after, will_retry=will_retry, attempts=attempts, reason=reason)


def retried(session: SessionState, now: datetime) -> SessionState:
    """A failed session revived by hand (``devsessions sessions retry``).

    A working status makes it unconverged again, without touching the generation, which
    belongs to the log's events.
    """
    status = Status.PENDING if session.desired is Desired.PRESENT else Status.DELETING
    return backoff.fresh_start(session, status=status, retries=session.retries + 1, updated_at=now)

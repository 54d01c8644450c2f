"""Intake decisions: what one input event does to a project's session (pure).

The intake records *intent* only: it never touches Helm or Kubernetes. Given the current
session (or none) and a decoded event with its log position, it returns the new session
snapshot, the output events to publish at once (republished answers for duplicates), and
whether the reconciler has work. Rules (issue: idempotent and replayable):

- an event at or before the project's high-water mark is stale: nothing changes, so a
  replay from offset 0 of an applied log makes no change and no Helm call (what "before"
  means across a re-created or re-partitioned topic: ``LogPosition.is_after``);
- the later event in log order wins: a ``ProjectCreated`` after a ``ProjectDeleted``
  provisions again, an older one (stale) never resurrects;
- a ``ProjectCreated`` for a live session republishes ``SessionReady`` unless the
  project's parameters changed, in which case the release is upgraded;
- a ``ProjectDeleted`` for an unknown or deleted project republishes ``SessionDeleted``.
"""

from __future__ import annotations

import dataclasses
import enum
from datetime import datetime, timedelta
from typing import Any

from consumer.domain import backoff, naming
from consumer.domain.model import Cause, Desired, EndReason, LogPosition, SessionState, Status


class Reply(enum.StrEnum):
    """An answer published straight away, without reconciling."""

    SESSION_READY = "session.ready"
    SESSION_DELETED = "session.deleted"
    SESSION_REFUSED = "session.refused"  # SessionFailed, not retried: the event breaks a rule


@dataclasses.dataclass(frozen=True)
class Created:
    """The parts of ``ProjectCreated`` the decision needs."""

    project_uuid: str
    project_id: int
    user_id: int
    overrides: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Deleted:
    """The parts of ``ProjectDeleted`` the decision needs."""

    project_uuid: str


@dataclasses.dataclass(frozen=True)
class IntakeDecision:
    """What to persist for one event. ``session`` is None when nothing changes."""

    session: SessionState | None
    replies: tuple[Reply, ...] = ()
    reconcile: bool = False
    reason: str = ""
    stale: bool = False  # at or before the high-water mark: nothing changes


_STALE = IntakeDecision(
    None, reason="stale: at or before the project's high-water mark", stale=True
)


def decide(
    current: SessionState | None,
    event: Created | Deleted,
    *,
    cause: Cause,
    position: LogPosition,
    now: datetime,
    lifetime: timedelta,
    home: int | None = None,
) -> IntakeDecision:
    """Decide what ``event`` at ``position`` does to ``current``.

    ``home`` is the partition the project's key maps to now (None when unknown); it only
    matters when the event and the mark sit in different partitions of one topic.
    """
    if current is not None and not position.is_after(current.high_water, home=home):
        return _STALE
    if isinstance(event, Created):
        return _on_created(
            current, event, cause=cause, position=position, now=now, lifetime=lifetime
        )
    return _on_deleted(current, event, cause=cause, position=position, now=now, lifetime=lifetime)


def refuse(
    current: SessionState | None,
    event: Created,
    why: str,
    *,
    cause: Cause,
    position: LogPosition,
    now: datetime,
    lifetime: timedelta,
    home: int | None = None,
) -> IntakeDecision:
    """A ``ProjectCreated`` that breaks a rule (``why``): answered, never acted on.

    A new project is recorded as ``failed`` (converged: no work, no retry) without the
    refused overrides; an existing session keeps what it has. Either way the high-water
    mark moves, so the refusal is not re-decided, and a ``SessionFailed`` names the rule.
    """
    if current is not None and not position.is_after(current.high_water, home=home):
        return _STALE
    if current is None:
        fresh = _new_session(event.project_uuid, cause, position, now, lifetime)
        refused = dataclasses.replace(
            fresh,
            project_id=event.project_id,
            user_id=event.user_id,
            status=Status.FAILED,
            generation=1,
            observed_generation=1,
            last_error=why,
        )
    else:
        refused = dataclasses.replace(current, high_water=position, updated_at=now)
    return IntakeDecision(refused, replies=(Reply.SESSION_REFUSED,), reason=f"refused: {why}")


def _on_created(
    current: SessionState | None,
    event: Created,
    *,
    cause: Cause,
    position: LogPosition,
    now: datetime,
    lifetime: timedelta,
) -> IntakeDecision:
    if current is None:
        fresh = _new_session(event.project_uuid, cause, position, now, lifetime)
        return IntakeDecision(
            _want_present(fresh, event, cause, now, lifetime),
            reconcile=True,
            reason="new project",
        )
    # A ProjectCreated is evidence that the project lives: it renews the expiry.
    seen = dataclasses.replace(
        current,
        high_water=position,
        updated_at=now,
        expires_at=max(current.expires_at, now + lifetime),
    )
    same_spec = current.desired is Desired.PRESENT and (
        current.project_id,
        current.user_id,
        current.overrides,
    ) == (event.project_id, event.user_id, event.overrides)
    if same_spec and current.status is Status.RUNNING and current.endpoints is not None:
        return IntakeDecision(
            seen,
            replies=(Reply.SESSION_READY,),
            reason="already running: republish SessionReady",
        )
    if same_spec and current.status in (Status.PENDING, Status.PROVISIONING):
        return IntakeDecision(seen, reason="already being provisioned")
    reason = "revive failed session" if current.status is Status.FAILED else "(re)provision"
    return IntakeDecision(
        _want_present(seen, event, cause, now, lifetime), reconcile=True, reason=reason
    )


def _on_deleted(
    current: SessionState | None,
    event: Deleted,
    *,
    cause: Cause,
    position: LogPosition,
    now: datetime,
    lifetime: timedelta,
) -> IntakeDecision:
    if current is None:
        tombstone = dataclasses.replace(
            _new_session(event.project_uuid, cause, position, now, lifetime),
            status=Status.DELETED,
            desired=Desired.ABSENT,
            deleted_at=now,
            expires_at=now,
            end_reason=EndReason.DELETED,
        )
        return IntakeDecision(
            tombstone,
            replies=(Reply.SESSION_DELETED,),
            reason="unknown project: record tombstone, republish SessionDeleted",
        )
    # Upstream's word outranks an expiry: from now on the session is absent as deleted.
    seen = dataclasses.replace(
        current, high_water=position, updated_at=now, end_reason=EndReason.DELETED
    )
    if current.desired is Desired.ABSENT and current.status is not Status.FAILED:
        replies = (Reply.SESSION_DELETED,) if current.status is Status.DELETED else ()
        return IntakeDecision(seen, replies=replies, reason="already deleted or deleting")
    doomed = _new_desire(seen, Desired.ABSENT, cause)
    reason = "retry failed teardown" if current.status is Status.FAILED else "tear down"
    return IntakeDecision(doomed, reconcile=True, reason=reason)


def _new_session(
    project_uuid: str, cause: Cause, position: LogPosition, now: datetime, lifetime: timedelta
) -> SessionState:
    return SessionState(
        project_uuid=project_uuid,
        project_id=0,
        user_id=0,
        namespace=naming.namespace_for(project_uuid),
        release_name=naming.release_for(project_uuid),
        status=Status.PENDING,
        desired=Desired.PRESENT,
        generation=0,
        observed_generation=0,
        high_water=position,
        cause=cause,
        overrides={},
        created_at=now,
        updated_at=now,
        expires_at=now + lifetime,
    )


def _want_present(
    session: SessionState, event: Created, cause: Cause, now: datetime, lifetime: timedelta
) -> SessionState:
    """Wanted present from this event on: a ``ProjectCreated`` is evidence the project
    lives, so the expiry starts over (an expired or deleted one would otherwise be
    expired again before it is even provisioned)."""
    return dataclasses.replace(
        _new_desire(session, Desired.PRESENT, cause),
        project_id=event.project_id,
        user_id=event.user_id,
        overrides=event.overrides,
        deleted_at=None,
        end_reason=None,
        expires_at=max(session.expires_at, now + lifetime),
        updated_at=now,
    )


def _new_desire(session: SessionState, desired: Desired, cause: Cause) -> SessionState:
    """A new generation of what the log asks for: work starts afresh from this cause."""
    return backoff.fresh_start(
        session,
        desired=desired,
        status=Status.PENDING if desired is Desired.PRESENT else Status.DELETING,
        generation=session.generation + 1,
        cause=cause,
    )

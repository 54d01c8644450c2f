"""Session expiry (pure): when a session lapses, and what evidence of life renews it.

The design gives every session an expiry (``SESSION_LIFETIME_DAYS``, a year by default),
renewed while the project lives. Evidence that it lives: a ``ProjectCreated`` for it
(intake), and its owner opening it (``POST .../access``). A session whose expiry passed
without renewal is wanted absent, as if deleted, with ``EndReason.EXPIRED``: the
reconciler tears it down and ``SessionDeleted`` says ``reason: expired``. The cause stays
the event that made it present, so a replayed old ``ProjectCreated`` (at or before the
high-water mark) changes nothing, while a later one provisions again.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

from consumer.domain import backoff
from consumer.domain.model import Desired, EndReason, SessionState, Status


def lapsed(session: SessionState, now: datetime) -> bool:
    """True when ``session`` is wanted present but its expiry passed without renewal."""
    return session.desired is Desired.PRESENT and session.expires_at <= now


def expire(session: SessionState, now: datetime) -> SessionState | None:
    """The session wanted absent because it lapsed; None when it has not (renewed since).

    A new generation, like a delete: an action in flight for the old one is dropped and
    the reconciler decides again (teardown). Only the reconciler sets ``deleted``.
    """
    if not lapsed(session, now):
        return None
    return backoff.fresh_start(
        session,
        desired=Desired.ABSENT,
        status=Status.DELETING,
        generation=session.generation + 1,
        end_reason=EndReason.EXPIRED,
        updated_at=now,
    )


def renewed_until(now: datetime, lifetime: timedelta) -> datetime:
    """The expiry that evidence of life at ``now`` gives a session."""
    return now + lifetime


def renew(session: SessionState, now: datetime, lifetime: timedelta) -> SessionState:
    """``session`` with its expiry pushed out by evidence of life (never pulled in)."""
    until = max(session.expires_at, renewed_until(now, lifetime))
    return dataclasses.replace(session, expires_at=until)

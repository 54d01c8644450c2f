"""Operator commands on sessions (``devsessions sessions retry``), in the service layer.

The CLI parses arguments and prints; what a command does to the database is here, in one
unit of work, so it follows the same lease rules as the reconciler.
"""

from __future__ import annotations

from datetime import datetime

from consumer.domain import reconcile
from consumer.domain.model import Status
from consumer.ports import UnitOfWorkFactory

LEASE_SECONDS = 60


async def retry_failed(
    uow_factory: UnitOfWorkFactory, project_uuid: str, *, owner: str, now: datetime
) -> str:
    """Revive a failed session (the running service picks it up on its next resync).

    Takes the lease, writes the revived session only while the lease and generation
    hold, and gives the lease back, all in one transaction; returns what happened.
    """
    async with uow_factory() as uow:
        session = await uow.leases.claim(project_uuid, owner, LEASE_SECONDS)
        if session is None:
            return "not found, or being worked on right now"
        if session.status is not Status.FAILED:
            return f"not failed (status {session.status.value}); nothing to do"
        if not await uow.sessions.save_outcome(reconcile.retried(session, now), owner=owner):
            return "changed meanwhile (a newer event arrived); nothing to do"
        await uow.leases.release(project_uuid, owner)
        await uow.commit()
    return "queued for retry"

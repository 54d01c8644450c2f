"""Build the output events (as outbox messages) from session state.

Every output event id derives from the input event that caused it, so a crash between
writing and publishing, or a re-run of the same step, produces the same id again and
downstream can recognise the duplicate.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from typing import Literal

import events
from consumer.domain.model import Cause, EndReason, SessionState
from consumer.ports import OutboxMessage


@dataclasses.dataclass(frozen=True)
class MessageFactory:
    """Encodes session facts as CloudEvents records for the output topic."""

    source: str
    topic: str

    def session_ready(self, session: SessionState, cause: Cause, now: datetime) -> OutboxMessage:
        """``SessionReady`` for a running session."""
        ep = session.endpoints
        if ep is None:  # not an assert: ``python -O`` would drop it and publish garbage
            raise ValueError(f"session of {session.project_uuid} has no endpoints to announce")
        data = events.SessionReady(
            project_uuid=session.project_uuid,
            namespace=session.namespace,
            release_name=session.release_name,
            status="running",
            **dataclasses.asdict(ep),
            ready_at=session.ready_at or now,
            expires_at=session.expires_at,
        )
        # A repaired session (its namespace vanished and was provisioned again) is a new
        # fact: its SessionReady gets an id of its own.
        kind = "session.ready" if session.retries == 0 else f"session.ready.r{session.retries}"
        return self._message(data, cause, kind, now)

    def session_deleted(self, session: SessionState, cause: Cause, now: datetime) -> OutboxMessage:
        """``SessionDeleted`` once the namespace is gone (or was never there), saying why.

        An expiry keeps the cause of the create it ends, so its id has a kind of its own.
        """
        expired = session.end_reason is EndReason.EXPIRED
        data = events.SessionDeleted(
            project_uuid=session.project_uuid,
            namespace=session.namespace,
            release_name=session.release_name,
            deleted_at=session.deleted_at or now,
            reason="expired" if expired else "deleted",
        )
        kind = "session.deleted.expired" if expired else "session.deleted"
        return self._message(data, cause, kind, now)

    def session_failed(
        self,
        session: SessionState,
        *,
        operation: Literal["provision", "teardown"],
        reason: str,
        will_retry: bool,
        now: datetime,
    ) -> OutboxMessage:
        """``SessionFailed`` for one failed attempt (one id per attempt)."""
        data = events.SessionFailed(
            project_uuid=session.project_uuid,
            operation=operation,
            reason=reason[:2000],
            will_retry=will_retry,
            attempts=session.attempts,
            failed_at=now,
        )
        kind = (
            f"session.failed.{operation}.g{session.generation}"
            f".r{session.retries}.a{session.attempts}"
        )
        return self._message(data, session.cause, kind, now)

    def session_refused(
        self, session: SessionState, cause: Cause, reason: str, now: datetime
    ) -> OutboxMessage:
        """``SessionFailed`` (not retried) for an event refused at intake; one id per event."""
        data = events.SessionFailed(
            project_uuid=session.project_uuid,
            operation="provision",
            reason=reason[:2000],
            will_retry=False,
            attempts=1,  # the one attempt there will be
            failed_at=now,
        )
        return self._message(data, cause, "session.failed.refused", now)

    def _message(
        self, data: events.SessionEvent, cause: Cause, kind: str, now: datetime
    ) -> OutboxMessage:
        envelope = events.new_envelope(
            data, source=self.source, event_id=events.derive_event_id(cause, kind), time=now
        )
        record = events.to_record(envelope)
        return OutboxMessage(
            event_id=envelope.id,
            project_uuid=data.project_uuid,
            event_type=envelope.type.value,
            topic=self.topic,
            key=record.key,
            value=record.value,
            headers=record.headers,
        )

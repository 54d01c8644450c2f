"""Intake's rules for one decoded event: the pure decision and its immediate answers.

``Intake`` does the I/O (unit of work, dead letters); this module turns an event and the
state its project is in into what to save and publish, with the image allow-list and
the clock applied, so a batch can decide many events in memory between two round trips.
"""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import events
from consumer.domain import intake
from consumer.domain.images import ImagePolicy
from consumer.domain.model import Cause, LogPosition, SessionState
from consumer.ports import Clock, OutboxMessage
from consumer.service.messages import MessageFactory


@dataclasses.dataclass(frozen=True)
class Ruling:
    """What one event does: the decision and the answers to publish at once."""

    decision: intake.IntakeDecision
    replies: list[OutboxMessage]


def _intent(data: events.ProjectEvent) -> intake.Created | intake.Deleted:
    """The parts of a decoded event the intake decision needs."""
    if isinstance(data, events.ProjectCreated):
        overrides = data.overrides.model_dump(exclude_defaults=True) if data.overrides else {}
        return intake.Created(data.project_uuid, data.project_id, data.user_id, overrides)
    return intake.Deleted(data.project_uuid)


class IntakeRules:
    """Decides events against session snapshots; encodes the answers for the outbox."""

    def __init__(
        self, *, clock: Clock, messages: MessageFactory, lifetime: timedelta, images: ImagePolicy
    ) -> None:
        self._clock, self._messages = clock, messages
        self._lifetime, self._images = lifetime, images

    def rule(
        self,
        current: SessionState | None,
        envelope: events.Envelope[events.ProjectEvent],
        position: LogPosition,
        *,
        home: int | None = None,
    ) -> Ruling:
        """What ``envelope`` at ``position`` does to ``current`` (``home``: the partition
        the project's key maps to now, when the topic was re-partitioned)."""
        cause = Cause(envelope.id, envelope.source)
        event = _intent(envelope.data)
        refusal = (
            self._images.refusal(event.overrides) if isinstance(event, intake.Created) else None
        )
        decision = self._decide(current, event, refusal, cause, position, home=home)
        return Ruling(decision, self._replies(decision, cause, refusal or ""))

    def _decide(
        self,
        current: SessionState | None,
        event: intake.Created | intake.Deleted,
        refusal: str | None,
        cause: Cause,
        position: LogPosition,
        *,
        home: int | None,
    ) -> intake.IntakeDecision:
        """The pure decision; a create whose image overrides break the allow-list is refused."""
        now, lifetime = self._clock.now(), self._lifetime
        if refusal is not None and isinstance(event, intake.Created):
            return intake.refuse(
                current,
                event,
                refusal,
                cause=cause,
                position=position,
                now=now,
                lifetime=lifetime,
                home=home,
            )
        return intake.decide(
            current, event, cause=cause, position=position, now=now, lifetime=lifetime, home=home
        )

    def _replies(
        self, decision: intake.IntakeDecision, cause: Cause, refusal: str
    ) -> list[OutboxMessage]:
        """The answers the decision publishes at once, encoded for the outbox."""
        session = decision.session
        if session is None:
            return []
        return [self._reply(session, reply, cause, refusal) for reply in decision.replies]

    def _reply(
        self, session: SessionState, reply: intake.Reply, cause: Cause, refusal: str
    ) -> OutboxMessage:
        now = self._clock.now()
        if reply is intake.Reply.SESSION_READY:
            return self._messages.session_ready(session, cause, now)
        if reply is intake.Reply.SESSION_REFUSED:
            return self._messages.session_refused(session, cause, refusal, now)
        return self._messages.session_deleted(session, cause, now)

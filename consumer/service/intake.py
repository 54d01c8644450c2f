"""Intake: one input record in, its intent durable in PostgreSQL (or dead-lettered).

Called by the Kafka subscriber for every record, before the offset is committed. A record
that does not decode goes to the dead-letter topic with the reason; a decoded event is
applied in one unit of work, read top to bottom in ``_apply``: lock the project, record
the event id (a duplicate stops here), load the session for update, decide (pure,
``domain.intake``), save, queue the immediate answers in the outbox, commit. Helm and
Kubernetes are never touched here: the reconciler is woken instead, after the commit.

Each record's position carries the topic's id (``service.epochs``), so a re-created
topic is a new epoch of the log rather than a run of stale offsets. Before an event is
refused as stale, the id is looked up again (cached for a second at most) and the event
decided afresh, so a topic re-created since the last lookup is not missed.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import structlog

import events
from consumer.domain import intake
from consumer.domain.images import ImagePolicy
from consumer.domain.model import Cause, LogPosition, SessionState
from consumer.observability import metrics
from consumer.ports import (
    Clock,
    InboxKey,
    OutboxMessage,
    Publisher,
    TopicIdentity,
    UnitOfWorkFactory,
)
from consumer.service.epochs import LogEpochs
from consumer.service.messages import MessageFactory

log = structlog.get_logger(__name__)


@dataclasses.dataclass(frozen=True)
class RawRecord:
    """A consumed Kafka record, as the broker delivered it."""

    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...]

    @classmethod
    def of(cls, record: Any) -> RawRecord:
        """From a consumed aiokafka ``ConsumerRecord`` (anything with its attributes)."""
        return cls(
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
            key=record.key,
            value=record.value,
            headers=raw_headers(record.headers),
        )


def raw_headers(headers: object) -> tuple[tuple[str, bytes], ...]:
    """Headers as delivered, with a null value kept as an empty one (Kafka allows null)."""
    if not headers:
        return ()
    return tuple((str(k), bytes(v) if v is not None else b"") for k, v in headers)  # type: ignore[attr-defined]


class Outcome(enum.StrEnum):
    """What intake did with a record."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED_INVALID = "skipped_invalid"


def _identity(record: RawRecord) -> tuple[str, str] | None:
    """The record's CloudEvents (source, id), read from its headers without decoding."""
    headers = dict(record.headers)
    try:
        source, event_id = headers["ce_source"].decode(), headers["ce_id"].decode()
    except (KeyError, UnicodeDecodeError):
        return None
    return source, event_id


def _intent(data: events.ProjectEvent) -> intake.Created | intake.Deleted:
    """The parts of a decoded event the intake decision needs."""
    if isinstance(data, events.ProjectCreated):
        overrides = data.overrides.model_dump(exclude_defaults=True) if data.overrides else {}
        return intake.Created(data.project_uuid, data.project_id, data.user_id, overrides)
    return intake.Deleted(data.project_uuid)


class Intake:
    """Applies input records: decode, then one unit of work per event (or a dead letter)."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        publisher: Publisher,
        clock: Clock,
        messages: MessageFactory,
        consumer_name: str,
        dead_letter_topic: str,
        lifetime: timedelta,
        on_work: Callable[[str], None] = lambda _: None,
        on_outbox: Callable[[], None] = lambda: None,
        images: ImagePolicy | None = None,
        topics: TopicIdentity | None = None,
    ) -> None:
        self._uow, self._publisher, self._clock = uow, publisher, clock
        self._messages, self._consumer = messages, consumer_name
        self._dlq, self._lifetime = dead_letter_topic, lifetime
        self._on_work, self._on_outbox = on_work, on_outbox
        self._images = images or ImagePolicy()  # default: no image override allowed
        self._epochs = LogEpochs(topics)  # no topics: positions carry no id

    async def handle(self, record: RawRecord, *, dead_letter: bool = True) -> Outcome:
        """Apply ``record``; a bad record is dead-lettered (or only counted, on replay)."""
        try:
            envelope = events.decode_project_event(record.key, record.value, record.headers)
        except events.DecodeError as exc:
            metrics.EVENTS.labels(type="invalid", outcome="dead_lettered").inc()
            if not dead_letter:
                return Outcome.SKIPPED_INVALID
            await self.dead_letter(record, exc.code, exc.reason)
            return Outcome.DEAD_LETTERED
        outcome = await self._apply_in_epoch(envelope, record)
        metrics.EVENTS.labels(type=envelope.type.value, outcome=outcome.value).inc()
        return outcome

    async def handle_many(
        self, records: Sequence[RawRecord], *, dead_letter: bool = True
    ) -> list[Outcome]:
        """Apply a batch in order; records the inbox already holds are skipped in one query.

        Replaying a log onto a database that has it all then costs one query per batch
        instead of one transaction per record.
        """
        identities = [_identity(r) for r in records]
        async with self._uow() as uow:
            known = await uow.inbox.seen(self._consumer, [i for i in identities if i is not None])
        outcomes = []
        for record, identity in zip(records, identities, strict=True):
            if identity in known:
                metrics.EVENTS.labels(type="known", outcome=Outcome.DUPLICATE.value).inc()
                outcomes.append(Outcome.DUPLICATE)
            else:
                outcomes.append(await self.handle(record, dead_letter=dead_letter))
        return outcomes

    async def dead_letter(self, record: RawRecord, code: str, reason: str) -> None:
        """Publish ``record`` unchanged to the dead-letter topic, with why, and where from."""
        headers = [
            *record.headers,
            *events.dead_letter_headers(
                code=code,
                reason=reason,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            ),
        ]
        await self._publisher.send(self._dlq, record.key, record.value, headers)
        metrics.DEAD_LETTERS.labels(code=code).inc()
        log.warning(
            "dead-lettered record",
            code=code,
            reason=reason,
            topic=record.topic,
            partition=record.partition,
            offset=record.offset,
        )

    async def _apply_in_epoch(
        self, envelope: events.Envelope[events.ProjectEvent], record: RawRecord
    ) -> Outcome:
        """Apply at the record's position; a stale verdict is final only on a fresh id."""
        for verify in (False, True):
            position, home = await self._epochs.locate(
                record.topic, record.partition, record.offset, record.key, verify=verify
            )
            outcome = await self._apply(envelope, position, home, final=verify)
            if outcome is not None:
                return outcome
        raise RuntimeError("unreachable: a verified decision is final")

    async def _apply(
        self,
        envelope: events.Envelope[events.ProjectEvent],
        position: LogPosition,
        home: int | None = None,
        *,
        final: bool = True,
    ) -> Outcome | None:
        """One unit of work for one event; None (nothing committed) when the event looks
        stale and ``final`` is False: the caller looks at the topic's id again first."""
        data = envelope.data
        with structlog.contextvars.bound_contextvars(
            project_uuid=data.project_uuid, event_id=envelope.id, action="intake"
        ):
            cause = Cause(envelope.id, envelope.source)
            key = InboxKey(self._consumer, envelope.source, envelope.id)
            async with self._uow() as uow:
                await uow.sessions.lock(data.project_uuid)
                if not await uow.inbox.add(key, data.project_uuid, position):
                    log.info("duplicate event skipped")
                    return Outcome.DUPLICATE
                current = await uow.sessions.get(data.project_uuid, for_update=True)
                event = _intent(data)
                refusal = (
                    self._images.refusal(event.overrides)
                    if isinstance(event, intake.Created)
                    else None
                )
                decision = self._decide(current, event, refusal, cause, position, home=home)
                if decision.stale and not final:
                    return None  # rolled back, inbox row included
                if decision.session is not None:
                    await uow.sessions.put(decision.session)
                replies = self._replies(decision, cause, refusal or "")
                await uow.outbox.add(replies)
                await uow.commit()
            log.info(
                "event applied",
                type=envelope.type.value,
                reason=decision.reason,
                partition=position.partition,
                offset=position.offset,
            )
        if replies:
            self._on_outbox()
        if decision.reconcile:
            self._on_work(data.project_uuid)
        return Outcome.APPLIED if decision.session is not None else Outcome.UNCHANGED

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

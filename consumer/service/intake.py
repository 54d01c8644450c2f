"""Intake: a batch of input records in, their intent durable in PostgreSQL together.

Called by the Kafka subscriber for every batch it polls, before the offsets are
committed. Records that do not decode go to the dead-letter topic with the reason; the
decoded events of the batch are applied in one unit of work, read top to bottom in
``_apply``: lock the batch's projects, record the event ids (duplicates stop here), load
the sessions for update, decide each event in log order (pure, ``domain.intake``, via
``intake_rules``), save one row per project, queue the immediate answers in the outbox,
commit. One transaction and six round trips per batch instead of per record, with the
same per-project order, inbox and high-water marks. Helm and Kubernetes are never
touched here: the reconciler is woken instead, after the commit.
"""

from __future__ import annotations

import collections
import dataclasses
import enum
from collections.abc import Callable, Sequence
from datetime import timedelta

import structlog

import events
from consumer.domain.images import ImagePolicy
from consumer.domain.model import LogPosition, SessionState
from consumer.observability import metrics
from consumer.ports import (
    Clock,
    InboxEntry,
    InboxKey,
    OutboxMessage,
    Publisher,
    UnitOfWorkFactory,
)
from consumer.service.intake_rules import IntakeRules
from consumer.service.records import Consumed, RawRecord, identity, raw_headers

__all__ = ["Intake", "Outcome", "RawRecord", "raw_headers"]
from consumer.service.messages import MessageFactory

log = structlog.get_logger(__name__)


class Outcome(enum.StrEnum):
    """What intake did with a record."""

    APPLIED = "applied"
    UNCHANGED = "unchanged"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"
    SKIPPED_INVALID = "skipped_invalid"


@dataclasses.dataclass
class _Batch:
    """What a batch has decided so far: each project's state, rows, answers, work."""

    current: dict[str, SessionState] = dataclasses.field(default_factory=dict)
    changed: dict[str, SessionState] = dataclasses.field(default_factory=dict)
    replies: list[OutboxMessage] = dataclasses.field(default_factory=list)
    work: dict[str, None] = dataclasses.field(default_factory=dict)  # ordered set
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    lines: list[tuple[str, dict[str, object]]] = dataclasses.field(default_factory=list)


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
    ) -> None:
        self._uow, self._publisher = uow, publisher
        self._consumer, self._dlq = consumer_name, dead_letter_topic
        self._on_work, self._on_outbox = on_work, on_outbox
        self._rules = IntakeRules(
            clock=clock,
            messages=messages,
            lifetime=lifetime,
            images=images or ImagePolicy(),  # default: no image override allowed
        )

    async def handle(self, record: RawRecord, *, dead_letter: bool = True) -> Outcome:
        """Apply ``record``; a bad record is dead-lettered (or only counted, on replay)."""
        [outcome] = await self.handle_batch([record], dead_letter=dead_letter)
        return outcome

    async def handle_batch(
        self, records: Sequence[RawRecord], *, dead_letter: bool = True
    ) -> list[Outcome]:
        """Apply ``records`` (in log order per partition) in one unit of work.

        Records that do not decode are dead-lettered (or only counted, on replay) after
        the others are durable; an exception means nothing of the batch was applied.
        """
        outcomes: list[Outcome | None] = [None] * len(records)
        good: list[tuple[int, events.Envelope[events.ProjectEvent], LogPosition]] = []
        bad: list[tuple[int, events.DecodeError]] = []
        for i, record in enumerate(records):
            try:
                envelope = events.decode_project_event(record.key, record.value, record.headers)
            except events.DecodeError as error:
                bad.append((i, error))
                continue
            good.append((i, envelope, LogPosition(record.partition, record.offset)))
        if good:
            applied = await self._apply([(envelope, pos) for _, envelope, pos in good])
            for (i, envelope, _), outcome in zip(good, applied, strict=True):
                outcomes[i] = outcome
                metrics.EVENTS.labels(type=envelope.type.value, outcome=outcome.value).inc()
        for i, exc in bad:
            metrics.EVENTS.labels(type="invalid", outcome="dead_lettered").inc()
            if dead_letter:
                await self.dead_letter(records[i], exc.code, exc.reason)
            outcomes[i] = Outcome.DEAD_LETTERED if dead_letter else Outcome.SKIPPED_INVALID
        return [o for o in outcomes if o is not None]

    async def known(self, records: Sequence[Consumed]) -> list[bool]:
        """Which of ``records`` the inbox already holds, in one query. Read only, so a
        replay may check later batches while an earlier one is being applied."""
        identities = [identity(r) for r in records]
        async with self._uow() as uow:
            seen = await uow.inbox.seen(self._consumer, [i for i in identities if i is not None])
        return [i in seen for i in identities]

    async def handle_many(
        self,
        records: Sequence[Consumed],
        *,
        dead_letter: bool = True,
        known: Sequence[bool] | None = None,
    ) -> list[Outcome]:
        """Apply a batch in order; records the inbox already holds are skipped undecoded
        (``known``: what ``known()`` said of them, when asked ahead).

        Replaying a log onto a database that has it all then costs one query per batch,
        and what is new is applied as one batch (which checks the inbox again).
        """
        if known is None:
            known = await self.known(records)
        fresh = [RawRecord.of(r) for r, old in zip(records, known, strict=True) if not old]
        applied = iter(await self.handle_batch(fresh, dead_letter=dead_letter) if fresh else [])
        if len(fresh) < len(records):
            metrics.EVENTS.labels(type="known", outcome=Outcome.DUPLICATE.value).inc(
                len(records) - len(fresh)
            )
        return [Outcome.DUPLICATE if old else next(applied) for old in known]

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

    async def _apply(
        self, items: Sequence[tuple[events.Envelope[events.ProjectEvent], LogPosition]]
    ) -> list[Outcome]:
        """One unit of work for decoded events, read top to bottom: lock the projects (in
        one global order), record the event ids (duplicates stop there), load the
        sessions for update, decide each event in log order from the state the previous
        one left, save one row per project, queue the immediate answers, commit."""
        keys = [InboxKey(self._consumer, env.source, env.id) for env, _ in items]
        first = {key: i for i, key in reversed(list(enumerate(keys)))}
        projects = sorted({env.data.project_uuid for env, _ in items})
        entries = [
            InboxEntry(keys[i], items[i][0].data.project_uuid, items[i][1]) for i in first.values()
        ]
        batch = _Batch()
        async with self._uow() as uow:
            await uow.sessions.lock_many(projects)
            fresh = await uow.inbox.add_many(entries)
            batch.current = await uow.sessions.get_many(projects, for_update=True)
            for i, (envelope, position) in enumerate(items):
                new = keys[i] in fresh and first[keys[i]] == i
                batch.outcomes.append(self._fold(batch, envelope, position, new=new))
            await uow.sessions.put_many(list(batch.changed.values()))
            await uow.outbox.add(batch.replies)
            await uow.commit()
        for line, context in batch.lines:  # at debug: thousands a second; info once a batch
            log.debug(line, **context)
        log.info(
            "batch applied",
            events=len(items),
            projects=len(projects),
            **collections.Counter(o.value for o in batch.outcomes),
        )
        if batch.replies:
            self._on_outbox()
        for project in batch.work:
            self._on_work(project)
        return batch.outcomes

    def _fold(
        self,
        batch: _Batch,
        envelope: events.Envelope[events.ProjectEvent],
        position: LogPosition,
        *,
        new: bool,
    ) -> Outcome:
        """Decide one event of the batch against the state its project is in by now."""
        data = envelope.data
        context: dict[str, object] = {
            "project_uuid": data.project_uuid,
            "event_id": envelope.id,
            "action": "intake",
        }
        if not new:
            batch.lines.append(("duplicate event skipped", context))
            return Outcome.DUPLICATE
        ruling = self._rules.rule(batch.current.get(data.project_uuid), envelope, position)
        decision = ruling.decision
        if decision.session is not None:
            batch.current[data.project_uuid] = decision.session
            batch.changed[data.project_uuid] = decision.session
        batch.replies.extend(ruling.replies)
        if decision.reconcile:
            batch.work.setdefault(data.project_uuid)
        context.update(
            type=envelope.type.value,
            reason=decision.reason,
            partition=position.partition,
            offset=position.offset,
        )
        batch.lines.append(("event applied", context))
        return Outcome.APPLIED if decision.session is not None else Outcome.UNCHANGED

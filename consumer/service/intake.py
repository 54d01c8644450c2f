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

Each record's position carries the topic's id (``service.epochs``), so a re-created
topic is a new epoch of the log rather than a run of stale offsets. Before a batch in
which some event looks stale is committed, the id is looked up again (cached for a
second at most) and the batch decided afresh, so a topic re-created since the last
lookup is not missed.
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
from consumer.domain.partitioning import home_partition
from consumer.observability import metrics
from consumer.ports import (
    Clock,
    InboxEntry,
    InboxKey,
    OutboxMessage,
    Publisher,
    TopicIdentity,
    UnitOfWorkFactory,
    WireRecord,
)
from consumer.service.epochs import LogEpochs
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


@dataclasses.dataclass(frozen=True)
class _Item:
    """A decoded event of a batch, where it sits in the log, and what places its key."""

    envelope: events.Envelope[events.ProjectEvent]
    position: LogPosition
    key: bytes | None
    partitions: int  # the topic's partition count now (0: unknown)

    def home(self, current: SessionState | None) -> int | None:
        """The partition the key maps to now, needed (and hashed) only when the project's
        mark sits in another partition than the event (the topic was re-partitioned)."""
        mark = current.high_water if current is not None else None
        if mark is None or mark.partition == self.position.partition:
            return None
        if not self.key or not self.partitions:
            return None
        return home_partition(self.key, self.partitions)


@dataclasses.dataclass
class _Batch:
    """What a batch has decided so far: each project's state, rows, answers, work."""

    current: dict[str, SessionState] = dataclasses.field(default_factory=dict)
    changed: dict[str, SessionState] = dataclasses.field(default_factory=dict)
    replies: list[OutboxMessage] = dataclasses.field(default_factory=list)
    work: dict[str, None] = dataclasses.field(default_factory=dict)  # ordered set
    outcomes: list[Outcome] = dataclasses.field(default_factory=list)
    lines: list[tuple[str, dict[str, object]]] = dataclasses.field(default_factory=list)
    stale: bool = False  # some event was at or before its project's high-water mark


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
        self._uow, self._publisher = uow, publisher
        self._consumer, self._dlq = consumer_name, dead_letter_topic
        self._on_work, self._on_outbox = on_work, on_outbox
        self._rules = IntakeRules(
            clock=clock,
            messages=messages,
            lifetime=lifetime,
            images=images or ImagePolicy(),  # default: no image override allowed
        )
        self._epochs = LogEpochs(topics)  # no topics: positions carry no id

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
        good: list[tuple[int, events.Envelope[events.ProjectEvent], RawRecord]] = []
        bad: list[tuple[int, events.DecodeError]] = []
        for i, record in enumerate(records):
            try:
                envelope = events.decode_project_event(record.key, record.value, record.headers)
            except events.DecodeError as error:
                bad.append((i, error))
                continue
            good.append((i, envelope, record))
        if good:
            applied = await self._apply_in_epoch([(env, rec) for _, env, rec in good])
            for (i, envelope, _), outcome in zip(good, applied, strict=True):
                outcomes[i] = outcome
                metrics.EVENTS.labels(type=envelope.type.value, outcome=outcome.value).inc()
        if bad and dead_letter:
            await self.dead_letter_many([(records[i], exc.code, exc.reason) for i, exc in bad])
        for i, _ in bad:
            metrics.EVENTS.labels(type="invalid", outcome="dead_lettered").inc()
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
        await self.dead_letter_many([(record, code, reason)])

    async def dead_letter_many(self, bad: Sequence[tuple[RawRecord, str, str]]) -> None:
        """Dead-letter each (record, code, reason), in order, acknowledged together.

        A record too big for the dead-letter topic (the input topic may take larger ones)
        is clipped to fit, with ``dlq_clipped`` saying what was cut: sending it whole
        would fail on every attempt and hold its partition forever.
        """
        await self._publisher.send_each([self._dead_letter_copy(*each) for each in bad])
        for record, code, reason in bad:
            metrics.DEAD_LETTERS.labels(code=code).inc()
            log.warning(
                "dead-lettered record",
                code=code,
                reason=reason,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            )

    def _dead_letter_copy(self, record: RawRecord, code: str, reason: str) -> WireRecord:
        key, value, kept, clipped = events.clip_for_dead_letter(
            record.key, record.value, record.headers
        )
        headers = [
            *kept,
            *events.dead_letter_headers(
                code=code,
                reason=reason,
                topic=record.topic,
                partition=record.partition,
                offset=record.offset,
            ),
        ]
        if clipped:
            headers.append((events.DLQ_CLIPPED_HEADER, clipped.encode("ascii")))
        return self._dlq, key, value, headers

    async def _apply_in_epoch(
        self, decoded: Sequence[tuple[events.Envelope[events.ProjectEvent], RawRecord]]
    ) -> list[Outcome]:
        """Apply at the records' positions; a stale verdict is final only on a fresh id."""
        for verify in (False, True):
            epochs = {
                topic: await self._epochs.epoch(topic, verify=verify)
                for topic in {record.topic for _, record in decoded}
            }
            items = [
                _Item(
                    env,
                    LogPosition(r.partition, r.offset, epochs[r.topic].topic_id),
                    r.key,
                    epochs[r.topic].partitions,
                )
                for env, r in decoded
            ]
            outcomes = await self._apply(items, final=verify)
            if outcomes is not None:
                return outcomes
        raise RuntimeError("unreachable: a verified decision is final")

    async def _apply(self, items: Sequence[_Item], *, final: bool) -> list[Outcome] | None:
        """One unit of work for decoded events, read top to bottom: lock the projects (in
        one global order), record the event ids (duplicates stop there), load the
        sessions for update, decide each event in log order from the state the previous
        one left, save one row per project, queue the immediate answers, commit.

        None (nothing committed) when some event looks stale and ``final`` is False: the
        caller looks at the topic's id again first."""
        keys = [InboxKey(self._consumer, it.envelope.source, it.envelope.id) for it in items]
        first = {key: i for i, key in reversed(list(enumerate(keys)))}
        projects = sorted({it.envelope.data.project_uuid for it in items})
        entries = [
            InboxEntry(keys[i], items[i].envelope.data.project_uuid, items[i].position)
            for i in first.values()
        ]
        batch = _Batch()
        async with self._uow() as uow:
            await uow.sessions.lock_many(projects)
            fresh = await uow.inbox.add_many(entries)
            batch.current = await uow.sessions.get_many(projects, for_update=True)
            for i, item in enumerate(items):
                new = keys[i] in fresh and first[keys[i]] == i
                batch.outcomes.append(self._fold(batch, item, new=new))
            if batch.stale and not final:
                return None  # rolled back, inbox rows included
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

    def _fold(self, batch: _Batch, item: _Item, *, new: bool) -> Outcome:
        """Decide one event of the batch against the state its project is in by now."""
        envelope, position = item.envelope, item.position
        data = envelope.data
        context: dict[str, object] = {
            "project_uuid": data.project_uuid,
            "event_id": envelope.id,
            "action": "intake",
        }
        if not new:
            batch.lines.append(("duplicate event skipped", context))
            return Outcome.DUPLICATE
        current = batch.current.get(data.project_uuid)
        ruling = self._rules.rule(current, envelope, position, home=item.home(current))
        decision = ruling.decision
        batch.stale = batch.stale or decision.stale
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

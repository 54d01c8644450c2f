"""An in-memory world: the real intake, reconciler and relay over fakes of the ports."""

from __future__ import annotations

import dataclasses
import itertools
import random
import uuid
from collections.abc import Callable
from typing import Any

import pytest

import events
from consumer import bootstrap
from consumer.ports import UnitOfWorkFactory
from consumer.service.intake import Intake, RawRecord
from consumer.service.queries import SessionQueries
from consumer.service.reconciler import Reconciler
from consumer.service.relay import OutboxRelay
from consumer.service.scheduler import Resync
from consumer.settings import Settings
from tests.fakes import FakeClock, FakeCluster, FakeDatabase, FakeHelm, FakePublisher

INPUT, OUTPUT, DLQ = "in", "out", "dlq"


@dataclasses.dataclass
class World:
    db: FakeDatabase
    uow: UnitOfWorkFactory
    sessions: SessionQueries
    helm: FakeHelm
    cluster: FakeCluster
    clock: FakeClock
    publisher: FakePublisher
    intake: Intake
    reconciler: Reconciler
    relay: OutboxRelay
    woken: list[str]
    offsets: itertools.count[int]
    resync: Resync

    def record(
        self,
        data: events.ProjectEvent,
        *,
        event_id: str | None = None,
        offset: int | None = None,
        partition: int = 0,
    ) -> RawRecord:
        env = events.new_envelope(
            data, source="urn:test:upstream", event_id=event_id, time=self.clock.now()
        )
        rec = events.to_record(env)
        return RawRecord(
            INPUT,
            partition,
            next(self.offsets) if offset is None else offset,
            rec.key,
            rec.value,
            rec.headers,
        )

    def created(self, project: str, **kw: object) -> events.ProjectCreated:
        return events.ProjectCreated(
            project_uuid=project,
            project_id=kw.get("project_id", 1),
            user_id=2,
            created_at=self.clock.now(),
            overrides=kw.get("overrides"),
        )

    def deleted(self, project: str) -> events.ProjectDeleted:
        return events.ProjectDeleted(project_uuid=project, deleted_at=self.clock.now())

    async def settle(self) -> None:
        """Reconcile every woken project until nothing is due (what the workers do)."""
        for _ in range(20):
            async with self.uow() as uow:
                due = set(self.woken) | set(await uow.schedule.due(self.clock.now()))
            self.woken.clear()
            if not due:
                return
            for project in sorted(due):
                await self.reconciler.reconcile(project)

    def published(self, project: str | None = None) -> list[events.Envelope[events.AnyEvent]]:
        """Every event the outbox of the in-memory database holds (sent or not)."""
        return [
            events.from_record(r.message.key, r.message.value, r.message.headers)
            for r in self.db.outbox_rows()
            if project is None or r.message.project_uuid == project
        ]


@pytest.fixture
def world() -> World:
    return make_world()


@pytest.fixture
def world_factory() -> Callable[[], World]:
    return make_world


SETTINGS = Settings(
    output_topic=OUTPUT,
    dead_letter_topic=DLQ,
    consumer_group="group",
    event_source="urn:test:provisioner",
    ready_timeout_seconds=5,
    namespace_delete_timeout_seconds=5,
    lease_seconds=60,
    max_attempts=3,
    backoff_base_seconds=1,
    backoff_max_seconds=4,
    public_url_template="https://{project_uuid}.dev.example.com{path}",
)


def make_world(
    *,
    db: FakeDatabase | None = None,
    uow: UnitOfWorkFactory | None = None,
    settings: Settings = SETTINGS,
    **wire: Any,
) -> World:
    """The production wiring (``bootstrap.wire``) over in-memory fakes.

    ``db`` shares a fake database between worlds (e.g. a second replica); ``uow`` puts a
    real database under the real service instead; other keywords go to ``bootstrap.wire``
    (a ``helm`` or ``cluster`` of the test's own, ...). Intake's wake-ups are collected in
    ``woken`` and reconciled by ``settle`` instead of by workers.
    """
    clock = FakeClock()
    db = db or FakeDatabase(clock)
    factory = uow or db
    helm: FakeHelm = wire.pop("helm", None) or FakeHelm()
    cluster: FakeCluster = wire.pop("cluster", None) or FakeCluster(helm)
    publisher = FakePublisher()
    woken: list[str] = []
    parts = bootstrap.wire(
        settings,
        uow=factory,
        locks=wire.pop("locks", None) or db.locks,
        publisher=publisher,
        helm=helm,
        cluster=cluster,
        clock=db.clock if uow is None else clock,
        owner=wire.pop("owner", "test"),
        rng=random.Random(7),
        on_work=woken.append,
        **wire,
    )
    return World(
        db,
        factory,
        SessionQueries(factory),
        helm,
        cluster,
        db.clock if uow is None else clock,
        publisher,
        parts.intake,
        parts.reconciler,
        parts.relay,
        woken,
        itertools.count(),
        parts.resync,
    )


@pytest.fixture
def project() -> str:
    return str(uuid.uuid4())

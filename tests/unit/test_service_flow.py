"""Intake + reconciler + relay end to end over fakes: the product's rules, fast."""

from __future__ import annotations

from datetime import timedelta

import pytest

import events
from consumer.domain.errors import PermanentError, TransientError
from consumer.domain.model import Desired, Status
from consumer.service.intake import Outcome, RawRecord
from consumer.service.scheduler import Resync
from consumer.service.workers import KeyedWorkers
from tests.unit.conftest import DLQ, SETTINGS, World, make_world

SHORT_LEASE = SETTINGS.model_copy(update={"lease_seconds": 0.15})


async def test_create_provisions_once_and_publishes_ready(world: World, project: str) -> None:
    assert await world.intake.handle(world.record(world.created(project))) is Outcome.APPLIED
    assert world.woken == [project]
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert [c[0] for c in world.helm.mutating_calls()] == ["upgrade"]
    assert world.cluster.namespaces[project]["devsessions.io/project-uuid"] == project
    [ready] = world.published(project)
    assert isinstance(ready.data, events.SessionReady)
    assert ready.data.preview_url == f"https://{project}.dev.example.com/preview"
    assert ready.data.vscode_path == "/vscode" and ready.data.ip_address == "10.96.0.10"
    assert ready.data.chat_internal_url == f"http://chat.{project}.svc.cluster.local:3001/chat"
    values = world.helm.releases[(project, f"dev-session-{project}")].values
    assert values["project"] == {"uuid": project, "id": 1}
    assert values["ingress"] == {"host": f"{project}.dev.example.com"}


async def test_same_event_twice_is_a_duplicate(world: World, project: str) -> None:
    record = world.record(world.created(project), event_id="same-id")
    await world.intake.handle(record)
    await world.settle()
    again = RawRecord(
        record.topic, record.partition, record.offset + 10, record.key, record.value, record.headers
    )
    assert await world.intake.handle(again) is Outcome.DUPLICATE
    await world.settle()
    assert len(world.helm.mutating_calls()) == 1
    assert len(world.published(project)) == 1


async def test_created_twice_with_different_ids_republishes_without_helm(
    world: World, project: str
) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    calls = len(world.helm.calls)
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    assert len(world.helm.calls) == calls, "a live project must not touch Helm"
    first, second = world.published(project)
    assert isinstance(second.data, events.SessionReady) and first.id != second.id


async def test_delete_tears_down_and_reports_after_namespace_gone(
    world: World, project: str
) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.DELETED
    assert project not in world.cluster.namespaces and not world.helm.releases
    assert isinstance(world.published(project)[-1].data, events.SessionDeleted)


async def test_delete_of_unknown_project_only_publishes(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    assert world.helm.calls == []
    assert [type(e.data) for e in world.published(project)] == [events.SessionDeleted]


async def test_replay_of_applied_log_makes_zero_helm_calls(world: World, project: str) -> None:
    log = [
        world.record(world.created(project)),
        world.record(world.deleted(project)),
        world.record(world.created(project)),
    ]
    for r in log:
        await world.intake.handle(r)
        await world.settle()
    before_calls, before = len(world.helm.calls), await world.sessions.get(project)
    for r in log:
        assert await world.intake.handle(r) is Outcome.DUPLICATE
    world.db.inbox.clear()  # even without the inbox, the high-water mark holds
    for r in log:
        assert await world.intake.handle(r) is Outcome.UNCHANGED
    await world.settle()
    assert len(world.helm.calls) == before_calls
    assert await world.sessions.get(project) == before


async def test_replay_into_empty_store_adopts_existing_release(world: World, project: str) -> None:
    log = [world.record(world.created(project))]
    await world.intake.handle(log[0])
    await world.settle()
    world.db.clear()  # an empty database, same cluster
    assert await world.sessions.get(project) is None
    await world.intake.handle(log[0])
    await world.settle()
    assert [c[0] for c in world.helm.mutating_calls()] == ["upgrade"], "no reinstall"
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING


async def test_transient_failure_retries_with_backoff_then_succeeds(
    world: World, project: str
) -> None:
    world.helm.fail_next = [TransientError("helm status", "connection refused")]
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.PENDING and session.attempts == 1
    assert session.next_attempt_at is not None and session.next_attempt_at > world.clock.now()
    [failed] = world.published(project)
    assert isinstance(failed.data, events.SessionFailed)
    assert failed.data.will_retry and failed.data.attempts == 1
    assert "helm status" in failed.data.reason
    world.clock.advance(60)
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING and session.attempts == 0


async def test_attempts_exhausted_fail_and_a_new_create_revives(world: World, project: str) -> None:
    world.cluster.never_ready.add(project)
    await world.intake.handle(world.record(world.created(project)))
    for _ in range(5):
        await world.settle()
        world.clock.advance(60)
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.FAILED and session.attempts == 3
    last = world.published(project)[-1].data
    assert isinstance(last, events.SessionFailed) and not last.will_retry
    world.cluster.never_ready.clear()
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING


async def test_permanent_failure_fails_at_once(world: World, project: str) -> None:
    world.helm.refuse["upgrade"] = PermanentError(
        "helm upgrade --install", "values don't meet the schema"
    )
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.FAILED and session.attempts == 1
    last = world.published(project)[-1].data
    assert isinstance(last, events.SessionFailed) and not last.will_retry
    assert "schema" in last.reason


async def test_delete_arriving_mid_provision_wins(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))

    async def delete_meanwhile(namespace: str, release: str) -> None:
        await world.intake.handle(world.record(world.deleted(project)))

    world.cluster.during_wait = delete_meanwhile
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.desired is Desired.ABSENT
    assert session.status is Status.DELETED
    assert not world.helm.releases and project not in world.cluster.namespaces
    types = [type(e.data) for e in world.published(project)]
    assert events.SessionReady not in types and types[-1] is events.SessionDeleted


async def test_interrupted_install_is_recovered(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    release = f"dev-session-{project}"
    from tests.fakes import _Release

    world.cluster.namespaces[project] = {}
    world.helm.releases[(project, release)] = _Release({}, status="pending-install")
    await world.settle()
    verbs = [c[0] for c in world.helm.mutating_calls()]
    assert verbs == ["uninstall", "upgrade"]
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING


async def test_malformed_record_goes_to_dead_letter_and_neighbours_apply(
    world: World, project: str
) -> None:
    good = world.record(world.created(project))
    bad = RawRecord("in", 0, 99, b"not-a-uuid", b"{not json", (("ce_specversion", b"1.0"),))
    assert await world.intake.handle(bad) is Outcome.DEAD_LETTERED
    assert await world.intake.handle(good) is Outcome.APPLIED
    [(topic, key, value, headers)] = world.publisher.sent
    assert (topic, key, value) == (DLQ, b"not-a-uuid", b"{not json")
    names = dict(headers)
    assert names[events.DLQ_SOURCE_OFFSET_HEADER] == b"99"
    assert names[events.DLQ_REASON_HEADER] and names[events.DLQ_CODE_HEADER]


async def test_relay_publishes_in_order_once(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    await world.intake.handle(world.record(world.deleted(project)))
    await world.settle()
    assert await world.relay.flush() == 2
    assert await world.relay.flush() == 0
    sent = [events.from_record(k, v, h) for _, k, v, h in world.publisher.sent]
    assert [type(e.data) for e in sent] == [events.SessionReady, events.SessionDeleted]


async def test_lost_lease_abandons_the_action_without_recording(project: str) -> None:
    import asyncio

    world = make_world(settings=SHORT_LEASE)
    await world.intake.handle(world.record(world.created(project)))

    async def slow(namespace: str, release: str) -> None:
        world.clock.advance(60)  # our lease lapses, and another worker takes the project
        async with world.uow() as uow:
            assert await uow.leases.claim(project, "other", 600) is not None
            await uow.commit()
        await asyncio.sleep(1)

    world.cluster.during_wait = slow
    result = await world.reconciler.reconcile(project)
    assert result is None
    session = await world.sessions.get(project)
    assert session is not None and session.status is not Status.RUNNING
    assert world.published(project) == [], "an abandoned action publishes nothing"


async def test_batch_replay_skips_known_records_and_applies_new_ones_in_order(
    world: World, project: str
) -> None:
    old = [world.record(world.created(project)), world.record(world.deleted(project))]
    for r in old:
        await world.intake.handle(r)
    new = world.record(world.created(project))
    bad = RawRecord("in", 0, 50, b"k", b"{", ())
    outcomes = await world.intake.handle_many([*old, bad, new], dead_letter=False)
    assert outcomes == [
        Outcome.DUPLICATE,
        Outcome.DUPLICATE,
        Outcome.SKIPPED_INVALID,
        Outcome.APPLIED,
    ]
    session = await world.sessions.get(project)
    assert session is not None and session.desired is Desired.PRESENT
    assert world.publisher.sent == [], "replay never dead-letters again"


async def test_unexpected_error_counts_as_a_failed_attempt(world: World, project: str) -> None:
    world.cluster.fail_observe.append(KeyError("preview"))
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.PENDING and session.attempts == 1
    [failed] = world.published(project)
    assert isinstance(failed.data, events.SessionFailed) and failed.data.will_retry
    assert "unexpected: KeyError" in failed.data.reason


async def test_newer_event_during_an_action_abandons_it(project: str) -> None:
    import asyncio

    world = make_world(settings=SHORT_LEASE)
    await world.intake.handle(world.record(world.created(project)))
    calls = 0

    async def slow_then_deleted(namespace: str, release: str) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:  # the first provision is slow, and a delete arrives meanwhile
            await world.intake.handle(world.record(world.deleted(project)))
            await asyncio.sleep(1)

    world.cluster.during_wait = slow_then_deleted
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.DELETED
    assert [type(e.data) for e in world.published(project)] == [events.SessionDeleted]


async def test_a_manual_retry_gets_failure_events_of_its_own(world: World, project: str) -> None:
    from consumer.service import admin

    world.cluster.never_ready.add(project)
    await world.intake.handle(world.record(world.created(project)))
    for _ in range(4):
        await world.settle()
        world.clock.advance(60)
    failed = await world.sessions.get(project)
    assert failed is not None and failed.status is Status.FAILED
    before = {e.id for e in world.published(project)}
    outcome = await admin.retry_failed(world.uow, project, owner="cli", now=world.clock.now())
    assert outcome == "queued for retry"
    await world.settle()
    after = [e for e in world.published(project) if e.id not in before]
    assert after, "the retried attempt's SessionFailed must not collide with an earlier id"
    assert isinstance(after[0].data, events.SessionFailed) and after[0].data.attempts == 1


async def running_with_drift_check(world: World, project: str) -> Resync:
    """``project``'s session provisioned and running, and a resync that checks for drift."""
    await world.intake.handle(world.record(world.created(project)))
    await world.settle()
    return Resync(
        uow=world.uow,
        workers=KeyedWorkers(world.reconciler.reconcile, 1),
        clock=world.clock,
        interval=1,
        lifetime=timedelta(days=365),
        cluster=world.cluster,
    )


async def test_vanished_namespace_is_provisioned_again(world: World, project: str) -> None:
    resync = await running_with_drift_check(world, project)
    assert await resync.check_drift() == 0, "nothing drifted yet"
    await world.cluster.delete_namespace(project)  # someone removed it by hand
    assert await resync.check_drift() == 1
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert project in world.cluster.namespaces
    first, second = world.published(project)
    assert isinstance(second.data, events.SessionReady) and first.id != second.id
    assert [c[0] for c in world.helm.mutating_calls()] == ["upgrade", "upgrade"]


@pytest.mark.parametrize("by_hand", ["helm uninstall", "scaled to zero"])
async def test_a_workload_removed_by_hand_is_provisioned_again(
    world: World, project: str, by_hand: str
) -> None:
    """The namespace stays, but the release was uninstalled or its Deployment scaled to
    zero by hand: the drift check sees it, and the repair upgrades (adopting the release
    as it stands would announce a session that serves nothing)."""
    from consumer.domain import naming

    resync = await running_with_drift_check(world, project)
    assert await resync.check_drift() == 0, "nothing drifted yet"
    key = (naming.namespace_for(project), naming.release_for(project))
    if by_hand == "helm uninstall":
        await world.helm.uninstall(key[1], key[0])
    else:
        world.cluster.scaled_down.add(key)
    assert await resync.check_drift() == 1
    await world.settle()
    session = await world.sessions.get(project)
    assert session is not None and session.status is Status.RUNNING
    assert await world.cluster.workload_present(*key)
    first, second = world.published(project)
    assert isinstance(second.data, events.SessionReady) and first.id != second.id
    verbs = [c[0] for c in world.helm.mutating_calls()]
    assert verbs[-1] == "upgrade" and verbs.count("upgrade") == 2
    assert await resync.check_drift() == 0, "repaired: no drift any more"


@pytest.mark.parametrize("where", ["value", "headers"])
async def test_a_record_too_big_for_the_dead_letter_topic_is_clipped_to_fit(
    world: World, project: str, where: str
) -> None:
    """An input topic may take records bigger than the broker's default of 1 MiB, which
    the dead-letter topic keeps (and the producer's default request size): copied whole,
    such a record fails to send on every attempt and holds its partition for good."""
    from consumer.service.dead_letters import letter

    mib = 1024 * 1024
    headers: tuple[tuple[str, bytes], ...] = (("ce_specversion", b"1.0"),)
    value = b"{" + b" " * 100
    if where == "value":
        value = b"{" + b" " * mib
    else:
        headers += tuple((f"x-junk-{i}", b"j" * 20_000) for i in range(100))
    big = RawRecord("in", 0, 7, project.encode(), value, headers)
    assert await world.intake.handle(big) is Outcome.DEAD_LETTERED
    [(topic, key, sent, sent_headers)] = world.publisher.sent
    size = len(key or b"") + len(sent or b"") + sum(len(n) + len(v) for n, v in sent_headers)
    assert topic == DLQ and size < mib - 4096, "fits the broker's and producer's defaults"
    names = dict(sent_headers)
    assert names[events.DLQ_CODE_HEADER] and names[events.DLQ_REASON_HEADER]
    assert f"{where[:5]}".encode() in names[events.DLQ_CLIPPED_HEADER]
    assert sent == value[: len(sent or b"")] and key == project.encode()
    requeued = letter(RawRecord(DLQ, 0, 0, key, sent, tuple(sent_headers))).original()
    assert not {n for n, _ in requeued.headers} & {events.DLQ_CLIPPED_HEADER, "dlq_code"}

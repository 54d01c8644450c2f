"""The Helm release decision as a table, and the provision action that executes it."""

from __future__ import annotations

from typing import Any

import pytest

from consumer.domain.errors import TransientError
from consumer.domain.release import (
    NextAction,
    ObservedRelease,
    ReleaseInfo,
    ReleaseState,
    next_action,
    reads_values,
)
from consumer.service.actions.provision import converge_release
from tests.fakes import FakeCluster, FakeHelm, _Release

WANTED: dict[str, Any] = {"project": {"uuid": "p"}, "user": {"id": 2}}
OTHER: dict[str, Any] = {"project": {"uuid": "p"}, "user": {"id": 3}}


@pytest.mark.parametrize(
    ("state", "raw", "values", "expected"),
    [
        (ReleaseState.ABSENT, "", None, NextAction.INSTALL),
        (ReleaseState.PENDING, "pending-install", None, NextAction.UNINSTALL_INTERRUPTED),
        (ReleaseState.PENDING, "pending-upgrade", None, NextAction.ROLLBACK_INTERRUPTED),
        (ReleaseState.PENDING, "pending-rollback", None, NextAction.ROLLBACK_INTERRUPTED),
        (ReleaseState.DEPLOYED, "deployed", WANTED, NextAction.ADOPT),
        (ReleaseState.DEPLOYED, "deployed", OTHER, NextAction.UPGRADE),
        (ReleaseState.DEPLOYED, "deployed", {}, NextAction.UPGRADE),
        (ReleaseState.FAILED, "failed", None, NextAction.UPGRADE),
        (ReleaseState.OTHER, "superseded", None, NextAction.UPGRADE),
    ],
)
def test_next_action_from_the_observed_release(
    state: ReleaseState, raw: str, values: dict[str, Any] | None, expected: NextAction
) -> None:
    observed = ObservedRelease(ReleaseInfo(state, raw, revision=3), values)
    assert next_action(observed, WANTED) is expected


@pytest.mark.parametrize("state", list(ReleaseState))
def test_values_are_read_only_for_a_deployed_release(state: ReleaseState) -> None:
    assert reads_values(ReleaseInfo(state)) is (state is ReleaseState.DEPLOYED)


def test_only_recoveries_ask_for_another_observation() -> None:
    assert {a for a in NextAction if a.recovers} == {
        NextAction.UNINSTALL_INTERRUPTED,
        NextAction.ROLLBACK_INTERRUPTED,
    }


@pytest.mark.parametrize(
    ("before", "values", "verbs", "last"),
    [
        (None, None, ["upgrade"], NextAction.INSTALL),
        ("deployed", WANTED, [], NextAction.ADOPT),
        ("deployed", OTHER, ["upgrade"], NextAction.UPGRADE),
        ("pending-install", WANTED, ["uninstall", "upgrade"], NextAction.INSTALL),
        ("pending-upgrade", WANTED, ["rollback"], NextAction.ADOPT),
        ("pending-upgrade", OTHER, ["rollback", "upgrade"], NextAction.UPGRADE),
    ],
)
async def test_converge_runs_the_decided_actions(
    before: str | None, values: dict[str, Any] | None, verbs: list[str], last: NextAction
) -> None:
    helm = FakeHelm()
    if before is not None:
        helm.releases[("ns", "rel")] = _Release(dict(values or {}), status=before)
    assert await converge_release(helm, "rel", "ns", WANTED) is last
    assert [verb for verb, _ in helm.mutating_calls()] == verbs
    assert helm.releases[("ns", "rel")].values == WANTED


async def test_a_release_that_stays_pending_is_left_for_a_retry() -> None:
    helm = FakeHelm()
    helm.releases[("ns", "rel")] = _Release(WANTED, status="pending-upgrade")
    helm.stuck.add("rel")  # rollback "succeeds" but the release stays pending
    with pytest.raises(TransientError, match="still pending"):
        await converge_release(helm, "rel", "ns", WANTED)
    assert [verb for verb, _ in helm.mutating_calls()] == ["rollback"] * 3


def test_a_deployed_release_whose_workload_is_gone_is_upgraded_not_adopted() -> None:
    """Same values, but the Deployment was deleted or scaled to zero by hand: adopting
    would keep a release that serves nothing; an upgrade puts the chart's objects back."""
    info = ReleaseInfo(ReleaseState.DEPLOYED, "deployed", revision=1)
    assert next_action(ObservedRelease(info, WANTED, workload_present=False), WANTED) is (
        NextAction.UPGRADE
    )
    assert next_action(ObservedRelease(info, WANTED), WANTED) is NextAction.ADOPT


async def test_converge_upgrades_a_release_scaled_to_zero_by_hand() -> None:
    helm = FakeHelm()
    cluster = FakeCluster(helm)
    helm.releases[("ns", "rel")] = _Release(dict(WANTED), status="deployed")
    assert await converge_release(helm, "rel", "ns", WANTED, cluster=cluster) is NextAction.ADOPT
    cluster.scaled_down.add(("ns", "rel"))
    assert await converge_release(helm, "rel", "ns", WANTED, cluster=cluster) is (
        NextAction.UPGRADE
    )
    assert [verb for verb, _ in helm.mutating_calls()] == ["upgrade"]
    assert await cluster.workload_present("ns", "rel")

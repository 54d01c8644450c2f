"""The Helm release decision (pure): from what Helm holds to the next action.

As in Flux's helm-controller (``DetermineReleaseState`` and its next action), the
provision action observes the release, asks ``next_action`` what to do, runs that one
action, and observes again until the answer is terminal. The rules:

- absent: install;
- ``pending-install`` (an install interrupted mid-way): uninstall it, then install again;
- ``pending-upgrade`` / ``pending-rollback``: roll back to the last good revision first;
- deployed with exactly the wanted values and its workload in place: adopt it (no Helm
  write, so a replay into an empty database reinstalls nothing);
- anything else (deployed with other values, deployed but its Deployment deleted or
  scaled to zero by hand, failed, superseded): upgrade, which puts back what the chart
  says.

Recovering a pending release is safe only because the caller holds the project's lease:
no live worker owns that interrupted operation any more.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any


class ReleaseState(enum.StrEnum):
    """A Helm release's state, as far as the reconciler cares."""

    ABSENT = "absent"
    DEPLOYED = "deployed"
    PENDING = "pending"  # pending-install/-upgrade/-rollback: an interrupted operation
    FAILED = "failed"
    OTHER = "other"  # uninstalling, superseded, unknown


@dataclasses.dataclass(frozen=True)
class ReleaseInfo:
    """What ``helm status`` says of a release."""

    state: ReleaseState
    raw_status: str = ""
    revision: int = 0


@dataclasses.dataclass(frozen=True)
class ObservedRelease:
    """A release as observed: its status and, when deployed, its current values."""

    info: ReleaseInfo
    values: Mapping[str, Any] | None = None
    # False when the release's Deployment is gone or scaled to zero (changed by hand):
    # its record says deployed, the cluster does not hold what it describes.
    workload_present: bool = True


class NextAction(enum.StrEnum):
    """What to do with the release next. ``ADOPT`` is the only one with no Helm write."""

    INSTALL = "install"
    UPGRADE = "upgrade"
    ADOPT = "adopt"
    UNINSTALL_INTERRUPTED = "uninstall-interrupted-install"
    ROLLBACK_INTERRUPTED = "rollback-interrupted-operation"

    @property
    def recovers(self) -> bool:
        """True for the actions after which the release must be observed again."""
        return self in (NextAction.UNINSTALL_INTERRUPTED, NextAction.ROLLBACK_INTERRUPTED)


def reads_values(info: ReleaseInfo) -> bool:
    """Whether the decision needs the release's current values (only when deployed)."""
    return info.state is ReleaseState.DEPLOYED


def next_action(observed: ObservedRelease, wanted: Mapping[str, Any]) -> NextAction:
    """The next action that brings the observed release to the ``wanted`` values."""
    info = observed.info
    if info.state is ReleaseState.ABSENT:
        return NextAction.INSTALL
    if info.state is ReleaseState.PENDING:
        if info.raw_status == "pending-install":
            return NextAction.UNINSTALL_INTERRUPTED
        return NextAction.ROLLBACK_INTERRUPTED
    if (
        info.state is ReleaseState.DEPLOYED
        and observed.values == wanted
        and observed.workload_present
    ):
        return NextAction.ADOPT
    return NextAction.UPGRADE

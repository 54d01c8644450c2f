"""``devsessions reconcile``: the plan as a table, exit codes, the per-run caps.

The command's sweep is swapped for one over the in-memory fakes (the composition root's
``open_orphan_sweep``); the command itself runs as written.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from typer.testing import CliRunner

from consumer import bootstrap
from consumer.cli.main import app
from consumer.observability import logging as logs
from consumer.service.orphans import OrphanSweep
from consumer.settings import Settings
from tests.unit.conftest import World
from tests.unit.test_orphan_sweep import by_hand, fleet, sweep_of


@pytest.fixture
async def swapped(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    @contextlib.asynccontextmanager
    async def fake(settings: Settings) -> AsyncIterator[OrphanSweep]:
        yield sweep_of(world)

    monkeypatch.setattr(bootstrap, "open_orphan_sweep", fake)
    # The command configures logging for a terminal; other tests' log capture must stay.
    monkeypatch.setattr(logs, "configure", lambda *a, **kw: None)
    return world


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["reconcile", *args])
    return result.exit_code, result.output


async def test_dry_run_prints_the_plan_and_changes_nothing(swapped: World) -> None:
    live, dead, never = await fleet(swapped)
    code, out = await _in_thread("--dry-run", "--max-share", "1")
    assert code == 0, out
    lines = {ns: line for line in out.splitlines() for ns in (live, dead, never) if ns in line}
    assert "keep" in lines[live] and "live session" in lines[live]
    assert "remove" in lines[dead] and "ProjectDeleted" in lines[dead]
    assert "remove" in lines[never] and "never seen" in lines[never]
    assert set(swapped.cluster.namespaces) == {live, dead, never}


async def test_sweep_removes_and_a_stopped_sweep_exits_1(swapped: World) -> None:
    live, dead, never = await fleet(swapped)
    code, out = await _in_thread("--max-share", "0.5")
    assert code == 1 and "sweep stopped" in out, out
    assert set(swapped.cluster.namespaces) == {live, dead, never}
    code, out = await _in_thread("--max-share", "1", "--project", dead)
    assert code == 0 and "removed: 1" in out, out
    assert set(swapped.cluster.namespaces) == {live, never}


async def test_zero_removals_only_reports(swapped: World) -> None:
    never = str(uuid.uuid4())
    by_hand(swapped, never)
    code, out = await _in_thread("--max-share", "1", "--max-removals", "0")
    assert code == 0 and "defer" in out and never in swapped.cluster.namespaces, out


async def _in_thread(*args: str) -> tuple[int, str]:
    """The command runs its own event loop (``asyncio.run``): give it a thread."""
    import asyncio

    return await asyncio.to_thread(run, *args)

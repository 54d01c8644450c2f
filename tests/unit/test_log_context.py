"""Log context is bound where an event's handling starts (structlog contextvars), so
every line logged while handling it names the project, the event and the action."""

from __future__ import annotations

import structlog
from structlog.testing import capture_logs

from tests.unit.conftest import World


async def test_intake_lines_carry_project_event_and_action(world: World, project: str) -> None:
    record = world.record(world.created(project), event_id="evt-ctx-1")
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await world.intake.handle(record)
        await world.intake.handle(record)  # the duplicate is logged in the same context
    lines = [e for e in logs if e["event"] in ("event applied", "duplicate event skipped")]
    assert len(lines) == 2
    for line in lines:
        assert (line["project_uuid"], line["event_id"], line["action"]) == (
            project,
            "evt-ctx-1",
            "intake",
        )
    assert structlog.contextvars.get_contextvars() == {}, "unbound after handling"


async def test_reconcile_lines_carry_project_and_action(world: World, project: str) -> None:
    await world.intake.handle(world.record(world.created(project)))
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        await world.settle()
    steps = [e for e in logs if e["event"] in ("reconcile action", "reconcile action succeeded")]
    assert [e["event"] for e in steps] == ["reconcile action", "reconcile action succeeded"]
    assert all(e["project_uuid"] == project and e["action"] == "provision" for e in steps)
    assert structlog.contextvars.get_contextvars() == {}

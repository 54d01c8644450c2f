"""sessions: NOTIFY devsessions_sessions on status, desire or generation changes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 16:40:00

The HTTP API holds ``?wait=`` requests and Server-Sent Event streams open until a
session changes. The trigger runs in the writing transaction, whichever replica (intake
or worker) writes, and PostgreSQL delivers the notification at commit to every
listening replica. Lease renewals and high-water updates change none of the watched
columns, so they notify nobody.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WATCHED = ("status", "desired", "generation", "observed_generation", "ip_address")


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION devsessions_session_changed() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('devsessions_sessions', NEW.project_uuid);
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER sessions_notify_insert AFTER INSERT ON sessions "
        "FOR EACH ROW EXECUTE FUNCTION devsessions_session_changed()"
    )
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in WATCHED)
    op.execute(
        "CREATE TRIGGER sessions_notify_update AFTER UPDATE ON sessions "
        f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION devsessions_session_changed()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS sessions_notify_update ON sessions")
    op.execute("DROP TRIGGER IF EXISTS sessions_notify_insert ON sessions")
    op.execute("DROP FUNCTION IF EXISTS devsessions_session_changed()")

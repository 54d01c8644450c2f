"""sessions.end_reason (why a session is wanted absent) and the expiry sweep's index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 19:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("end_reason", sa.String(16), nullable=True))
    # Rows wanted absent so far were all deleted by the log.
    op.execute("UPDATE sessions SET end_reason = 'deleted' WHERE desired = 'absent'")
    op.create_index(
        "ix_sessions_expiry",
        "sessions",
        ["expires_at"],
        unique=False,
        postgresql_where=sa.text("desired = 'present'"),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_sessions_expiry", table_name="sessions", postgresql_where=sa.text("desired = 'present'")
    )
    op.drop_column("sessions", "end_reason")

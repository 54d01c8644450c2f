"""sessions.hw_topic_id: the input topic's id with the high-water mark (log epoch)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("hw_topic_id", sa.String(36), nullable=True))


def downgrade() -> None:
    op.drop_column("sessions", "hw_topic_id")

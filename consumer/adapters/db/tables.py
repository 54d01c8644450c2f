"""The PostgreSQL schema as SQLAlchemy Core tables (Alembic migrations mirror it).

``sessions`` keeps the design's fields (id, project_uuid, namespace, status, ip_address,
preview/chat/vscode URL and path, times) plus reconcile bookkeeping: desired state and
generation, the per-project high-water mark of the input log, the causing event, the
lease that makes one worker own a project, attempts and the last error.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("project_uuid", sa.String(36), nullable=False, unique=True),
    sa.Column("project_id", sa.BigInteger, nullable=False),
    sa.Column("user_id", sa.BigInteger, nullable=False),
    sa.Column("namespace", sa.String(63), nullable=False),
    sa.Column("release_name", sa.String(53), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("desired", sa.String(8), nullable=False),
    sa.Column("generation", sa.Integer, nullable=False),
    sa.Column("observed_generation", sa.Integer, nullable=False),
    sa.Column("ip_address", sa.String(45)),
    sa.Column("preview_url", sa.String(2048)),
    sa.Column("preview_path", sa.String(255)),
    sa.Column("chat_url", sa.String(2048)),
    sa.Column("chat_path", sa.String(255)),
    sa.Column("vscode_url", sa.String(2048)),
    sa.Column("vscode_path", sa.String(255)),
    sa.Column("preview_internal_url", sa.String(2048)),
    sa.Column("chat_internal_url", sa.String(2048)),
    sa.Column("vscode_internal_url", sa.String(2048)),
    sa.Column("overrides", JSONB, nullable=False),
    sa.Column("hw_partition", sa.Integer),
    sa.Column("hw_offset", sa.BigInteger),
    sa.Column("cause_event_id", sa.String(256), nullable=False),
    sa.Column("cause_source", sa.String(1024), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("retries", sa.Integer, nullable=False, server_default="0"),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", TZ),
    sa.Column("lease_owner", sa.String(128)),
    sa.Column("lease_expires_at", TZ),
    sa.Column("created_at", TZ, nullable=False),
    sa.Column("updated_at", TZ, nullable=False),
    sa.Column("expires_at", TZ, nullable=False),
    sa.Column("ready_at", TZ),
    sa.Column("deleted_at", TZ),
    sa.Index("ix_sessions_work", "status", "next_attempt_at"),
)

inbox = sa.Table(
    "inbox",
    metadata,
    sa.Column("consumer", sa.String(128), primary_key=True),
    sa.Column("source", sa.String(1024), primary_key=True),
    sa.Column("event_id", sa.String(256), primary_key=True),
    sa.Column("project_uuid", sa.String(36), nullable=False),
    sa.Column("partition", sa.Integer, nullable=False),
    sa.Column("offset", sa.BigInteger, nullable=False),
    sa.Column("received_at", TZ, nullable=False, server_default=sa.func.now()),
)

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(), primary_key=True),
    sa.Column("event_id", sa.String(256), nullable=False, unique=True),
    sa.Column("project_uuid", sa.String(36), nullable=False),
    sa.Column("event_type", sa.String(128), nullable=False),
    sa.Column("topic", sa.String(249), nullable=False),
    sa.Column("key", sa.LargeBinary, nullable=False),
    sa.Column("value", sa.LargeBinary, nullable=False),
    sa.Column("headers", JSONB, nullable=False),
    sa.Column("created_at", TZ, nullable=False, server_default=sa.func.now()),
    sa.Column("sent_at", TZ),
    sa.Index("ix_outbox_unsent", "id", postgresql_where=sa.text("sent_at IS NULL")),
)

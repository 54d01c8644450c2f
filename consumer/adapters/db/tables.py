"""The PostgreSQL schema as SQLAlchemy Core tables (Alembic migrations mirror it).

``sessions`` keeps the design's fields (id, project_uuid, namespace, status, ip_address,
preview/chat/vscode URL and path, times) plus reconcile bookkeeping: desired state and
generation, the per-project high-water mark of the input log, the causing event, the
lease that makes one worker own a project, attempts and the last error. The endpoint
columns come from ``domain.model.ENDPOINT_FIELDS``; the migrations spell them out (they
are history and must not change when the code does), and a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

from consumer.domain.model import ENDPOINT_FIELDS

metadata = sa.MetaData()
TZ = sa.DateTime(timezone=True)


def _endpoint_column(name: str) -> sa.Column[str]:
    """A nullable column per ``Endpoints`` field: IPv6-sized address, URLs, paths."""
    length = 45 if name == "ip_address" else 255 if name.endswith("_path") else 2048
    return sa.Column(name, sa.String(length))


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
    *(_endpoint_column(name) for name in ENDPOINT_FIELDS),
    sa.Column("overrides", JSONB, nullable=False),
    sa.Column("hw_partition", sa.Integer),
    sa.Column("hw_offset", sa.BigInteger),
    sa.Column("hw_topic_id", sa.String(36)),  # Kafka's topic id: the log's epoch
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
    # Why the session is wanted absent (``EndReason``): deleted or expired; null while present.
    sa.Column("end_reason", sa.String(16)),
    sa.Index("ix_sessions_work", "status", "next_attempt_at"),
    # The expiry sweep runs every resync: wanted sessions by expiry, without a table scan.
    sa.Index("ix_sessions_expiry", "expires_at", postgresql_where=sa.text("desired = 'present'")),
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

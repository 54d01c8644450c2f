"""Service configuration, read from the environment (prefix ``DEVSESSIONS_``).

One settings object is built by the composition root and passed down; nothing else
reads the environment. ``KUBECONFIG`` keeps its conventional unprefixed name so that
``kubectl``, ``helm`` and the service agree on the cluster.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import (
    AliasChoices,
    Field,
    NonNegativeFloat,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CHART = REPO_ROOT / "helm" / "dev-session-template"


class Settings(BaseSettings):
    """Everything the service can be told; defaults suit the local stack."""

    model_config = SettingsConfigDict(env_prefix="DEVSESSIONS_", extra="ignore", frozen=True)

    # Kafka
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    input_topic: str = "devsessions.project-events.v1"
    output_topic: str = "devsessions.session-events.v1"
    dead_letter_topic: str = "devsessions.project-events.dlq.v1"
    consumer_group: str = "devsessions-provisioner"
    event_source: str = "urn:devsessions:provisioner"
    max_poll_interval_ms: PositiveInt = 300_000
    handler_max_attempts: PositiveInt = 5
    # Intake applies each poll of the input topic as one transaction: at most this many
    # records, waiting at most this long for a first record.
    intake_batch_size: PositiveInt = 500
    intake_batch_timeout_ms: PositiveInt = 200

    # PostgreSQL
    database_url: str = "postgresql+asyncpg://devsessions@127.0.0.1:5432/devsessions"
    db_pool_size: PositiveInt = 10
    migrate_on_start: bool = True

    # Kubernetes and Helm
    kubeconfig: str | None = Field(
        default=None, validation_alias=AliasChoices("DEVSESSIONS_KUBECONFIG", "KUBECONFIG")
    )
    helm_binary: str = "helm"
    chart_path: Path = DEFAULT_CHART
    # A values file applied under every release's own values (e.g. the local stack's images).
    chart_values_file: Path | None = None
    helm_timeout_seconds: PositiveInt = 300
    # Helm's client-side OpenAPI validation on upgrade --install (off: the chart's
    # values.schema.json and the API server's strict field validation still apply).
    helm_openapi_validation: bool = False
    ready_timeout_seconds: PositiveInt = 300
    namespace_delete_timeout_seconds: PositiveInt = 300
    # Least privilege (deploy/chart/devsessions): the ClusterRole the service binds to its own
    # ServiceAccount in each project namespace it creates. Empty: no binding is made, the
    # credentials must hold every right already (the local stack's admin kubeconfig).
    project_cluster_role: str = ""
    service_account_name: str = ""
    service_account_namespace: str = ""

    # Registries ("ghcr.io", "ghcr.io/acme") or pinned images ("ghcr.io/acme/app@sha256:...")
    # that per-project image overrides may use, comma-separated. Empty: none may be
    # overridden; such an event is refused with SessionFailed (consumer/domain/images.py).
    image_allow_list: str = ""

    # Reconciliation
    worker_concurrency: PositiveInt = 8
    max_attempts: PositiveInt = 5
    backoff_base_seconds: PositiveFloat = 2.0
    backoff_max_seconds: PositiveFloat = 300.0
    resync_interval_seconds: PositiveFloat = 15.0
    # How often running sessions are checked against the cluster (one namespace list);
    # a session whose namespace vanished is provisioned again.
    drift_check_interval_seconds: PositiveFloat = 300.0
    # Orphans (namespaces of ours that no live session accounts for, docs/architecture.md):
    # swept this often (0: never; the first sweep one interval after start), at most this
    # many removed per sweep (0: report only), and a sweep whose orphans exceed this share
    # of every namespace of ours removes nothing and reports instead.
    orphan_sweep_interval_seconds: NonNegativeFloat = 600.0
    orphan_max_removals_per_sweep: NonNegativeInt = 5
    orphan_max_share: float = Field(default=0.2, gt=0, le=1)
    lease_seconds: PositiveInt = 30  # renewed every third while a worker acts
    # How often due work is looked for (one query): a crashed replica's projects (their
    # project locks free) are taken over within about this long.
    takeover_check_seconds: PositiveFloat = 2.0
    # On SIGTERM, in-flight actions get this long; the rest is cancelled and resumed by the
    # next owner (keep consumer-budget + this + relay flush under the pod's grace period).
    shutdown_drain_seconds: PositiveFloat = 60.0
    # A session's expiry (fractions allowed), renewed by evidence that its project lives:
    # a ProjectCreated for it, its owner opening it (POST .../access). Past it, the
    # session is torn down (SessionDeleted reason "expired"). SESSION_RENEWAL=always
    # renews every running session on each resync instead: nothing expires.
    session_lifetime_days: PositiveFloat = 365
    session_renewal: Literal["evidence", "always"] = "evidence"
    # Ended (deleted, failed) session rows are forgotten this long after their last
    # change, once the input log no longer holds their high-water mark.
    session_retention_days: PositiveFloat = 30
    # Inbox ids and published outbox rows are kept this long; the high-water marks keep
    # order without them.
    inbox_retention_days: PositiveInt = 30

    # Endpoints published in SessionReady
    public_url_template: str = "https://{project_uuid}.dev.example.com{path}"

    # Outbox relay
    relay_batch_size: PositiveInt = 100
    relay_poll_seconds: PositiveFloat = 1.0
    # A batch whose acknowledgements take longer is given up (left unsent, retried).
    relay_send_timeout_seconds: PositiveFloat = 30.0
    # On SIGTERM, after the workers drained, the outbox gets this long to go out.
    shutdown_flush_seconds: PositiveFloat = 10.0

    # Dependencies (postgresql, kafka, kubernetes, helm) are probed this often; /readyz and
    # devsessions_dependency_up answer from the last probe.
    health_interval_seconds: PositiveFloat = 5.0

    # HTTP: health, metrics and the session API (the design's port 8080)
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    # Bearer tokens, one per line (a mounted Secret); several at once allow rotation.
    api_tokens_file: Path | None = None
    api_auth_reads: bool = False  # also require a token for GET
    # Listening beyond loopback without tokens is refused unless this says otherwise.
    api_allow_unauthenticated: bool = False
    api_max_wait_seconds: PositiveFloat = 60.0
    api_max_body_bytes: PositiveInt = 16 * 1024
    api_publish_timeout_seconds: PositiveFloat = 5.0
    api_event_source: str = "urn:devsessions:api"
    # Session access tokens (forward-auth, docs/security.md): signing keys, one per line,
    # at least 32 bytes each, the first signs (a mounted Secret); lifetime of a token.
    access_keys_file: Path | None = None
    access_token_ttl_seconds: int = Field(default=600, ge=1, le=3600)

    # Observability
    log_level: str = "INFO"
    log_json: bool = False


def load() -> Settings:
    """Read settings from the environment."""
    return Settings()

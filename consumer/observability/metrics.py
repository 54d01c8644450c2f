"""Prometheus metrics of the service, exposed on ``/metrics``.

Names follow Prometheus conventions (``_total`` counters, ``_seconds`` histograms) so
dashboards and alerts read naturally: intake outcomes, dead letters, reconcile actions and
their duration, work in flight and queued, Helm calls by verb and their duration, outbox
events published and their publish lag (write to publish), drift repairs, orphans
found / removed / held and stopped orphan sweeps, and whether each dependency
(postgresql, kafka, kubernetes, helm) answered its last probe. There is no outbox backlog
gauge: the lag histogram is what shows a relay falling behind.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter(
    "devsessions_events_total", "Input events by type and outcome.", ["type", "outcome"]
)
DEAD_LETTERS = Counter(
    "devsessions_dead_letters_total", "Records sent to the dead-letter topic.", ["code"]
)
ACTIONS = Counter(
    "devsessions_reconcile_actions_total",
    "Reconcile actions by kind and result.",
    ["action", "result"],
)
ACTION_SECONDS = Histogram(
    "devsessions_reconcile_action_seconds",
    "Duration of reconcile actions.",
    ["action"],
    buckets=(0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300, 600),
)
HELM_CALLS = Counter("devsessions_helm_calls_total", "Helm CLI invocations by verb.", ["verb"])
HELM_SECONDS = Histogram(
    "devsessions_helm_call_seconds",
    "Duration of Helm CLI invocations.",
    ["verb"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
INFLIGHT = Gauge("devsessions_reconcile_inflight", "Projects being reconciled right now.")
QUEUED = Gauge("devsessions_reconcile_queued", "Projects waiting for a reconcile worker.")
OUTBOX_PUBLISHED = Counter(
    "devsessions_outbox_published_total", "Outbox events published.", ["type"]
)
OUTBOX_LAG = Histogram(
    "devsessions_outbox_lag_seconds",
    "Time from outbox write to publish.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30),
)
DRIFTED = Counter(
    "devsessions_drifted_sessions_total",
    "Running sessions found without their namespace and provisioned again.",
)
ORPHANS = Counter(
    "devsessions_orphans_total",
    "Namespaces of ours without a live session, by outcome: found (proven orphans seen by"
    " a sweep), removed, held (deferred by the cap, in a stopped sweep, or refused), failed.",
    ["outcome"],
)
ORPHAN_SWEEPS_STOPPED = Counter(
    "devsessions_orphan_sweeps_stopped_total",
    "Orphan sweeps that removed nothing because their orphans exceeded the allowed share.",
)
DEPENDENCY_UP = Gauge(
    "devsessions_dependency_up",
    "1 when the dependency answered its last probe, 0 when it failed.",
    ["dependency"],
)
EXPIRED = Counter(
    "devsessions_expired_sessions_total",
    "Sessions whose expiry passed without renewal, handed to the reconciler to tear down.",
)
PRUNED_SESSIONS = Counter(
    "devsessions_pruned_sessions_total",
    "Ended session rows forgotten by retention, by the status they ended in.",
    ["status"],
)
PRUNE_KEPT = Counter(
    "devsessions_prune_kept_for_replay_total",
    "Ended session rows past retention kept because the input log still holds their mark.",
)

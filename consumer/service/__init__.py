"""Service layer: intake of events, the reconcile loop, workers and the outbox relay."""

"""Adapters: PostgreSQL, Helm CLI, Kubernetes client, Kafka producer. Chosen in bootstrap."""

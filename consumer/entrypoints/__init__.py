"""Entrypoints: the Kafka subscriber, the HTTP endpoints, and the app that runs them."""

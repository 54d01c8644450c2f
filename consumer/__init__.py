"""devsessions consumer: keeps one always-on Helm release per project, driven by Kafka events."""

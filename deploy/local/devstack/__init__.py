"""devstack: the local stack (Kafka, PostgreSQL, Kubernetes with kwok, helm) as local processes."""

"""PostgreSQL adapter: table definitions and the transactional ``Store``."""

"""PostgreSQL adapter: table definitions, the unit of work and its repositories."""

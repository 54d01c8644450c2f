"""Alembic migration scripts for the devsessions schema."""

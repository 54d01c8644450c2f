"""Engine construction and migrations (Alembic), kept out of import time."""

from __future__ import annotations

import asyncio

from alembic import command
from alembic.config import Config
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine


def make_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An asyncpg-backed engine; ``pool_pre_ping`` survives a database restart."""
    return create_async_engine(url, pool_size=pool_size, pool_pre_ping=True)


def alembic_config(url: str) -> Config:
    """Alembic configuration without an ini file: the scripts ship inside the package."""
    config = Config()
    config.set_main_option("script_location", "consumer:migrations")
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``. Alembic's env runs its own loop: use a thread."""
    await asyncio.to_thread(command.upgrade, alembic_config(url), revision)

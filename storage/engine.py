"""The async engine: SQLite (WAL, one process) by default, PostgreSQL by URL; and Alembic migrations."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.sqlite_io import pragmas

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///studybot.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# An advisory lock key held while migrating ("STUDYMIG").
MIGRATION_LOCK_KEY = 0x5354_5544_594D_4947
# Under a burst every dispatch waits for a pooled connection; waiting is better than failing a member.
POOL_TIMEOUT_S = 300


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def make_engine(url: str, **connect_args: Any) -> AsyncEngine:
    """Create the engine for a database URL; SQLite gets WAL, a busy timeout and foreign keys."""
    if is_sqlite(url):
        engine = create_async_engine(url, pool_timeout=POOL_TIMEOUT_S, connect_args=connect_args)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            pragmas(dbapi_connection, "FULL")

        return engine
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT_S,
        pool_pre_ping=True,
        connect_args=connect_args,
    )


def alembic_config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every Alembic migration not yet applied (one process at a time on PostgreSQL)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several instances starting together must not race to create the same tables.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)
    log.info("database schema is up to date")

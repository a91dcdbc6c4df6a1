"""The async engine: SQLite (WAL, one process) by default, PostgreSQL by URL; and Alembic migrations."""

from __future__ import annotations

import logging
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from storage.sqlite_io import pragmas

if TYPE_CHECKING:
    from alembic.config import Config

log = logging.getLogger(__name__)

DEFAULT_URL = "sqlite+aiosqlite:///studybot.db"
MIGRATIONS = Path(__file__).parent / "migrations"
# An advisory lock key held while migrating ("STUDYMIG").
MIGRATION_LOCK_KEY = 0x5354_5544_594D_4947
# `revision = "0001"` or `down_revision: str | None = None` at the start of a line of a migration script.
_SCRIPT_ID = re.compile(r"^(revision|down_revision)\s*(?::[^=\n]*)?=[ \t]*(.+?)[ \t]*(?:#.*)?$", re.MULTILINE)
# Under a burst every dispatch waits for a pooled connection; waiting is better than failing a member.
POOL_TIMEOUT_S = 300
# PostgreSQL connections per pool and process (STUDYBOT_DB_POOL_SIZE): SQLAlchemy's, and asyncpg's own for the
# busiest statements (storage.base). Once open they stay open: connections beyond the pool's size ("overflow")
# would be closed on return, and under a burst that meant connecting anew all the time.
POOL_SIZE = 10


# The async driver studybot uses for each database it runs on.
DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
EXAMPLES = "sqlite+aiosqlite:///studybot.db or postgresql+asyncpg://user@host:5432/db"
# PostgreSQL's SQLSTATEs for a database that does not exist, and for a refused user or password.
NO_SUCH_DATABASE = "3D000"
REFUSED_LOGIN = ("28000", "28P01")
# What sqlite3 says when the file or its directory cannot be opened or written (WAL needs the directory).
_SQLITE_CANNOT_OPEN = ("unable to open", "readonly", "read-only", "not a database", "disk i/o error")


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be studybot's database, with what to write instead; None when it can be.

    Checked before anything connects, so a typo gets one line instead of SQLAlchemy's traceback.
    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return f"is not a database URL; write one like {EXAMPLES}"
    backend = parsed.drivername.partition("+")[0]
    backend = "postgresql" if backend == "postgres" else backend
    wanted = DRIVERS.get(backend)
    if wanted is None:
        return f"names a {backend[:20]!r} database; studybot runs on SQLite or PostgreSQL: {EXAMPLES}"
    if parsed.drivername != wanted:
        fixed = parsed.set(drivername=wanted).render_as_string(hide_password=True)
        return f"needs the async driver {wanted.partition('+')[2]}: write {fixed}"
    file = _sqlite_file(parsed)
    if file is not None and not file.parent.is_dir():
        what = "is not a directory" if file.parent.exists() else "does not exist"
        return (
            f"puts the SQLite file in {file.parent}, which {what}; give a path in a directory studybot may "
            "write to"
        )
    return None


def _sqlite_file(parsed: URL) -> Path | None:
    """The file of a SQLite URL; None for in-memory databases and other databases."""
    database = parsed.database or ""
    if not parsed.drivername.startswith("sqlite") or database in ("", ":memory:"):
        return None
    return None if database.startswith("file:") else Path(database)


def database_problem(exc: BaseException, url: str) -> str | None:
    """What failing to open the database at `url` with `exc` asks of whoever set the URL; None if unknown."""
    parsed = make_url(url)
    place = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    for cause in _causes(exc):
        if is_sqlite(url):
            if isinstance(cause, sqlite3.Error) and any(m in str(cause).lower() for m in _SQLITE_CANNOT_OPEN):
                return (
                    f"points at the SQLite file {_sqlite_file(parsed)}, which studybot cannot open and "
                    f"write ({str(cause).splitlines()[0]}); give a path in a directory studybot may write to"
                )
            continue
        state = getattr(cause, "sqlstate", None)
        if state == NO_SUCH_DATABASE:
            return (
                f"names the database {parsed.database!r}, which the PostgreSQL server at {place} does not "
                f"have; create it (createdb -h {parsed.host or 'localhost'} {parsed.database}) or correct "
                "the name"
            )
        if state in REFUSED_LOGIN:
            reason = str(cause).splitlines()[0] if str(cause) else state
            return f"was refused by PostgreSQL at {place} ({reason}); check the user name and password"
        if isinstance(cause, socket.gaierror):
            return f"names the host {parsed.host!r}, which cannot be found ({cause.strerror}); correct it"
        if isinstance(cause, OSError):  # refused, unreachable, timed out
            reason = cause.strerror or "timed out"
            return f"cannot reach PostgreSQL at {place} ({reason}); start the server or correct host and port"
    return None


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """`exc` and what caused it, in turn (SQLAlchemy wraps the driver's error, asyncpg's among others)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def make_engine(url: str, *, pool_size: int = POOL_SIZE, **connect_args: Any) -> AsyncEngine:
    """Create the engine for a database URL; SQLite gets WAL, a busy timeout and foreign keys."""
    if is_sqlite(url):
        engine = create_async_engine(url, pool_timeout=POOL_TIMEOUT_S, connect_args=connect_args)

        @event.listens_for(engine.sync_engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            pragmas(dbapi_connection, "FULL")

        return engine
    return create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args=connect_args,
    )


def alembic_config(connection: Connection | None = None) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The head revision id of the migration scripts, read from their text without importing anything.

    Alembic's way (ScriptDirectory, which `command.upgrade` uses) imports alembic, mako, pygments and every
    script: about a third of a second at each start, for a database that is almost always up to date.
    The scripts are the files Alembic loads (every *.py in versions/ but __init__.py). None, to leave the
    answer to Alembic, when a script's ids are not literals on lines of their own, an id appears twice, a
    script revises an unknown revision, or there is not exactly one head.
    """
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        if path.name.startswith(("__init__", ".#")):
            continue
        found = _script_ids(path)
        if found is None or found[0] in revisions:
            return None
        revisions.add(found[0])
        parents.update(found[1])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None


_QUOTED = re.compile(r"""^(?:"([^"\\]*)"|'([^'\\]*)')$""")


def _literal(text: str) -> str | tuple[str, ...] | None:
    """A revision id as a script writes it: "0009", None, or a tuple or list of quoted ids. Read without
    ast.literal_eval: compiling at every start can run finalizers mid-parse, which CPython 3.11 rejects
    ("AST constructor recursion depth mismatch"). ValueError for anything else."""
    text = text.strip()
    if text == "None":
        return None
    if m := _QUOTED.match(text):
        return m.group(1) if m.group(1) is not None else m.group(2)
    if text[:1] in "([" and text[-1:] in ")]":
        parts = [p.strip() for p in text[1:-1].split(",") if p.strip()]
        ids = [_literal(p) for p in parts]
        if all(isinstance(i, str) for i in ids):
            return tuple(str(i) for i in ids)
    raise ValueError(f"not a revision id: {text[:40]}")


def _script_ids(path: Path) -> tuple[str, tuple[str, ...]] | None:
    """A migration script's `revision` and `down_revision` ids, when each is a literal on its own line."""
    try:
        found = {name: _literal(value) for name, value in _SCRIPT_ID.findall(path.read_text("utf-8"))}
    except (OSError, UnicodeDecodeError, ValueError):
        return None  # Alembic, loading the script, says what is wrong with it
    revision, down = found.get("revision"), found.get("down_revision", ())
    downs = (down,) if isinstance(down, str) else () if down is None else down
    if not isinstance(revision, str) or "down_revision" not in found or not isinstance(downs, tuple | list):
        return None
    if not all(isinstance(d, str) for d in downs):
        return None
    return revision, tuple(str(d) for d in downs)


def current_revisions(connection: Connection) -> set[str]:
    """The revisions the database is at (its alembic_version rows); empty for a new database."""
    if not inspect(connection).has_table("alembic_version"):
        return set()
    return {row[0] for row in connection.execute(text("SELECT version_num FROM alembic_version"))}


def _upgrade(connection: Connection) -> None:
    head = head_revision()
    if head is not None and current_revisions(connection) == {head}:
        return  # up to date: no need to import Alembic
    from alembic import command

    command.upgrade(alembic_config(connection), "head")


async def upgrade(engine: AsyncEngine) -> None:
    """Apply every Alembic migration not yet applied (one process at a time on PostgreSQL)."""
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            # Several instances starting together must not race to create the same tables; the revision
            # is read after the lock is held, so an instance migrating makes the others wait and see its
            # result.
            await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        await conn.run_sync(_upgrade)
    log.info("database schema is up to date")

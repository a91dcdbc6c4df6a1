"""Shared fixtures: a real store on SQLite and on PostgreSQL, a fake clock, and the core."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.content import load_catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, Invocation, Reply, UserRef
from storage.engine import POOL_SIZE
from storage.sql_store import SqlStore
from tests.fakes.platform import RecordingPlatform, shown

PG_URL = os.environ.get("STUDYBOT_TEST_POSTGRES_URL", "")
REQUIRE_PG = os.environ.get("STUDYBOT_REQUIRE_POSTGRES") == "1"
# A Monday morning in late November 2026 (UTC).
START = dt.datetime(2026, 11, 23, 8, 0, tzinfo=dt.UTC)
CHANNEL = ConversationRef("console", "ws1", "general")


def _postgres_or_skip() -> str:
    if PG_URL:
        return PG_URL
    reason = (
        "PostgreSQL tests need STUDYBOT_TEST_POSTGRES_URL (e.g. postgresql+asyncpg://postgres@127.0.0.1/test)"
    )
    if REQUIRE_PG:
        pytest.fail(f"STUDYBOT_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


async def _sqlite_store(path: object) -> SqlStore:
    s = SqlStore.from_url(f"sqlite+aiosqlite:///{path}/studybot.db")
    await s.migrate()
    return s


@pytest.fixture
async def sqlite_store(tmp_path: object) -> AsyncIterator[SqlStore]:
    """A migrated, empty SQLite store, for tests about SQLite alone or about an adapter (not storage)."""
    s = await _sqlite_store(tmp_path)
    yield s
    await s.close()


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: object) -> AsyncIterator[SqlStore]:
    """A migrated, empty store: a SQLite file in tmp_path, or a fresh schema on the PostgreSQL server."""
    if request.param == "sqlite":
        s = await _sqlite_store(tmp_path)
        yield s
        await s.close()
        return
    async with postgres_store() as s:
        yield s


@contextlib.asynccontextmanager
async def postgres_store(
    query: str = "", pool_size: int = POOL_SIZE, **settings: str
) -> AsyncIterator[SqlStore]:
    """A migrated store in a new schema, dropped afterwards; `query` is added to the URL (`?name=value`),
    `settings` are further server settings."""
    url = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    s = SqlStore.from_url(
        url + query, pool_size=pool_size, server_settings={"search_path": schema, **settings}
    )
    try:
        await s.migrate()
        yield s
    finally:
        await s.close()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture(scope="session")
def catalog():  # type: ignore[no-untyped-def]
    return load_catalog()


@pytest.fixture
def core(store: SqlStore, catalog, clock: FakeClock) -> Core:  # type: ignore[no-untyped-def]
    return make_core(store, catalog, clock)


@dataclass
class Bot:
    """Drive the core the way an adapter does: typed text or button clicks in, replies out."""

    core: Core
    clock: FakeClock
    platform: RecordingPlatform = field(default_factory=RecordingPlatform)
    admins: set[str] = field(default_factory=set)

    def user(self, name: str) -> UserRef:
        return UserRef("console", name.lower(), name, is_admin=name in self.admins)

    async def say(self, name: str, line: str, where: ConversationRef = CHANNEL) -> Reply:
        return shown(await self.core.dispatch(self.core.invocation(line, self.user(name), where)))

    async def click(self, name: str, reply: Reply, label: str, where: ConversationRef = CHANNEL) -> Reply:
        button = next(b for b in reply.buttons if b.label == label)
        clicked = Invocation(button.command, button.args, self.user(name), where)
        return shown(await self.core.dispatch(clicked))

    async def post(self) -> list[Reply]:
        """Run a sweep; return the daily challenge posts it sent (weekly recaps stay in platform.sent)."""
        before = len(self.platform.sent)
        await Poster(self.core, {"console": self.platform}).sweep()
        sent = zip(self.platform.sent[before:], self.platform.keys[before:], strict=True)
        return [reply for (_, reply), key in sent if key and key.startswith("studybot-post-")]


@pytest.fixture
def bot(core: Core, clock: FakeClock) -> Bot:
    return Bot(core, clock, admins={"Mia"})


def text_of(reply: Reply) -> str:
    """Everything a user reads in a reply, as one string."""
    parts = [reply.text]
    for card in reply.cards:
        parts += [card.title, card.body, card.footer] + [f"{f.name}: {f.value}" for f in card.fields]
    parts += [b.label for b in reply.buttons]
    return "\n".join(p for p in parts if p)


async def snapshot(store: SqlStore) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every table, to prove that something changed nothing."""
    from sqlmodel import SQLModel

    out = {}
    async with store.engine.connect() as conn:
        for table in SQLModel.metadata.sorted_tables:
            rows = (await conn.execute(table.select().order_by(*table.primary_key.columns))).all()
            out[table.name] = [tuple(r) for r in rows]
    return out

"""Migrations: the head revision read from the scripts' text is Alembic's own; a database at the head opens
without importing Alembic; an older or new one is migrated, on PostgreSQL by several instances at once."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.rules.review import reschedule
from storage.engine import alembic_config, current_revisions, head_revision
from storage.sql_store import SqlStore
from tests.conftest import _postgres_or_skip


def alembic_head() -> str:
    [head] = ScriptDirectory.from_config(alembic_config()).get_heads()
    return head


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    """Keeps head_revision honest as migrations are added: it must name the head Alembic would."""
    assert head_revision() == alembic_head()


def script(revision: str, down: str, annotated: bool = False) -> str:
    if annotated:  # the style of Alembic's newer script template
        return (
            f'"""Revision ID: {revision}\nRevises: {down}\n"""\nfrom typing import Sequence, Union\n\n'
            f"revision: str = {revision!r}\n"
            f"down_revision: Union[str, Sequence[str], None] = {down}  # comment\n"
        )
    return f'"""Revision ID: {revision}"""\n\nrevision = "{revision}"\ndown_revision = {down}\n'


@pytest.mark.parametrize(
    ("scripts", "head"),
    [
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'a'"), "3_c.py": script("c", '"b"')}, "c"),
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'a'", annotated=True)}, "b"),
        (  # a merge of two branches
            {
                "1_a.py": script("a", "None"),
                "2_b.py": script("b", "'a'"),
                "3_c.py": script("c", "'a'"),
                "4_m.py": script("m", "('b', 'c')"),
            },
            "m",
        ),
        # Alembic decides: two heads, an unknown parent, an id twice, ids that are not literals.
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'a'"), "3_c.py": script("c", "'a'")}, None),
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'x'")}, None),
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'a'"), "3_b.py": script("b", "'a'")}, None),
        ({"1_a.py": script("a", "None"), "2_b.py": script("b", "'a'").replace('"b"', "make_id()")}, None),
        ({"1_a.py": script("a", "None"), "2_b.py": "revision = 'b'\n"}, None),
        ({}, None),
    ],
)
def test_the_head_is_read_from_the_scripts_text(
    tmp_path: Path, scripts: dict[str, str], head: str | None
) -> None:
    (tmp_path / "__init__.py").write_text("revision = 'not-a-script'\ndown_revision = None\n")
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    assert head_revision(tmp_path) == head


PROBE = """
import asyncio, json, sys
from storage.sql_store import SqlStore

async def main(url):
    store = SqlStore.from_url(url)
    await store.migrate()
    await store.close()

asyncio.run(main(sys.argv[1]))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & {"alembic", "mako", "pygments"})))
"""


def migrate_in_a_new_process(url: str) -> list[str]:
    """Migrate the database at `url` as `studybot` starts; return which of Alembic's packages it imported."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, url], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    imported: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return imported


def test_a_database_at_the_head_opens_without_importing_alembic(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    assert "alembic" in migrate_in_a_new_process(url)  # a new database: Alembic creates the schema
    assert migrate_in_a_new_process(url) == []


@pytest.fixture(params=["sqlite", "postgres"])
async def new_database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[dict[str, Any]]:
    """SqlStore.from_url's arguments for an empty database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        yield {"url": f"sqlite+aiosqlite:///{tmp_path}/s.db"}
        return
    url = _postgres_or_skip()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield {"url": url, "server_settings": {"search_path": schema}}
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


async def revisions_of(store: SqlStore) -> set[str]:
    async with store.engine.connect() as conn:
        return await conn.run_sync(current_revisions)


async def test_an_older_database_is_migrated_to_the_head(new_database: dict[str, Any]) -> None:
    store = SqlStore.from_url(**new_database)
    try:
        base = ScriptDirectory.from_config(alembic_config()).get_base()
        assert base is not None and base != alembic_head()
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), base))
        assert await revisions_of(store) == {base}
        await store.migrate()
        assert await revisions_of(store) == {alembic_head()}
        member = await store.upsert_member("console", "ada", "Ada")
        assert await store.get_member(member.id) == member
    finally:
        await store.close()


@pytest.mark.parametrize("new_database", ["postgres"], indirect=True)  # one process owns a SQLite file
async def test_instances_starting_together_on_postgres_migrate_a_new_database_once(
    new_database: dict[str, Any],
) -> None:
    stores = [SqlStore.from_url(**new_database) for _ in range(4)]
    try:
        async with asyncio.timeout(60):  # without the advisory lock to make them take turns, they deadlock
            await asyncio.gather(*(s.migrate() for s in stores))
        assert [await revisions_of(s) for s in stores] == [{alembic_head()}] * 4
    finally:
        for s in stores:
            await s.close()


async def test_leitner_cards_keep_their_day_and_get_an_fsrs_memory(new_database: dict[str, Any]) -> None:
    """Migration 0007: a card in box k (interval 1, 3, 7, 14, 30 days) keeps its due day, and its memory says
    it was last answered that interval before, held that long; the next right answer spaces it further."""
    store = SqlStore.from_url(**new_database)
    due = dt.date(2026, 12, 10)
    try:
        async with store.engine.begin() as conn:
            await conn.run_sync(lambda c: command.upgrade(alembic_config(c), "0006"))
            await conn.execute(
                text("INSERT INTO member (platform, user_id, name) VALUES ('console', 'ada', 'Ada')")
            )
            for box in range(1, 6):
                await conn.execute(
                    text(
                        "INSERT INTO review_card (member_id, challenge_id, box, due_date, updated_at) "
                        "VALUES (1, :q, :box, :due, CURRENT_TIMESTAMP)"
                    ),
                    {"q": f"q{box}", "box": box, "due": due},
                )
        await store.migrate()
        cards = {c.challenge_id: c for c in await store.review_cards(1)}
        for box, days in enumerate((1, 3, 7, 14, 30), start=1):
            card = cards[f"q{box}"]
            assert (card.due, card.stability, card.last_review) == (due, days, due - dt.timedelta(days=days))
            after = reschedule(card, 1, card.challenge_id, True, due)
            assert after.due - due > dt.timedelta(days=days)  # remembered on time: a longer gap than before
    finally:
        await store.close()

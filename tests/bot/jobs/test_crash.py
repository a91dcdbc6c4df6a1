"""A burst of answers through a real `studybot run` process (Slack HTTP mode, against the fake Slack), killed
with SIGKILL midway: after a restart every answer a member saw acknowledged is stored, and answers sent again
after the crash are counted once.

STUDYBOT_LONG_TESTS=1 makes it 10,000 answers; the default is 500, to keep the suite quick.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import signal
import time
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.content import load_catalog
from bot.catalog.daily import pick_challenge
from bot.catalog.model import LETTERS
from bot.kernel.clock import local_date
from bot.kernel.types import ActivityKind, ConversationRef
from storage.sql_store import SqlStore
from tests.conftest import _postgres_or_skip
from tests.fakes.loadgen import Answer, BotProcess, burst, reply_text
from tests.fakes.slack import CHANNEL_ID, TEAM_ID, FakeSlack

LONG = os.environ.get("STUDYBOT_LONG_TESTS") == "1"
ANSWERS = 10_000 if LONG else 500
# Answers sent and not yet answered at any moment: members waiting for their reply.
IN_FLIGHT = 100
# Members enrolled at once while seeding (writes are committed together).
SEED_CONCURRENCY = 50


@dataclass
class Seeded:
    cohort_id: int
    post_id: int
    answer: str
    members: dict[str, int]  # Slack user id -> member id


def midday_zone(now: dt.datetime) -> str:
    """A fixed-offset zone where it is about noon, so the quiz day cannot end while the test runs."""
    offset = 12 - now.hour  # from -11 to +12 hours; Etc/GMT-3 is three hours *ahead* of UTC
    return f"Etc/GMT{-offset:+d}"


async def seed(database_url: str, members: int, fake: FakeSlack) -> Seeded:
    """Migrate, create a cohort in the fake workspace's channel, enrol the members and post today's quiz.

    The child process runs on the system clock, so "today" is the real date in the cohort's zone.
    """
    store = SqlStore.from_url(database_url)
    try:
        await store.migrate()
        now = dt.datetime.now(dt.UTC)
        zone = midday_zone(now)
        today = local_date(now, zone)
        cohort = await store.create_cohort(
            conversation=ConversationRef("slack", TEAM_ID, CHANNEL_ID),
            name="crash",
            post_time=dt.time(0, 0),
            timezone=zone,
            weekdays=frozenset(range(7)),
            start_date=today,
            created_by="test",
            now=now,
        )
        catalog = load_catalog()
        used: list[str] = []
        while not (challenge := pick_challenge(catalog, cohort, today, used)).is_quiz:
            used.append(challenge.id)
        post = await store.claim_post(cohort.id, today, challenge.id, now)
        assert post is not None
        # Already in the channel: the child's scheduler has nothing to post.
        await store.set_post_message(post.id, "1700000000.000001")
        ids: dict[str, int] = {}
        slots = asyncio.Semaphore(SEED_CONCURRENCY)

        async def join(i: int) -> None:
            user_id, name = f"U{i:06d}", f"member{i}"
            async with slots:
                member = await store.upsert_member("slack", user_id, name)
                await store.enrol(cohort.id, member.id, now)
            fake.set_user(user_id, name=name)  # the name users.info gives is the stored one: no rename
            ids[user_id] = member.id

        await asyncio.gather(*(join(i) for i in range(members)))
        return Seeded(cohort.id, post.id, challenge.answer, dict(sorted(ids.items())))
    finally:
        await store.close()


async def stored_answers(database_url: str, seeded: Seeded) -> dict[int, list[str]]:
    """Member id -> the choices stored for the quiz post (one each, if all is well)."""
    store = SqlStore.from_url(database_url)
    try:
        rows = await store.activities(seeded.cohort_id)
    finally:
        await store.close()
    out: dict[int, list[str]] = defaultdict(list)
    for row in rows:
        if row.kind is ActivityKind.ANSWER and row.post_id == seeded.post_id:
            out[row.member_id].append(row.choice or "")
    return out


def is_verdict(reply: object, choice: str, answer: str) -> bool:
    """The card of a counted answer: Correct! or Not quite, whichever is true for `choice`."""
    shown = reply_text(reply)
    return ("Correct!" in shown) if choice == answer else (f"Not quite: the answer is {answer}" in shown)


def is_already_answered(reply: object, choice: str) -> bool:
    return f"You already answered {choice}" in reply_text(reply)


def logs(folder: Path) -> str:
    return "\n".join(
        f"--- {path.name}\n{path.read_text(errors='replace')[-4000:]}"
        for path in sorted(folder.glob("studybot.*.log"))
    )


@pytest.fixture(params=["sqlite", "postgres"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A database of its own for the child process: a SQLite file, or a fresh PostgreSQL database.

    A schema per test (as the `store` fixture does) cannot be used here: the child takes nothing but a URL,
    and SQLAlchemy passes a URL's query options to asyncpg as keywords, none of which sets search_path.
    """
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path}/studybot.db"
        return
    async with postgres_database("studybot_crash") as url:
        yield url


@contextlib.asynccontextmanager
async def postgres_database(prefix: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database (its URL), dropped afterwards, for child processes, which take a URL."""
    url = _postgres_or_skip()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with admin.connect() as conn:
                # FORCE: a killed process's sessions may not have been reaped yet.
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


async def test_answers_acknowledged_before_a_sigkill_are_kept_and_resent_ones_count_once(
    database_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    async with FakeSlack() as fake:
        seeded = await seed(database_url, ANSWERS, fake)
        answers = [Answer(user_id, LETTERS[i % len(LETTERS)]) for i, user_id in enumerate(seeded.members)]
        choice_of = {a.user_id: a.choice for a in answers}
        bot = BotProcess(tmp_path, database_url, fake)
        try:
            # 1. The burst, killed once half the members have their reply.
            await bot.start()
            before = await burst(
                fake,
                bot,
                answers,
                post_id=seeded.post_id,
                concurrency=IN_FLIGHT,
                kill_after=ANSWERS // 2,
            )
            exit_code = await bot.wait()
            assert exit_code == -signal.SIGKILL, f"studybot exited with {exit_code}, not by the SIGKILL"
            before.refresh(fake)  # replies still on the wire when the kill landed were seen too
            acknowledged = set(before.replies)
            assert before.acknowledged_at_kill is not None and before.sent_at_kill is not None
            assert 0 < before.acknowledged_at_kill < ANSWERS
            assert before.sent_at_kill > before.acknowledged_at_kill, "nothing was in flight at the kill"
            wrong = {
                u: reply_text(r)
                for u, r in before.replies.items()
                if not is_verdict(r, choice_of[u], seeded.answer)
            }
            assert not wrong, (
                f"{len(wrong)} replies before the crash were not a verdict, e.g. {next(iter(wrong.items()))}"
            )

            # 2. A restart on the same database: every acknowledged answer is there, once.
            await bot.start()
            stored = await stored_answers(database_url, seeded)
            stored_users = {u for u, m in seeded.members.items() if stored.get(m)}
            lost = sorted(u for u in acknowledged if u not in stored_users)
            assert not lost, f"{len(lost)} acknowledged answers were lost in the crash, e.g. {lost[:5]}"
            doubled = {u: stored[m] for u, m in seeded.members.items() if len(stored.get(m, [])) > 1}
            assert not doubled, f"members with more than one stored answer: {list(doubled.items())[:5]}"
            changed = {u for u in stored_users if stored[seeded.members[u]] != [choice_of[u]]}
            assert not changed, f"stored choices differ from the ones sent: {sorted(changed)[:5]}"

            # 3. Every member sends the answer again; each is counted once.
            after = await burst(fake, bot, answers, post_id=seeded.post_id, concurrency=IN_FLIGHT)
            assert len(after.replies) == ANSWERS
            already = {u for u, r in after.replies.items() if is_already_answered(r, choice_of[u])}
            fresh = {u for u, r in after.replies.items() if is_verdict(r, choice_of[u], seeded.answer)}
            odd = {u: reply_text(r) for u, r in after.replies.items() if u not in already | fresh}
            assert not odd, f"{len(odd)} unexpected replies after the restart, e.g. {next(iter(odd.items()))}"
            assert acknowledged <= already, "an answer acknowledged before the crash was counted again"
            # Exactly the answers stored before the restart are "already answered"; the rest count now.
            assert already == stored_users
            assert fresh == set(seeded.members) - stored_users
            final = await stored_answers(database_url, seeded)
            assert sorted(len(final.get(m, [])) for m in seeded.members.values()) == [1] * ANSWERS
            assert sum(len(v) for v in final.values()) == ANSWERS
            assert await bot.stop() == 0, "studybot did not shut down cleanly on SIGTERM"
        except BaseException:
            await bot.stop()
            print(logs(tmp_path))
            raise
        finally:
            await bot.stop()
    print(
        f"\n{make_url(database_url).get_backend_name()}: {ANSWERS:,} answers, {IN_FLIGHT} in flight; "
        f"SIGKILL after {before.acknowledged_at_kill:,} replies to {before.sent_at_kill:,} sent, "
        f"{len(acknowledged):,} acknowledged in all ({before.seconds:.1f} s); "
        f"stored after restart {len(stored_users):,}; re-sent {ANSWERS:,} in {after.seconds:.1f} s: "
        f"{len(already):,} already answered, {len(fresh):,} counted now; "
        f"{ANSWERS:,} stored, one each; {time.monotonic() - started:.1f} s in all"
    )

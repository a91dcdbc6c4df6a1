"""Three `studybot run` processes on one PostgreSQL behind a load balancer (Slack HTTP mode: any instance
takes any request), the scheduler's leader (as its /readyz says) killed with SIGKILL mid-burst: every
member's answer is stored exactly once, every member gets their verdict (or, when the dead instance had
stored it, "you already answered"), a standby takes the lead, and the day keeps its one post."""

from __future__ import annotations

import asyncio
import json
import signal
import time
import urllib.parse
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.catalog.model import LETTERS
from bot.kernel.types import Button
from tests.adapters.test_ops import WithOps
from tests.bot.jobs.test_crash import (
    is_already_answered,
    is_verdict,
    logs,
    postgres_database,
    seed,
    stored_answers,
)
from tests.fakes.loadgen import BotProcess, encode_action, reply_text
from tests.fakes.slack import FakeSlack, block_actions_payload

ANSWERS = 300
IN_FLIGHT = 60
INSTANCES = 3
REPLY_WITHIN = 30.0  # seconds a member waits for a reply before clicking again


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database of its own (the children take nothing but a URL)."""
    async with postgres_database("studybot_instances") as url:
        yield url


async def leading(bots: list[WithOps], within: float = 20.0) -> WithOps:
    """The one instance whose /readyz says it leads the scheduler (waiting for one to take the lead)."""
    deadline = time.monotonic() + within
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            leaders = []
            for bot in bots:
                async with http.get(f"http://127.0.0.1:{bot.ops_port}/readyz") as response:
                    if (await response.json())["scheduler"] == "leader":
                        leaders.append(bot)
            assert len(leaders) <= 1, "two instances lead the scheduler at once"
            if leaders:
                return leaders[0]
            await asyncio.sleep(0.2)
    raise AssertionError(f"no instance took the lead within {within:.0f} s")


class Balancer:
    """Round robin over the live instances; a request an instance cannot take goes to the next one."""

    def __init__(self, bots: list[BotProcess]) -> None:
        self.bots = bots
        self.turn = 0

    async def post(self, session: aiohttp.ClientSession, body: str, headers: dict[str, str]) -> BotProcess:
        """Send the request to an instance that takes it (HTTP 200: acked); that instance."""
        for _ in range(len(self.bots) * 2):
            alive = [b for b in self.bots if not b.killed]
            bot = alive[self.turn % len(alive)]
            self.turn += 1
            try:
                async with session.post(bot.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return bot
            except aiohttp.ClientError:
                continue  # the instance is gone: the balancer tries another
        raise AssertionError("no instance took the request")


async def test_three_instances_one_killed_mid_burst_lose_and_double_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    started = time.monotonic()
    async with FakeSlack() as fake:
        seeded = await seed(postgres_url, ANSWERS, fake)
        choice_of = {u: LETTERS[i % len(LETTERS)] for i, u in enumerate(seeded.members)}
        bots: list[WithOps] = []
        for n in range(INSTANCES):
            folder = tmp_path / f"instance{n}"
            folder.mkdir()
            bots.append(WithOps(folder, postgres_url, fake))
        balancer = Balancer(bots)
        replies: dict[str, object] = {}
        clicks = {"again": 0}
        killed = asyncio.Event()
        try:
            await asyncio.gather(*(b.start() for b in bots))
            leader = await leading(bots)

            async def answer(session: aiohttp.ClientSession, user_id: str, slots: asyncio.Semaphore) -> None:
                async with slots:
                    for _ in range(3):  # a member with no reply clicks again, as on Slack
                        url = fake.new_response_url()
                        choice = choice_of[user_id]
                        action = encode_action(Button(choice, "answer", (choice, str(seeded.post_id))))
                        click = block_actions_payload(action, action, response_url=url, user_id=user_id)
                        body = urllib.parse.urlencode({"payload": json.dumps(click)})
                        headers = {"Content-Type": "application/x-www-form-urlencoded", **fake.sign(body)}
                        took = await balancer.post(session, body, headers)
                        deadline = time.monotonic() + REPLY_WITHIN
                        while time.monotonic() < deadline:
                            got = fake.responses_to(url)
                            if got:
                                replies[user_id] = got[0]
                                if len(replies) >= ANSWERS // 2:
                                    half.set()
                                return
                            if took.killed:
                                await asyncio.sleep(0.5)  # a reply already on the wire still lands
                                if fake.responses_to(url):
                                    continue
                                break  # acked by the instance that died: no reply is coming
                            await asyncio.sleep(0.02)
                        clicks["again"] += 1
                    raise AssertionError(f"{user_id} never got a reply")

            half = asyncio.Event()

            async def killer() -> None:
                await half.wait()
                leader.kill()
                killed.set()

            slots = asyncio.Semaphore(IN_FLIGHT)
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=IN_FLIGHT)) as session:
                kill = asyncio.create_task(killer())
                await asyncio.gather(*(answer(session, u, slots) for u in seeded.members))
                await kill
            assert await leader.wait() == -signal.SIGKILL
            standby = await leading([b for b in bots if b is not leader], within=40.0)

            stored = await stored_answers(postgres_url, seeded)
            lost = [u for u, m in seeded.members.items() if not stored.get(m)]
            doubled = [u for u, m in seeded.members.items() if len(stored.get(m, [])) > 1]
            assert not lost and not doubled, (lost[:5], doubled[:5])
            assert all(stored[m] == [choice_of[u]] for u, m in seeded.members.items())
            odd = {
                u: reply_text(r)
                for u, r in replies.items()
                if not (is_verdict(r, choice_of[u], seeded.answer) or is_already_answered(r, choice_of[u]))
            }
            assert len(replies) == ANSWERS and not odd, list(odd.items())[:3]
            engine = create_async_engine(postgres_url)
            try:
                async with engine.connect() as conn:
                    posts = (await conn.execute(text("SELECT count(*) FROM daily_post"))).scalar_one()
            finally:
                await engine.dispose()
            assert posts == 1  # the day's one post, whoever leads
            for bot in bots:
                if bot is not leader:
                    assert await bot.stop() == 0
        except BaseException:
            for bot in bots:
                await bot.stop()
            print(*(logs(tmp_path / f"instance{n}") for n in range(INSTANCES)))
            raise
        finally:
            for bot in bots:
                await bot.stop()
    print(
        f"\n{INSTANCES} instances on PostgreSQL, {ANSWERS} answers, {IN_FLIGHT} in flight, the leader killed "
        f"after {ANSWERS // 2} replies: {clicks['again']} members clicked again, every answer stored once, "
        f"instance {bots.index(standby)} took the lead; {time.monotonic() - started:.1f} s"
    )

"""The console session in the test process: channels, scheduled work on the console's clock, log lines,
who `:user` stands for, and `:clock` on DST days. Time passes on a fake clock; nothing waits for real."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import logging
import re
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from adapters.console.clock import wall_clock
from adapters.console.screen import Screen, logs_on
from bot.catalog.model import Catalog
from tests.adapters.console.harness import Console, demo_console

EVENING = "cohort create evening time=19:00 tz=Europe/Berlin days=mon-fri"
# How long a test waits for the ticker (which looks every few milliseconds) before it fails.
PATIENCE = 5.0


@pytest.fixture
async def console(tmp_path: Path, catalog: Catalog) -> AsyncIterator[Console]:
    async with demo_console(tmp_path, catalog) as c:
        yield c


@pytest.fixture
async def ticking(console: Console) -> AsyncIterator[Console]:
    """The console with its ticker running, as `run()` starts it."""
    task = asyncio.create_task(console.session.ticker.run())
    try:
        yield console
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def eventually(condition: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + PATIENCE
    while not condition():
        assert loop.time() < deadline, "the ticker did not get there"
        await asyncio.sleep(0.01)


async def open_evening(console: Console) -> None:
    """As a moderator, open #evening and create the cohort `evening` there (Berlin, 19:00)."""
    for line in (":mod on", ":channel evening", EVENING):
        await console.type(line)
    assert console.session.refusals == 0


async def settle() -> None:
    """Give the ticker several looks at the clock."""
    await asyncio.sleep(0.1)


# ---- channels ----


async def test_a_second_cohort_goes_in_another_channel_and_channels_lists_them(console: Console) -> None:
    await console.type(":mod on")
    assert "already hosts cohort `demo`" in await console.type(EVENING)
    moved = await console.type(":channel #Evening")
    assert moved.strip() == (
        "You are now in #evening, a new channel with no cohort yet "
        "(a moderator can start one here with `cohort create NAME`)."
    )
    assert console.session.prompt == "sam #evening> "
    assert "🎓 Cohort evening created" in await console.type(EVENING)
    assert (await console.type(":channels")).splitlines() == [
        "Channels (you are in #evening):",
        "  #general  cohort demo · 00:00 UTC, daily",
        "→ #evening  cohort evening · 19:00 Europe/Berlin, mon-fri",
    ]
    back = await console.type(":channel general")
    assert back.strip() == "You are now in #general, home of cohort `demo` (00:00 UTC, daily)."
    assert console.session.prompt == "sam #general> "
    assert "You are already in #general." in await console.type(":channel general")
    assert "Usage: :channel NAME" in await console.type(":channel two words")


async def test_the_clock_is_local_to_the_cohort_of_the_channel_you_are_in(console: Console) -> None:
    await open_evening(console)
    said = await console.type(":clock 2026-12-03T08:00")
    assert "The clock now reads 2026-12-03T08:00 (Europe/Berlin)." in said
    assert console.session.clock.now() == dt.datetime(2026, 12, 3, 7, 0, tzinfo=dt.UTC)
    await console.type(":channel general")
    assert "(UTC)" in await console.type(":clock 08:00")  # a time alone: today, by this channel's cohort
    assert console.session.clock.now() == dt.datetime(2026, 12, 3, 8, 0, tzinfo=dt.UTC)


async def test_a_post_in_another_channel_is_labelled_and_its_buttons_answer_there(ticking: Console) -> None:
    console = ticking
    await open_evening(console)
    await console.type("join evening")
    await console.type(":channel general")
    await console.type(":clock 2026-12-02T18:59")  # UTC, this channel's cohort: 19:59 in Berlin
    await console.type(":channel evening")
    await console.type(":clock 18:59")
    await console.type(":channel general")
    console.real.advance(dt.timedelta(minutes=1))
    await eventually(lambda: "#evening · studybot posted (you are in #general):" in console.out.getvalue())
    clicked = await console.type(":click 1")
    assert "(pressed A)" in clicked and " points" in clicked and "Join" not in clicked


# ---- scheduled work on the console's clock ----


async def test_waiting_past_midnight_posts_the_recap_and_the_next_challenge(ticking: Console) -> None:
    console = ticking
    jumped = await console.type(":clock 2026-12-06T23:59")  # a Sunday; the demo posts daily at 00:00 UTC
    assert "Sun 06 Dec 2026" in jumped  # the jump posted the day that was due
    assert "Skipped the 2026-12-05 post of `demo`" in jumped  # and said which it could not catch up
    console.real.advance(dt.timedelta(seconds=59))
    await settle()
    assert "Mon 07 Dec" not in console.out.getvalue()
    console.real.advance(dt.timedelta(seconds=2))
    await eventually(lambda: "Mon 07 Dec 2026" in console.out.getvalue())
    monday = console.out.getvalue()
    recap, post = monday.index("Week in review: 30 Nov–06 Dec"), monday.index("Cohort demo · Mon 07 Dec 2026")
    assert recap < post  # the weekly recap comes before the Monday challenge, as in `studybot run`
    assert "No posts are due right now." in await console.type(":post")


async def test_a_reminder_goes_out_when_the_console_clock_reaches_it(ticking: Console) -> None:
    console = ticking
    await console.type(":user ada")
    assert "🔔" in await console.type("remind on 21:30")
    await console.type(":clock 2026-12-02T21:29")
    await settle()
    assert "Your streak is at risk" not in console.out.getvalue()  # (Ada was told of a review to give)
    console.real.advance(dt.timedelta(minutes=1))
    reminder = "@ada · direct message from studybot:\n== ⏰ Your streak is at risk"
    await eventually(lambda: reminder in console.out.getvalue())


async def test_a_clock_jump_runs_what_became_due_before_the_next_command(console: Console) -> None:
    jumped = await console.type(":clock 2026-12-03T00:00")
    assert "#general · studybot posted:" in jumped and "Thu 03 Dec 2026" in jumped
    assert "#general · studybot edited its post" in jumped  # yesterday's post closed with its answer


async def test_the_ticker_sweeps_once_per_minute_of_the_console_clock(console: Console) -> None:
    ticker = console.session.ticker
    assert await ticker.tick() is None  # start() swept this minute already
    console.real.advance(dt.timedelta(seconds=61))
    assert await ticker.tick() is not None
    assert await ticker.tick() is None


# ---- log records ----


async def test_a_warning_logged_during_a_command_is_a_line_of_its_own(console: Console) -> None:
    script = io.StringIO(":clock 2026-12-05T10:00\nstreak\n")
    await console.session.run(script)
    lines = console.out.getvalue().splitlines()
    logged = [i for i, line in enumerate(lines) if line.startswith("[log] ")]
    assert logged, lines
    assert lines[logged[0]].startswith(
        "[log] WARNING bot.jobs.posting: skipped the 2026-12-04 post of cohort demo"
    )
    post = lines.index("#general · studybot posted:")
    end = next(i for i in range(post, len(lines)) if lines[i].startswith("Buttons: "))
    assert not any(post <= i <= end for i in logged)


class LogsMidReply(io.StringIO):
    """An output stream that, while the reply's card is being written, has another thread log a warning."""

    def __init__(self) -> None:
        super().__init__()
        self.thread: threading.Thread | None = None

    def write(self, text: str) -> int:
        written = super().write(text)
        if "== Card ==" in text and self.thread is None:
            self.thread = threading.Thread(target=logging.getLogger("bot.db").warning, args=("disk slow",))
            self.thread.start()
            self.thread.join(timeout=0.2)  # it waits for the reply to finish, however long we give it
        return written


def test_a_log_line_from_another_thread_waits_for_the_reply_to_finish() -> None:
    out = LogsMidReply()
    screen = Screen(out, interactive=False)
    reply_lines = ["== Card ==", "line one", "line two", "Buttons: [1] A"]
    with logs_on(screen):
        screen.block(reply_lines)
        assert out.thread is not None
        out.thread.join()
    assert out.getvalue().splitlines() == [*reply_lines, "[log] WARNING bot.db: disk slow"]


def test_at_the_prompt_a_log_line_is_printed_above_it_and_the_prompt_put_back() -> None:
    out = io.StringIO()
    screen = Screen(out, interactive=True, typed_so_far=lambda: "stre")
    screen.prompt = "sam #general> "
    screen.log("WARNING bot.jobs.posting: late\n  second line")
    assert out.getvalue() == (
        "\r\x1b[2K[log] WARNING bot.jobs.posting: late\n[log]   second line\nsam #general> stre"
    )


def test_the_console_log_handler_keeps_the_redaction_of_the_handler_it_replaces() -> None:
    root = logging.getLogger()
    stderr_handler = logging.StreamHandler()  # standard error, as configure_logging adds it
    marker = logging.Filter("never-matches")
    stderr_handler.addFilter(marker)
    root.addHandler(stderr_handler)
    try:
        with logs_on(Screen(io.StringIO(), interactive=False)) as handler:
            assert stderr_handler not in root.handlers and marker in handler.filters
        assert stderr_handler in root.handlers and handler not in root.handlers
    finally:
        root.removeHandler(stderr_handler)


# ---- who :user stands for ----


async def test_user_acts_as_an_existing_member_and_keeps_their_name(console: Console) -> None:
    assert "You are now Grace." in await console.type(":user grace")
    assert re.search(r"^== 🔥 Grace: \d+ days? ==$", await console.type("streak"), re.M)  # the demo's Grace
    await console.type(":user GRACE")
    board = await console.type("leaderboard all")
    assert "Grace:" in board and "grace:" not in board
    assert "You are now zoe." in await console.type(":user zoe")


async def test_a_demo_member_as_the_starting_user_keeps_their_name(tmp_path: Path, catalog: Catalog) -> None:
    async with demo_console(tmp_path, catalog, user="ada") as console:
        assert console.session.user.name == "Ada"
        board = await console.type("leaderboard all")
        assert "Ada:" in board and "ada:" not in board and "← you" in board


# ---- :clock on DST days ----


async def test_a_clock_time_that_does_not_exist_says_where_it_moved(console: Console) -> None:
    await open_evening(console)
    gap = await console.type(":clock 2026-03-29T02:30")
    assert (
        "02:30 does not exist on 29 Mar 2026 in Europe/Berlin (clocks went forward); set to 03:00. "
        "The clock now reads 2026-03-29T03:00 (Europe/Berlin)."
    ) in gap
    assert console.session.clock.now() == dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    twice = await console.type(":clock 2026-10-25T02:30")
    assert (
        "02:30 happens twice on 25 Oct 2026 in Europe/Berlin (clocks went back); picked the first, "
        "02:30 CEST (UTC+02:00)."
    ) in twice
    assert console.session.clock.now() == dt.datetime(2026, 10, 25, 0, 30, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("typed", "zone", "utc", "note"),
    [
        ("2026-06-01T10:00", "Europe/Berlin", "2026-06-01T08:00", ""),
        ("2026-03-08T02:30", "America/New_York", "2026-03-08T07:00", "set to 03:00."),
        (
            "2026-10-04T02:10",
            "Australia/Lord_Howe",
            "2026-10-03T15:30",
            "set to 02:30.",
        ),  # a 30-minute change
        (
            "2026-11-01T01:30",
            "America/New_York",
            "2026-11-01T05:30",
            "picked the first, 01:30 EDT (UTC-04:00).",
        ),
        ("2011-12-30T10:00", "Pacific/Apia", "2011-12-30T10:00", "set to 31 Dec 00:00."),  # a skipped day
    ],
)
def test_wall_clock(typed: str, zone: str, utc: str, note: str) -> None:
    instant, said = wall_clock(dt.datetime.fromisoformat(typed), zone)
    assert instant == dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    assert said.endswith(note)

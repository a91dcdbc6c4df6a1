"""Every example in the README runs, so the README cannot drift from the bot.

The "A console session" block is typed line by line into a real console session on a new SQLite database
with the demo data; every command's `example=` (what `help <command>` shows) runs through the core as a
moderator; the scripted pipe runs as the shell runs it. None may be refused, and each must answer.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

from adapters.console.session import CONVERSATION
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.composition.commands import command_registry
from bot.composition.demo import seed_demo
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.registry import CommandSpec
from bot.kernel.types import ConversationRef, Reply, UserRef
from storage.sql_store import SqlStore
from tests.adapters.console.harness import demo_console
from tests.fakes.platform import RecordingPlatform, shown

README = Path(__file__).resolve().parent.parent / "README.md"
# What a refusal says, in the console's words or the core's: none of it may follow a README example.
REFUSALS = (
    "Unknown command",
    "Unknown console command",
    "already hosts",
    "Usage",
    "is for moderators",
    "Something went wrong",
    "You have not joined",
    "You are not in a cohort",
    "I don't know a member",
)
# `user #channel> line  # comment`, as the README writes a console session.
_PROMPT = re.compile(r"^(?P<user>[A-Za-z][A-Za-z0-9_.-]*) #(?P<channel>[a-z0-9_-]+)> (?P<line>.+)$")
_COMMENT = re.compile(r"\s+#\s.*$")


def readme_section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def console_session_lines() -> list[tuple[str, str, str]]:
    """(user, channel, line) of each line of the README's console session block."""
    section = readme_section("A console session")
    block = section.split("```text\n", 1)[1].split("```", 1)[0]
    lines = []
    for raw in block.splitlines():
        found = _PROMPT.match(raw)
        assert found, f"a README console line without a prompt: {raw!r}"
        lines.append((found["user"], found["channel"], _COMMENT.sub("", found["line"]).strip()))
    return lines


def test_the_readme_console_block_is_parsed() -> None:
    lines = console_session_lines()
    assert len(lines) > 10
    commands = [line for _, _, line in lines]
    # The README shows a second cohort created in its own channel: a channel hosts one cohort.
    assert commands.index(":channel evening") < commands.index(
        "cohort create evening time=19:00 tz=Europe/Berlin days=mon-fri"
    )


async def test_every_line_of_the_readme_console_session_runs(tmp_path: Path, catalog: Catalog) -> None:
    lines = console_session_lines()
    async with demo_console(tmp_path, catalog, user=lines[0][0]) as console:
        session = console.session
        for user, channel, line in lines:
            assert session.prompt == f"{user} #{channel}> ", f"the README's prompt before {line!r}"
            refusals = session.refusals
            said = await console.type(line)
            assert said.strip(), f"{line!r} printed nothing"
            assert session.refusals == refusals, f"{line!r} was refused:\n{said}"
            for refusal in REFUSALS:
                assert refusal not in said, f"{line!r} was refused:\n{said}"
        printed = console.out.getvalue()
    # What the comments promise happened: the evening cohort posted at its 19:00 (the demo's day is a
    # Wednesday), and the jump to Monday posted the demo's weekly recap and challenge.
    assert "#evening · studybot posted:" in printed
    assert "Week in review" in printed and "Cohort demo · Mon 07 Dec 2026" in printed
    assert re.search(r"^== \S+ Grace: \d+ days? ==$", printed, re.MULTILINE)  # her name, not "grace"


def test_the_readme_scripted_pipe_runs(tmp_path: Path) -> None:
    section = readme_section("A console session")
    found = re.search(r"`(printf '[^']*' \| \.venv/bin/studybot console)`", section)
    assert found, "the README's scripted console example"
    studybot = Path(sys.executable).parent / "studybot"
    command = found.group(1).replace(".venv/bin/studybot", str(studybot))
    env = {
        **os.environ,
        "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/pipe.db",
        "STUDYBOT_FILES_DIR": str(tmp_path / "files"),
        "STUDYBOT_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        ["bash", "-c", command], capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "(pressed " in out and "Buttons: " in out and "== 🔥 " in out
    for refusal in REFUSALS:
        assert refusal not in out, out


# ---- every command's example, as `help <command>` shows it ----

# Examples that set up others run first (the cohort they name, joining it); leaving and changing timezone
# last, so they do not change what the others see. The rest run in the order they are declared.
FIRST = ("cohort create", "join")
LAST = ("leave", "timezone")
# Examples acting on the demo's seeded peer reviews, run before days pass: the reviews are due in 72 hours.
EARLY = ("feedback", "cohort review")
# A Monday before the examples' dates; the cohort the examples name is created then, with Ada in it, so
# `cohort fix ml-2026 @ada 2026-11-20 ...` excuses a day she missed.
SETUP = dt.datetime(2026, 11, 16, 10, 0, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 11, 25, 10, 0, tzinfo=dt.UTC)
MODERATOR = UserRef("console", "sam", "sam", is_admin=True)
ADA = UserRef("console", "ada", "Ada")
ELSEWHERE = ConversationRef(CONVERSATION.platform, CONVERSATION.workspace_id, "ml")


def ordered(specs: list[CommandSpec]) -> list[CommandSpec]:
    def rank(spec: CommandSpec) -> tuple[int, int]:
        if spec.name in FIRST:
            return (0, FIRST.index(spec.name))
        if spec.name in LAST:
            return (2, LAST.index(spec.name))
        return (1, 0)

    return sorted(specs, key=rank)


async def run(core: Core, user: UserRef, line: str, where: ConversationRef = CONVERSATION) -> Reply:
    return shown(await core.dispatch(core.invocation(line, user, where), limited=False))


async def test_every_help_example_is_accepted(sqlite_store: SqlStore, catalog: Catalog) -> None:
    clock = FakeClock(SETUP)
    core = make_core(sqlite_store, catalog, clock)
    await seed_demo(core, CONVERSATION, MODERATOR)
    missing = [spec.name for spec in command_registry() if not spec.example.startswith(f"/study {spec.name}")]
    assert missing == [], "commands whose help shows no example of themselves"
    specs = ordered(list(command_registry()))
    assert [s.name for s in specs[: len(FIRST)]] == list(FIRST), "an example the others need is missing"
    create, *rest = specs
    reply = await run(core, MODERATOR, create.example, ELSEWHERE)  # #general hosts the demo already
    assert not reply.error, f"{create.example}: {reply.text}"
    name = create.example.split()[3]  # Ada joins the example's cohort, for `cohort fix`
    assert not (await run(core, ADA, f"join {name}")).error
    refused = {}
    for spec in [s for s in rest if s.name in EARLY]:
        reply = await run(core, MODERATOR, spec.example)
        if reply.error or not (reply.text or reply.cards):
            refused[spec.example] = reply.text
    rest = [s for s in rest if s.name not in EARLY]
    # Days pass; the examples' day is the first after LATER whose demo challenge is a quiz (`answer B`).
    clock.set(LATER)
    poster = Poster(core, {"console": RecordingPlatform()})
    for _ in range(14):
        await poster.sweep()
        if "Daily quiz" in (await run(core, MODERATOR, "today")).cards[0].title:
            break
        clock.set(clock.now() + dt.timedelta(days=1))
    for spec in rest:
        reply = await run(core, MODERATOR, spec.example)
        if reply.error or not (reply.text or reply.cards):
            refused[spec.example] = reply.text
    assert refused == {}, refused

"""Start-up mistakes, made with the real `studybot` command: one line naming the setting, exit code 2.

Each mistake is run twice: plain, where standard error must be exactly one line that names the setting and
says what to do (no traceback, no library warning), and with --debug, where the traceback comes first.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import make_url

from bot.composition.settings import Settings, with_password
from tests.conftest import _postgres_or_skip
from tests.fakes.loadgen import BotProcess
from tests.fakes.slack import FakeSlack

# A password with every character a URL gives a meaning to.
NASTY_PASSWORD = "p@ss:w/rd%41?#[x]"


def studybot(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> subprocess.CompletedProcess[str]:
    """Run `studybot ARGS` in tmp_path (no developer's .env) with only the given studybot variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=90,
        cwd=tmp_path,
        env={**clean, "STUDYBOT_FILES_DIR": str(tmp_path / "files"), **env},
    )


def closed_port() -> int:
    """A local TCP port nothing listens on (it was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def a_file(tmp_path: Path) -> Path:
    """A regular file: a path under it can be neither created nor written, even by root."""
    path = tmp_path / "a-file"
    path.write_text("not a directory\n")
    return path


def read_only_dir(tmp_path: Path) -> Path:
    """A directory no file can be created in: chmod 555, or for root (whom that does not stop) /proc."""
    if os.geteuid() != 0:
        folder = tmp_path / "read-only"
        folder.mkdir()
        folder.chmod(0o555)
        return folder
    if not Path("/proc/self").is_dir():
        pytest.skip("running as root without /proc: no directory here refuses root a new file")
    return Path("/proc")


@dataclass(frozen=True)
class Mistake:
    """The command and environment that make a mistake, and what its one line must say."""

    args: tuple[str, ...]
    env: Callable[[Path], dict[str, str]]
    says: Callable[[Path], list[str]]
    postgres: bool = False


PG_DEFAULT = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"

MISTAKES = {
    "postgresql URL without a driver": Mistake(
        ("db", "upgrade"),
        lambda _: {"STUDYBOT_DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test"},
        lambda _: [
            "studybot: STUDYBOT_DATABASE_URL needs the async driver asyncpg: "
            "write postgresql+asyncpg://postgres@127.0.0.1:5432/test."
        ],
    ),
    "sqlite URL without a driver": Mistake(
        ("console",),
        lambda p: {"STUDYBOT_DATABASE_URL": f"sqlite:///{p}/s.db"},
        lambda p: [
            f"studybot: STUDYBOT_DATABASE_URL needs the async driver aiosqlite: write sqlite+aiosqlite:///{p}/s.db."
        ],
    ),
    "unparsable URL": Mistake(
        ("db", "upgrade"),
        lambda _: {"STUDYBOT_DATABASE_URL": "the database please"},
        lambda _: [
            "studybot: STUDYBOT_DATABASE_URL is not a database URL; write one like sqlite+aiosqlite:///"
        ],
    ),
    "the console's --db": Mistake(
        ("console", "--db", "sqlite:///s.db"),
        lambda _: {},
        lambda _: ["studybot: --db needs the async driver aiosqlite: write sqlite+aiosqlite:///s.db."],
    ),
    "closed PostgreSQL port": Mistake(
        ("run",),
        lambda _: {
            "STUDYBOT_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/test",
            "SLACK_BOT_TOKEN": "xoxb-never-used",
        },
        lambda _: [
            "studybot run: STUDYBOT_DATABASE_URL cannot reach PostgreSQL at 127.0.0.1:",
            "start the server",
        ],
    ),
    "missing database": Mistake(
        ("db", "upgrade"),
        lambda _: {"STUDYBOT_DATABASE_URL": str(make_url(_postgres_or_skip()).set(database="no_such_db"))},
        lambda _: [
            "studybot: STUDYBOT_DATABASE_URL names the database 'no_such_db', which the PostgreSQL server",
            "create it (createdb ",
        ],
        postgres=True,
    ),
    "SQLite file under a regular file": Mistake(
        ("db", "upgrade"),
        lambda p: {"STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{a_file(p)}/studybot.db"},
        lambda p: [
            f"studybot: STUDYBOT_DATABASE_URL puts the SQLite file in {p}/a-file, which is not a directory; "
            "give a path in a directory studybot may write to."
        ],
    ),
    "SQLite file in a read-only directory": Mistake(
        ("console",),
        lambda p: {"STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{read_only_dir(p)}/studybot.db"},
        lambda p: [
            "studybot: STUDYBOT_DATABASE_URL points at the SQLite file ",
            "which studybot cannot open and write",
            "give a path in a directory studybot may write to.",
        ],
    ),
    "unknown log level": Mistake(
        ("content", "check"),
        lambda _: {"STUDYBOT_LOG_LEVEL": "verbose"},
        lambda _: [
            "studybot: STUDYBOT_LOG_LEVEL: 'verbose' is not a log level: use DEBUG, INFO, WARNING or ERROR; "
            "see the README's configuration."
        ],
    ),
    "Discord without a network": Mistake(
        ("run",),
        lambda p: {
            "DISCORD_TOKEN": "a-discord-token",
            "DISCORD_API_BASE": f"http://127.0.0.1:{closed_port()}/api/v10",
            "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{p}/s.db",
        },
        lambda _: [
            "studybot run: DISCORD_TOKEN is set, but Discord cannot be reached at http://127.0.0.1:",
            "check the network connection and DISCORD_API_BASE.",
        ],
    ),
    "Slack without a network": Mistake(
        ("run",),
        lambda p: {
            "SLACK_BOT_TOKEN": "xoxb-a-slack-token",
            "SLACK_APP_TOKEN": "xapp-an-app-token",
            "SLACK_API_URL": f"http://127.0.0.1:{closed_port()}/api/",
            "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{p}/s.db",
        },
        lambda _: [
            "studybot run: SLACK_BOT_TOKEN is set, but Slack cannot be reached at http://127.0.0.1:",
            "check the network connection and SLACK_API_URL.",
        ],
    ),
    "unwritable files directory": Mistake(
        ("console",),
        lambda p: {
            "STUDYBOT_FILES_DIR": f"{a_file(p)}/files",
            "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{p}/s.db",
        },
        lambda p: [
            f"studybot: STUDYBOT_FILES_DIR: cannot write to {p}/a-file/files (Not a directory); set it to a "
            "directory studybot may write to."
        ],
    ),
}


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
@pytest.mark.parametrize("name", list(MISTAKES))
def test_a_start_up_mistake_gets_one_line_naming_the_setting(tmp_path: Path, name: str, debug: bool) -> None:
    mistake = MISTAKES[name]
    env = mistake.env(tmp_path)
    done = studybot(tmp_path, *(("--debug",) if debug else ()), *mistake.args, **env)
    lines = done.stderr.splitlines()
    assert done.returncode == 2, done.stderr
    assert lines, done.stdout
    if debug:
        assert lines[0] == "Traceback (most recent call last):", done.stderr
    else:
        assert len(lines) == 1, done.stderr  # no traceback, no library warning
    assert all(fragment in lines[-1] for fragment in mistake.says(tmp_path)), lines[-1]
    for secret in ("a-discord-token", "xoxb-a-slack-token", "xapp-an-app-token"):
        assert secret not in done.stderr


def test_debug_goes_after_the_command_too(tmp_path: Path) -> None:
    done = studybot(tmp_path, "db", "upgrade", "--debug", STUDYBOT_DATABASE_URL="sqlite:///s.db")
    assert done.returncode == 2
    assert done.stderr.startswith("Traceback") and "InvalidRequestError" not in done.stderr
    assert done.stderr.splitlines()[-1].startswith("studybot: STUDYBOT_DATABASE_URL needs the async driver")


def test_a_password_with_url_characters_reaches_the_right_server(tmp_path: Path) -> None:
    """STUDYBOT_DATABASE_PASSWORD is percent-encoded into the URL: host, port and database stay as given."""
    port = closed_port()
    done = studybot(
        tmp_path,
        "db",
        "upgrade",
        STUDYBOT_DATABASE_URL=f"postgresql+asyncpg://studybot@127.0.0.1:{port}/studybot",
        STUDYBOT_DATABASE_PASSWORD=NASTY_PASSWORD,
    )
    assert done.returncode == 2
    assert f"cannot reach PostgreSQL at 127.0.0.1:{port} " in done.stderr
    assert NASTY_PASSWORD not in done.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "postgresql+asyncpg://studybot@postgres:5432/studybot",
            "postgresql+asyncpg://studybot:p%40ss%3Aw%2Frd%2541%3F%23%5Bx%5D@postgres:5432/studybot",
        ),
        (
            "postgresql+asyncpg://studybot:old@postgres/studybot?ssl=require",
            "postgresql+asyncpg://studybot:p%40ss%3Aw%2Frd%2541%3F%23%5Bx%5D@postgres/studybot?ssl=require",
        ),
        ("sqlite+aiosqlite:///studybot.db", "sqlite+aiosqlite:///studybot.db"),
    ],
)
def test_the_password_is_percent_encoded_into_the_url(url: str, expected: str) -> None:
    assert with_password(url, NASTY_PASSWORD) == expected
    if "@" in expected:
        assert make_url(expected).password == NASTY_PASSWORD


def test_settings_put_the_password_into_the_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STUDYBOT_DATABASE_URL", "postgresql+asyncpg://studybot@postgres:5432/studybot")
    monkeypatch.setenv("STUDYBOT_DATABASE_PASSWORD", NASTY_PASSWORD)
    settings = Settings()
    url = make_url(settings.database_url)
    assert (url.host, url.port, url.database, url.password) == ("postgres", 5432, "studybot", NASTY_PASSWORD)
    assert NASTY_PASSWORD not in repr(settings)


def test_version(tmp_path: Path) -> None:
    done = studybot(tmp_path, "--version")
    assert done.returncode == 0
    assert done.stdout.strip() == f"studybot {metadata.version('studybot')}"


def test_run_help_lists_every_variable_and_token_it_reads(tmp_path: Path) -> None:
    done = studybot(tmp_path, "run", "--help")
    assert done.returncode == 0
    for token in ("DISCORD_TOKEN", "SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET"):
        assert f"\n  {token} " in done.stdout
    for name, _ in Settings.variables():
        assert f"\n  {name} " in done.stdout


def test_a_file_the_console_cannot_save_does_not_end_the_session(tmp_path: Path) -> None:
    """The files directory was fine at start; a save that fails later gets a line, and the session goes on."""
    files = tmp_path / "files"
    today = dt.datetime.now(dt.UTC).date()
    for day in (today - dt.timedelta(days=1), today, today + dt.timedelta(days=1)):
        (files / f"streak-sam-{day:%Y%m%d}.png").mkdir(parents=True)  # where the heatmap would be written
    done = studybot(
        tmp_path,
        "console",
        "--user",
        "sam",
        stdin="streak\nleaderboard all\n",
        STUDYBOT_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/s.db",
    )
    assert done.returncode == 0, done.stderr
    assert f"⚠️ Could not save a file in {files} (Is a directory); set STUDYBOT_FILES_DIR" in done.stdout
    assert "sam: 0 days" in done.stdout  # the streak itself is still shown
    assert re.search(r"^🥇 (Ada|Grace|Alan): \d+ pts$", done.stdout, re.M)  # and the next command runs
    assert "Traceback" not in done.stdout + done.stderr


async def test_a_slack_http_port_in_use_gets_one_line_naming_the_option(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        async with FakeSlack() as fake:
            bot = BotProcess(tmp_path, f"sqlite+aiosqlite:///{tmp_path / 'studybot.db'}", fake)
            proc = await bot.spawn(port, asyncio.subprocess.PIPE, asyncio.subprocess.PIPE)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 2, err
    assert err.decode().splitlines() == [
        f"studybot run: --port {port}: cannot listen there (Address already in use); choose another port."
    ]

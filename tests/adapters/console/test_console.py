"""The console as a user runs it: `studybot console` with scripted stdin, plain text out."""

from __future__ import annotations

import datetime as dt
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from adapters.console import render
from bot.kernel.types import Button, Card, Field, Reply
from bot.kernel.types import Image as ReplyImage

# A simulated morning after the demo history (which ends yesterday, by the real clock).
LATER = (dt.datetime.now(dt.UTC) + dt.timedelta(days=3)).strftime("%Y-%m-%dT10:00")


def run_console(tmp_path: Path, script: str, *args: str) -> str:
    return console_process(tmp_path, script, *args).stdout


def console_process(tmp_path: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "STUDYBOT_FILES_DIR": str(tmp_path / "files"), "STUDYBOT_LOG_LEVEL": "WARNING"}
    db = f"sqlite+aiosqlite:///{tmp_path}/console.db"
    done = subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", "console", "--db", db, *args],
        input=script,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    return done


def test_a_scripted_session_runs_the_member_and_moderator_flow(tmp_path: Path) -> None:
    script = "\n".join(
        [
            f":clock {LATER}",
            ":post",
            "today",  # the jump's sweep posted more after the challenge (a milestone): show it again
            ":click 1",
            "streak",
            "done read chapter 2",
            "leaderboard all",
            "cohort create evening time=19:00",
            ":mod on",
            "cohort create evening time=19:00",  # refused: #general hosts the demo
            ":channel evening",
            "cohort create evening time=19:00",
            ":channels",
            ":channel general",
            "cohort set demo time 08:00",
            "cohort export demo",
            ":user grace",
            "streak",
            ":quit",
            "help",  # never reached
        ]
    )
    done = console_process(tmp_path, script, "--user", "sam")
    out = done.stdout
    assert "\x1b[" not in out  # no escape codes when stdin is not a terminal
    assert "new database: demo cohort `demo` created and you joined it" in out
    assert f"🕒 The clock now reads {LATER} (UTC)." in out
    assert "#general · studybot posted:" in out and "Buttons: [1]" in out
    assert "(pressed " in out
    assert "== 🔥 sam: 1 day ==" in out
    assert "is for moderators" in out  # before :mod on
    assert "sam now has moderator rights." in out
    assert "This channel already hosts cohort `demo`" in out and "🎓 Cohort evening created" in out
    assert "→ #evening  cohort evening · 19:00 UTC, mon-fri" in out
    # The jump skipped the demo's days past its catch-up window: logged through the console, marked, on a
    # line of its own, and not on standard error.
    skipped = "[log] WARNING bot.jobs.posting: skipped the "
    assert any(line.startswith(skipped) for line in out.splitlines()), out
    assert "skipped the" not in done.stderr
    assert "⚙️ Cohort demo updated" in out and "08:00 UTC" in out
    assert "demo-members.csv" in out
    assert "You are now Grace." in out and "Grace: 0 days ==" in out  # the demo's Grace, idle 3 days
    assert "> help" not in out  # :quit ended the session
    heatmap = next((tmp_path / "files").glob("streak-grace-*.png"))
    assert Image.open(heatmap).format == "PNG"
    assert (tmp_path / "files" / "demo-members.csv").read_text().startswith("member,user_id,timezone")


def test_the_demo_is_seeded_once_and_data_survives_a_restart(tmp_path: Path) -> None:
    first = run_console(tmp_path, "done first day\n", "--user", "sam")
    second = run_console(tmp_path, "done again\nleaderboard all\n", "--user", "sam")
    assert "demo cohort `demo` created" in first and "demo cohort" not in second
    assert "already checked in" in second and "sam: 5 pts ← you" in second


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (":clock tomorrow", "Usage: :clock YYYY-MM-DDTHH:MM"),
        (":click 9", "Usage: :click N, with N from 1 to "),
        (":mod maybe", "Usage: :mod on|off"),
        (":user 'x'", "Usage: :user NAME"),
        (":teleport", "Unknown console command :teleport"),
        ("strek", "Did you mean `streak`"),
    ],
)
def test_console_meta_command_mistakes_are_explained(tmp_path: Path, line: str, expected: str) -> None:
    out = run_console(tmp_path, f":clock {LATER}\n:post\ntoday\n{line}\n")
    assert expected in out


def test_console_refuses_a_bad_user_name(tmp_path: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.composition.cli",
            "console",
            "--user",
            "no spaces",
            "--db",
            f"sqlite+aiosqlite:///{tmp_path}/x.db",
        ],
        capture_output=True,
        text=True,
        input="",
        timeout=60,
    )
    assert done.returncode == 2 and "--user 'no spaces'" in done.stderr


def test_plain_rendering_shows_cards_fields_buttons_and_files() -> None:
    reply = Reply(
        text="hello",
        cards=(Card("Title", "Body line", (Field("Stage", "Python"),), footer="foot", url="https://x.org"),),
        buttons=(Button("A", "answer", ("A", "1")), Button("B", "answer", ("B", "1"))),
        images=(ReplyImage("a.png", b"", "alt"),),
    )
    assert render.plain(reply, ["files/a.png"]) == [
        "hello",
        "== Title ==",
        "https://x.org",
        "Body line",
        "  Stage: Python",
        "  -- foot",
        "Buttons: [1] A  [2] B  (press with :click N)",
        "Saved files/a.png",
    ]


def _read_until(fd: int, wanted: bytes, seconds: float) -> bytes:
    """Read the terminal until `wanted` shows (or it closes, or time is up)."""
    seen = b""
    deadline = time.monotonic() + seconds
    while wanted not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the console closed the terminal: it ended
                break
            if not chunk:
                break
            seen += chunk
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_at_a_terminal_the_prompt_shows_the_channel_and_ctrl_c_leaves_at_once(tmp_path: Path) -> None:
    env = {**os.environ, "STUDYBOT_FILES_DIR": str(tmp_path / "files"), "STUDYBOT_LOG_LEVEL": "WARNING"}
    db = f"sqlite+aiosqlite:///{tmp_path}/console.db"
    terminal, console_side = pty.openpty()
    console = subprocess.Popen(
        [sys.executable, "-m", "bot.composition.cli", "console", "--db", db, "--user", "sam"],
        stdin=console_side,
        stdout=console_side,
        stderr=console_side,
        cwd=tmp_path,
        env=env,
    )
    os.close(console_side)
    try:
        assert b"sam #general> " in _read_until(terminal, b"sam #general> ", 60)
        console.send_signal(signal.SIGINT)  # what Ctrl-C at the prompt sends
        assert b"Bye!" in _read_until(terminal, b"Bye!", 10)
        # It ends at once: no thread left waiting for Enter keeps it running.
        assert console.wait(timeout=10) == 0
    finally:
        if console.poll() is None:
            console.kill()
            console.wait()
        os.close(terminal)


def test_the_demo_has_a_review_waiting_and_the_console_takes_it_typed(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "reviews",
            ":click 1",  # on Discord and Slack a form; here its card says what to type
            "feedback 1 accept checks=all Clear notes, and the table reads well.",
            "portfolio Ada",
            "feedback 1 accept checks=all Clear notes, and the table reads well.",
        ]
    )
    out = run_console(tmp_path, script)
    assert "Reviews to give in demo" in out and "https://github.com/ada-demo/ml-job-notes" in out
    assert render.FORM_NOTE in out and "Type: /study feedback 1 accept|needs-work" in out
    assert "The submission is now accepted (+10 points to its author)" in out
    assert "Portfolio of Ada" in out and "1 piece(s) of work accepted" in out
    assert "You already reviewed submission #1 (accept" in out


def test_the_demo_starts_as_any_of_its_members(tmp_path: Path) -> None:
    for user in ("grace", "alan", "ada"):
        (tmp_path / user).mkdir()
        out = run_console(tmp_path / user, "reviews", "--user", user)
        assert "Reviews to give in demo" in out, out

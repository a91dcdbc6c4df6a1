"""The `studybot` command line beyond the console."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.catalog.content import builtin_content_dir


def studybot(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_content_check_passes_on_the_builtin_pack_and_prints_coverage() -> None:
    done = studybot("content", "check")
    assert done.returncode == 0, done.stderr
    assert "OK:" in done.stdout and "python" in done.stdout and "quizzes" in done.stdout
    assert "item quality, built-in pack:" in done.stdout
    share = re.search(r"always picking the longest option scores ([\d.]+)%", done.stdout)
    assert share and float(share.group(1)) <= 35
    assert "keys over 1.3x their longest distractor: 0" in done.stdout
    assert "near-duplicate question pairs: 0" in done.stdout
    assert "tasks without a reviewer checklist: 0" in done.stdout


def test_content_check_refuses_a_pack_of_giveaway_quizzes_unless_told_to_only_warn(tmp_path: Path) -> None:
    pack = tmp_path / "easyclub"
    key = "The option that is plainly the longest and most careful of the four"
    write_challenges(
        pack,
        *(
            a_quiz(
                id=f"q{i}",
                question=f"Question number {i} about a different thing {i * 7}?",
                options=[key, "No", "Yes", "Maybe"],
            )
            for i in range(4)
        ),
    )
    done = studybot("content", "check", str(pack))
    assert done.returncode == 1
    assert f"item quality, {pack}:" in done.stdout
    assert "always picking the longest option scores 100.0%" in done.stdout
    assert "easyclub:q0: the key is 67 characters, its longest distractor 5" in done.stderr
    assert "--warn-only" in done.stderr
    warned = studybot("content", "check", "--warn-only", str(pack))
    assert warned.returncode == 0, warned.stderr
    assert "warning: always picking the longest option scores 100%" in warned.stderr


def test_content_check_fails_with_file_id_and_reason(tmp_path: Path) -> None:
    pack = tmp_path / "pack"
    (pack / "challenges").mkdir(parents=True)
    (pack / "stages.yaml").write_text((builtin_content_dir() / "stages.yaml").read_text())
    shutil.copytree(builtin_content_dir() / "resources", pack / "resources")
    broken = yaml.safe_load((builtin_content_dir() / "challenges" / "python.yaml").read_text())
    first = broken["challenges"][0]
    first["answer"] = "F"
    (pack / "challenges" / "python.yaml").write_text(yaml.safe_dump(broken))
    done = studybot("content", "check", str(pack))
    assert done.returncode == 1
    assert f"python.yaml: {first['id']}: `answer` 'F' is out of range (A-D)" in done.stderr


def test_db_upgrade_creates_the_schema(tmp_path: Path) -> None:
    done = studybot("db", "upgrade", "--db", f"sqlite+aiosqlite:///{tmp_path}/s.db")
    assert done.returncode == 0 and "is up to date" in done.stdout
    tables = {r[0] for r in sqlite3.connect(tmp_path / "s.db").execute("select name from sqlite_master")}
    assert {"member", "cohort", "activity", "daily_post", "excusal", "alembic_version"} <= tables


def test_run_without_a_platform_says_what_to_do(tmp_path: Path) -> None:
    done = studybot("run", cwd=tmp_path)
    assert done.returncode == 2 and "studybot console" in done.stderr


def a_quiz(**changes: object) -> dict[str, object]:
    """A valid community quiz on a built-in topic, citing a built-in resource."""
    quiz: dict[str, object] = {
        "id": "q1",
        "type": "quiz",
        "stage": "python",
        "topic": "numpy",
        "difficulty": 1,
        "question": "Q?",
        "options": ["a", "b", "c", "d"],
        "answer": "A",
        "explanation": "why",
        "resources": ["numpy-user-guide"],
    }
    return {**quiz, **changes}


def write_challenges(pack: Path, *challenges: dict[str, object]) -> None:
    (pack / "challenges").mkdir(parents=True, exist_ok=True)
    (pack / "challenges" / "extra.yaml").write_text(yaml.safe_dump({"challenges": list(challenges)}))


def test_content_check_validates_community_packs_from_the_environment(tmp_path: Path) -> None:
    pack = tmp_path / "ourclub"
    write_challenges(pack, a_quiz())
    env = {**os.environ, "STUDYBOT_CONTENT_DIRS": str(pack)}
    done = subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", "content", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert done.returncode == 0, done.stderr

    def challenges(out: str) -> int:
        return int(re.search(r"(\d+) challenges\.", out).group(1))  # type: ignore[union-attr]

    assert challenges(done.stdout) == challenges(studybot("content", "check").stdout) + 1
    write_challenges(pack, a_quiz(resources=["no-such-thing"]))
    bad = subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", "content", "check"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert bad.returncode == 1 and "extra.yaml: q1: unknown resource 'no-such-thing'" in bad.stderr


@pytest.mark.parametrize(
    ("flags", "said"),
    [
        (["--slack-mode", "http"], "--slack-mode http needs --port N."),
        (["--port", "3000"], "--port is the port of Slack's HTTP mode: add --slack-mode http"),
        (["--slack-mode", "http", "--port", "70000"], "--port 70000 is not a port: give one from 1 to 65535"),
    ],
)
def test_slack_http_mode_and_its_port_go_together(tmp_path: Path, flags: list[str], said: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot.composition.cli", "run", *flags],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={**os.environ, "SLACK_BOT_TOKEN": "xoxb-x"},
    )
    assert done.returncode == 2 and said in done.stderr and "Traceback" not in done.stderr


def test_empty_variables_count_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.composition.settings import Settings

    monkeypatch.setenv("DISCORD_SHARD_ID", "")  # what compose passes for ${DISCORD_SHARD_ID:-}
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "")
    monkeypatch.setenv("STUDYBOT_LOG_LEVEL", "")
    settings = Settings()
    assert (settings.discord_shard_id, settings.discord_shard_count, settings.log_level) == (
        None,
        None,
        "WARNING",
    )


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DISCORD_GUILD_ID", "my-server", "DISCORD_GUILD_ID: Input should be a valid integer"),
        ("STUDYBOT_DB_POOL_SIZE", "1", "STUDYBOT_DB_POOL_SIZE: Input should be greater than or equal to 2"),
    ],
)
def test_a_bad_variable_is_named_in_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, said: str
) -> None:
    monkeypatch.setenv(variable, value)
    done = studybot("run", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"studybot: {said}" + done.stderr.split(said, 1)[1]
    assert "Traceback" not in done.stderr and "see the README's configuration" in done.stderr


def test_the_pool_size_setting_sizes_the_postgresql_pool(monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.composition.settings import Settings
    from storage.sql_store import SqlStore

    monkeypatch.setenv("STUDYBOT_DB_POOL_SIZE", "25")
    store = SqlStore.from_url(
        "postgresql+asyncpg://studybot@127.0.0.1/none", pool_size=Settings().db_pool_size
    )  # no connection is opened until the first command
    assert store.engine.pool.size() == 25  # type: ignore[attr-defined]


PLATFORM_LIBRARIES = {"discord", "slack_bolt", "slack_sdk"}
# Runs `studybot` (cli.main) with serve() stubbed to return at once, then reports which platforms it
# built and which platform libraries the process imported.
IMPORTS_PROBE = """
import json, sys
import bot.composition.app, bot.composition.cli

served = []

async def serve(core, platforms, stop, scheduler=None):
    served.extend(platforms)
    await core.store.close()

bot.composition.app.serve = serve
code = bot.composition.cli.main(sys.argv[1:])
loaded = sorted({name.split(".")[0] for name in sys.modules} & {"discord", "slack_bolt", "slack_sdk"})
print(json.dumps({"code": code, "served": served, "loaded": loaded}))
"""


def imports_of(tmp_path: Path, *args: str, stdin: str = "", **env: str) -> dict[str, object]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))}
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_PROBE, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        env={
            **clean,
            "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
            "STUDYBOT_FILES_DIR": str(tmp_path / "files"),
            **env,
        },
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_the_console_imports_no_platform_library(tmp_path: Path) -> None:
    result = imports_of(tmp_path, "console", "--user", "sam", stdin="streak\n:quit\n")
    assert result == {"code": 0, "served": [], "loaded": []}


@pytest.mark.parametrize(
    ("env", "served", "loaded"),
    [
        ({"DISCORD_TOKEN": "discord-token"}, ["discord"], ["discord"]),
        ({"SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"}, ["slack"], ["slack_bolt", "slack_sdk"]),
        (
            {"DISCORD_TOKEN": "discord-token", "SLACK_BOT_TOKEN": "xoxb-x", "SLACK_APP_TOKEN": "xapp-x"},
            ["discord", "slack"],
            ["discord", "slack_bolt", "slack_sdk"],
        ),
    ],
)
def test_run_imports_only_the_configured_platforms_libraries(
    tmp_path: Path, env: dict[str, str], served: list[str], loaded: list[str]
) -> None:
    assert imports_of(tmp_path, "run", **env) == {"code": 0, "served": served, "loaded": loaded}


def test_content_check_refuses_an_empty_pack(tmp_path: Path) -> None:
    empty, misnamed = tmp_path / "empty", tmp_path / "misnamed"
    empty.mkdir()
    (misnamed / "challenge").mkdir(parents=True)  # not challenges/: the loader never looks there
    (misnamed / "stages.yml").write_text("stages: []\n")
    done = studybot("content", "check", str(empty), str(misnamed))
    assert done.returncode == 1
    for pack in (empty, misnamed):
        assert f"{pack}: this pack would be refused:\n  {pack}: an empty pack: no entries in " in done.stderr


def test_content_check_reports_every_problem_of_a_badly_named_pack_at_once(tmp_path: Path) -> None:
    pack = tmp_path / "Our Club"
    (pack / "challenges").mkdir(parents=True)
    (pack / "challenges" / "extra.yaml").write_text(
        yaml.safe_dump({"challenges": [{"id": "q1", "type": "quiz", "stage": "python", "topic": "numpy"}]})
    )
    (pack / "stages.yaml").write_text("stages: [\n")
    done = studybot("content", "check", str(pack))
    assert done.returncode == 1
    report = done.stderr.split("this pack would be refused:\n", 1)[1]
    lines = report.splitlines()
    assert lines[0] == (
        f"  {pack}: a pack's directory name must be 1 to 20 lowercase letters, digits, '-' or '_' (its ids "
        "are prefixed with it, and every id must fit in a button); rename it"
    )
    # The files' own problems in the same report, not after the rename.
    assert "  stages.yaml: cannot read: while parsing a flow node" in lines
    assert "  extra.yaml: q1: `question` must be a non-empty string, not empty" in lines
    assert "  extra.yaml: q1: `answer` must be a letter A-D, not empty" in lines
    # A YAML error's own further lines are indented under it, so every problem starts a line of its own.
    yaml_error = lines.index("  stages.yaml: cannot read: while parsing a flow node")
    assert lines[yaml_error + 1].startswith("      ")


def test_content_check_reports_a_duplicate_named_packs_own_problems(tmp_path: Path) -> None:
    first, second = tmp_path / "a" / "club", tmp_path / "b" / "club"
    for pack, answer in ((first, "A"), (second, "F")):
        write_challenges(pack, a_quiz(answer=answer))
    done = studybot("content", "check", str(first), str(second))
    assert done.returncode == 1
    assert f"  {second}: a pack named 'club' is already loaded from {first}; rename one" in done.stderr
    assert "  extra.yaml: q1: `answer` 'F' is out of range (A-D)" in done.stderr
    assert "duplicate challenge id" not in done.stderr

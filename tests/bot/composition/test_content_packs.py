"""Community content packs: a pack with problems is refused at load with the reasons in the log, and the
bot keeps serving the last good content, at start and on a reload (SIGHUP, the console's `:reload`)."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.console.session import ConsoleClock, ConsoleSession
from bot.catalog.content import ContentError, load_catalog_keeping_good
from bot.catalog.model import Catalog
from bot.composition.app import ContentReloader, build_core, console_jobs
from bot.composition.settings import Settings
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.types import ConversationRef, UserRef
from tests.conftest import text_of
from tests.fakes.slack import USER_ID, FakeSlack, slash_command_body

WHERE = ConversationRef("console", "ws1", "general")
ME = UserRef("console", "sam", "sam")
# Made-up words, so a search finds the pack's resource and nothing built in.
QUOKKA = ("quokka-guide", "The Quokka Broadcasting Handbook", "https://example.org/quokka")
PLATYPUS = ("platypus-atlas", "The Platypus Tensor Atlas", "https://example.org/platypus")
WOMBAT = ("wombat-notes", "Wombat Gradient Notes", "https://example.org/wombat")


def resource(rid: str, title: str, url: str) -> dict[str, Any]:
    return {
        "id": rid,
        "title": title,
        "url": url,
        "kind": "docs",
        "stage": "python",  # a built-in stage and topic: a pack may add to them
        "topics": ["numpy"],
        "level": "beginner",
        "free": True,
        "description": f"All about {title.split()[1].lower()} arrays.",
    }


def quiz(cid: str, cites: str) -> dict[str, Any]:
    return {
        "id": cid,
        "type": "quiz",
        "stage": "python",
        "topic": "numpy",
        "difficulty": 1,
        "question": f"Which array does {cid} use?",
        "options": ["one", "two", "three", "four"],
        "answer": "A",
        "explanation": "Because.",
        "resources": [cites],
    }


def write_pack(root: Path, res: tuple[str, str, str], cites: str | None = None) -> Path:
    """A pack with one resource and one quiz citing `cites` (default: that resource)."""
    (root / "challenges").mkdir(parents=True, exist_ok=True)
    (root / "resources.yaml").write_text(yaml.safe_dump({"resources": [resource(*res)]}))
    challenges = {"challenges": [quiz("q1", cites or res[0])]}
    (root / "challenges" / "numpy.yaml").write_text(yaml.safe_dump(challenges))
    return root


def broken_yaml(pack: Path) -> str:
    (pack / "challenges" / "more.yaml").write_text("challenges:\n  - id: q2\n    question: [unclosed\n")
    return "more.yaml: cannot read"


def not_utf8(pack: Path) -> str:
    # "Café" saved as Latin-1 by an editor: byte 24 is 0xE9, which UTF-8 cannot start a character with.
    (pack / "challenges" / "more.yaml").write_bytes("challenges:\n  - id: caf\xe9\n".encode("latin-1"))
    return "more.yaml: not UTF-8 text (byte 24); save it as UTF-8"


def unknown_resource(pack: Path) -> str:
    write_pack(pack, WOMBAT, cites="no-such-resource")
    return "numpy.yaml: q1: unknown resource 'no-such-resource'"


def duplicate_id(pack: Path) -> str:
    extra = {"challenges": [quiz("q1", WOMBAT[0])]}
    (pack / "challenges" / "more.yaml").write_text(yaml.safe_dump(extra))
    return "q1: duplicate challenge id"


async def lookup(core: Core, query: str) -> str:
    return text_of(await core.dispatch(core.invocation(f"resources {query}", ME, WHERE)))


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture
async def started(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Callable[..., Any]]:
    """An async factory: the core that `build_core` (as `studybot run` and the console use it) makes."""
    cores: list[Core] = []
    monkeypatch.chdir(tmp_path)  # no developer's .env

    async def make(packs: list[Path]) -> Core:
        monkeypatch.setenv("STUDYBOT_CONTENT_DIRS", os.pathsep.join(str(p) for p in packs))
        db = f"sqlite+aiosqlite:///{tmp_path}/studybot-{len(cores)}.db"
        core = await build_core(Settings(), db, FakeClock(dt.datetime(2026, 11, 24, 9, tzinfo=dt.UTC)))
        cores.append(core)
        return core

    yield make
    for core in cores:
        await core.store.close()


@pytest.mark.parametrize("breakage", [broken_yaml, not_utf8, unknown_resource, duplicate_id])
async def test_a_pack_with_problems_is_refused_at_start_and_the_rest_is_served(
    tmp_path: Path,
    started: Callable[..., Any],
    catalog: Catalog,
    caplog: pytest.LogCaptureFixture,
    breakage: Callable[[Path], str],
) -> None:
    good = write_pack(tmp_path / "goodclub", QUOKKA)
    bad = write_pack(tmp_path / "badclub", WOMBAT)
    reason = breakage(bad)
    caplog.set_level(logging.INFO)

    core = await started([bad, good])

    [refused] = errors(caplog)
    assert f"content pack {bad} refused" in refused and reason in refused, refused
    assert str(good) not in refused
    assert "Quokka Broadcasting Handbook" in await lookup(core, "quokka")
    assert "Wombat" not in await lookup(core, "wombat")
    assert not any(cid.startswith("badclub:") for cid in core.catalog.challenges)
    assert set(core.catalog.challenges) == set(catalog.challenges) | {"goodclub:q1"}
    assert "Python" in text_of(await core.dispatch(core.invocation("roadmap", ME, WHERE)))


async def test_a_reload_with_a_broken_pack_keeps_the_last_good_content(
    tmp_path: Path, started: Callable[..., Any], caplog: pytest.LogCaptureFixture
) -> None:
    pack = write_pack(tmp_path / "club", QUOKKA)
    core = await started([pack])
    reloader = ContentReloader(core, [pack])
    assert "Quokka Broadcasting Handbook" in await lookup(core, "quokka")
    served = core.catalog

    # The pack gains a resource but its quiz now cites one that does not exist.
    write_pack(pack, PLATYPUS, cites="quokka-guid")
    caplog.set_level(logging.INFO)
    refused = await reloader.reload()

    assert list(refused) == [pack] and "numpy.yaml: q1: unknown resource 'quokka-guid'" in refused[pack]
    [logged] = errors(caplog)
    assert f"content reload refused: pack {pack} has problems; still serving the content loaded before" in (
        logged
    )
    assert "numpy.yaml: q1: unknown resource 'quokka-guid'" in logged
    assert core.catalog is served
    assert "Quokka Broadcasting Handbook" in await lookup(core, "quokka")
    assert "Platypus" not in await lookup(core, "platypus")

    write_pack(pack, PLATYPUS)  # fixed
    caplog.clear()
    assert await reloader.reload() == {}
    assert errors(caplog) == []
    assert any(r.getMessage().startswith("content reloaded:") for r in caplog.records)
    assert "The Platypus Tensor Atlas" in await lookup(core, "platypus")
    assert "Quokka" not in await lookup(core, "quokka")
    # The autocomplete index moved with the content.
    assert [c.value for c in await core.suggest("resource", "platyp")] == ["club:platypus-atlas"]
    assert await core.suggest("resource", "quokka") == []


async def test_the_console_reloads_with_a_meta_command(tmp_path: Path, started: Callable[..., Any]) -> None:
    pack = write_pack(tmp_path / "club", QUOKKA)
    core = await started([pack])
    out = io.StringIO()
    session = ConsoleSession(
        core,
        ConsoleClock(),
        "sam",
        out,
        interactive=False,
        files_dir=tmp_path / "files",
        reload=ContentReloader(core, [pack]).reload,
        jobs=console_jobs(core),
    )
    broken_yaml(pack)
    await session.handle(":reload")
    await session.handle("resources quokka")
    shown = out.getvalue()
    assert f"Content not reloaded; still serving the content loaded before. Problems in {pack}:" in shown
    assert "more.yaml: cannot read" in shown and "The Quokka Broadcasting Handbook" in shown

    (pack / "challenges" / "more.yaml").unlink()
    write_pack(pack, PLATYPUS)
    out.truncate(0)
    await session.handle(":reload")
    await session.handle("resources platypus")
    assert "🔄 Content reloaded:" in out.getvalue() and "The Platypus Tensor Atlas" in out.getvalue()


def test_the_second_pack_with_a_name_already_loaded_is_refused(tmp_path: Path) -> None:
    first = write_pack(tmp_path / "a" / "club", QUOKKA)
    second = write_pack(tmp_path / "b" / "club", PLATYPUS)
    catalog, refused = load_catalog_keeping_good([first, second])
    assert "club:quokka-guide" in catalog.resources and "club:platypus-atlas" not in catalog.resources
    assert list(refused) == [second]
    assert f"a pack named 'club' is already loaded from {first}" in refused[second][0]


def test_a_broken_builtin_pack_is_still_fatal(tmp_path: Path) -> None:
    builtin = tmp_path / "builtin"
    builtin.mkdir()
    (builtin / "stages.yaml").write_text("stages: [unclosed\n")
    with pytest.raises(ContentError) as err:
        load_catalog_keeping_good([write_pack(tmp_path / "club", QUOKKA)], directories=[builtin])
    assert any(p.startswith("stages.yaml: cannot read") for p in err.value.problems)


def test_the_console_starts_without_the_broken_pack_and_says_why(tmp_path: Path) -> None:
    good = write_pack(tmp_path / "goodclub", QUOKKA)
    bad = write_pack(tmp_path / "badclub", WOMBAT)
    reason = unknown_resource(bad)
    env = {
        **os.environ,
        "STUDYBOT_CONTENT_DIRS": os.pathsep.join([str(bad), str(good)]),
        "STUDYBOT_FILES_DIR": str(tmp_path / "files"),
        "STUDYBOT_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.composition.cli",
            "console",
            "--db",
            f"sqlite+aiosqlite:///{tmp_path}/c.db",
        ],
        input="resources quokka\nresources wombat\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert f"ERROR bot.composition.app: content pack {bad} refused" in done.stderr and reason in done.stderr
    assert "The Quokka Broadcasting Handbook" in done.stdout and "Wombat" not in done.stdout


class _Run:
    """`studybot run` in a subprocess on Slack's Socket Mode against the fake Slack; stderr is collected."""

    def __init__(self, proc: asyncio.subprocess.Process, fake: FakeSlack) -> None:
        self.proc, self.fake = proc, fake
        self.stderr: list[str] = []
        assert proc.stderr is not None
        self._reader = asyncio.create_task(self._read(proc.stderr))

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            self.stderr.append(line.decode())

    async def log_line(self, text: str, after: int = 0, timeout: float = 30.0) -> str:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                found = [line for line in self.stderr[after:] if text in line]
                if found:
                    return found[0]
                if self.proc.returncode is not None:
                    raise AssertionError("studybot run ended:\n" + "".join(self.stderr))
                await asyncio.sleep(0.05)

    async def ask(self, text: str) -> str:
        response_url = self.fake.new_response_url()
        await self.fake.socket_send(
            "slash_commands", slash_command_body("/study", text, response_url=response_url)
        )
        reply = await self.fake.wait_for_response(response_url, timeout=15)
        return json.dumps(reply)  # titles are plain ASCII, so they read the same in the JSON

    async def stop(self) -> int:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(self.proc.wait(), 30)
        await self._reader
        return code


async def test_studybot_run_reloads_its_packs_on_sighup(tmp_path: Path) -> None:
    pack = write_pack(tmp_path / "club", QUOKKA)
    async with FakeSlack() as fake:
        fake.set_user(USER_ID, name="sam")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_"))},
            "SLACK_BOT_TOKEN": "xoxb-reload-test",
            "SLACK_APP_TOKEN": "xapp-reload-test",
            "SLACK_API_URL": fake.api_url,
            "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
            "STUDYBOT_CONTENT_DIRS": str(pack),
            "STUDYBOT_LOG_LEVEL": "INFO",
        }
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.composition.cli",
            "run",
            env=env,
            cwd=tmp_path,
            stderr=asyncio.subprocess.PIPE,
        )
        run = _Run(proc, fake)
        try:
            await fake.wait_for_socket(timeout=60)
            assert "The Quokka Broadcasting Handbook" in await run.ask("resources quokka")

            write_pack(pack, PLATYPUS, cites="quokka-guid")
            mark = len(run.stderr)
            proc.send_signal(signal.SIGHUP)
            refused = await run.log_line("content reload refused", after=mark)
            assert f"ERROR bot.composition.app: content reload refused: pack {pack} has problems" in refused
            assert any("unknown resource 'quokka-guid'" in line for line in run.stderr[mark:])
            assert "The Quokka Broadcasting Handbook" in await run.ask("resources quokka")

            write_pack(pack, PLATYPUS)
            mark = len(run.stderr)
            proc.send_signal(signal.SIGHUP)
            await run.log_line("content reloaded:", after=mark)
            assert "The Platypus Tensor Atlas" in await run.ask("resources platypus")
        finally:
            code = await run.stop()
    assert code == 0, "".join(run.stderr)

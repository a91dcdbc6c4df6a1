"""A load generator for crash tests: a real `studybot run --slack-mode http` child process, and bursts of
signed `/study answer` slash commands sent to it, one per member, with bounded concurrency.

An answer is *acknowledged* when its reply has reached its own response_url at the FakeSlack: that reply is
what the member sees. ``burst(..., kill_after=k)`` SIGKILLs the process as soon as ``k`` replies have arrived
and stops sending; what was acknowledged is then read from the fake, which recorded every reply it received.

    async with FakeSlack() as fake:
        bot = BotProcess(folder, database_url, fake)
        await bot.start()
        result = await burst(fake, bot, [Answer("U1", "A")], post_id=7, kill_after=None)
        await bot.stop()
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import sys
import time
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import aiohttp

from adapters.slack.render import encode_action
from bot.kernel.types import Button
from tests.fakes.slack import FakeSlack, block_actions_payload

ROOT = Path(__file__).resolve().parents[2]
# How often the generator looks for new replies at the fake and for the process having died (seconds).
POLL = 0.005
# A burst fails when no reply arrives for this long (seconds): studybot hangs, it is not just slow.
STALL = 60.0
# Variables of the developer's shell that would change what the child process does.
_OWN_PREFIXES = ("STUDYBOT_", "SLACK_", "DISCORD_")
# Any bot token does: the fake Slack accepts every token.
BOT_TOKEN = "xoxb-crash-test"


def free_port() -> int:
    """A TCP port that was free a moment ago (the child binds it; a clash makes start() try another)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _open_log(path: Path) -> IO[bytes]:
    return path.open("wb")


class BotProcess:
    """`studybot run --slack-mode http --port N` on `database_url`, talking to `fake` for the Web API.

    Each start() is a new process on a new port, with stdout and stderr in `folder/studybot.<n>.log`.
    """

    def __init__(self, folder: Path, database_url: str, fake: FakeSlack) -> None:
        self.folder, self.database_url, self.fake = folder, database_url, fake
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0
        self.starts = 0
        self.killed = False
        self._log: IO[bytes] | None = None
        self._log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    @property
    def returncode(self) -> int | None:
        return None if self.proc is None else self.proc.returncode

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(_OWN_PREFIXES)}
        env.update(
            STUDYBOT_DATABASE_URL=self.database_url,
            STUDYBOT_FILES_DIR=str(self.folder / "files"),
            STUDYBOT_LOG_LEVEL="WARNING",
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=self.fake.signing_secret,
            SLACK_API_URL=self.fake.api_url,
            PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        )
        return env

    async def spawn(self, port: int, stdout: Any, stderr: Any) -> asyncio.subprocess.Process:
        """`studybot run` in Slack HTTP mode on `port`, with this process's environment."""
        # cwd is the test's folder, so a developer's .env in the repository is not read.
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.composition.cli",
            "run",
            "--slack-mode",
            "http",
            "--port",
            str(port),
            cwd=self.folder,
            env=self.env(),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
        )

    async def start(self, timeout: float = 60.0, attempts: int = 3) -> None:  # noqa: ASYNC109
        """Start the process and wait until it accepts connections on its port."""
        for _ in range(attempts):
            if await self._start_once(timeout):
                return
            if "address already in use" not in self.log().lower():
                break
        raise AssertionError(
            f"studybot did not start (exit code {self.returncode}); its output:\n{self.log()}"
        )

    async def _start_once(self, timeout: float) -> bool:  # noqa: ASYNC109
        self.close_log()
        self.starts += 1
        self.killed = False
        self.port = free_port()
        self._log_path = self.folder / f"studybot.{self.starts}.log"
        self._log = _open_log(self._log_path)
        self.proc = await self.spawn(self.port, self._log, asyncio.subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                return False
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", self.port)
                writer.close()
                with contextlib.suppress(OSError):
                    await writer.wait_closed()
                return True
            await asyncio.sleep(0.05)
        await self.stop()
        raise AssertionError(f"studybot did not listen on port {self.port} within {timeout} s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a power cut for the process (not for the disk)."""
        assert self.proc is not None and self.proc.returncode is None, "the process is not running"
        self.killed = True
        os.kill(self.proc.pid, signal.SIGKILL)

    async def wait(self, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        assert self.proc is not None
        return await asyncio.wait_for(self.proc.wait(), timeout)

    async def stop(self, timeout: float = 20.0) -> int | None:  # noqa: ASYNC109
        """SIGTERM (studybot shuts down in order), SIGKILL if it takes longer than `timeout`; idempotent."""
        proc = self.proc
        if proc is None:
            return None
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), timeout)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await asyncio.wait_for(proc.wait(), 10)
        self.close_log()
        return proc.returncode

    def close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self, chars: int = 6000) -> str:
        """The end of the current process's output, for failure messages."""
        if self._log is not None:
            self._log.flush()
        if self._log_path is None or not self._log_path.exists():
            return "(no output)"
        data = self._log_path.read_bytes()
        text = data[-chars:].decode(errors="replace")
        return text or "(no output)"


@dataclass(frozen=True)
class Answer:
    user_id: str
    choice: str


@dataclass
class BurstResult:
    """What one burst sent and what came back. `replies` holds each member's first reply; `sent` counts the
    requests started, including those that met the crash."""

    response_urls: dict[str, str] = field(default_factory=dict)
    replies: dict[str, Any] = field(default_factory=dict)
    sent: int = 0
    acknowledged_at_kill: int | None = None
    sent_at_kill: int | None = None
    seconds: float = 0.0

    def refresh(self, fake: FakeSlack) -> None:
        """Take every reply the fake has received by now (replies can land after the generator stopped)."""
        for user_id, url in self.response_urls.items():
            got = fake.responses_to(url)
            if got and user_id not in self.replies:
                self.replies[user_id] = got[0]


async def burst(
    fake: FakeSlack,
    bot: BotProcess,
    answers: Sequence[Answer],
    *,
    post_id: int,
    concurrency: int = 100,
    kill_after: int | None = None,
    stall: float = STALL,
    timeout: float = 1800.0,  # noqa: ASYNC109
) -> BurstResult:
    """Click answer <choice> on post <post_id> for every answer, at most `concurrency` unacknowledged.

    Without `kill_after`, wait until every reply has arrived. With it, SIGKILL the process once that many
    replies have arrived, stop sending, and return. Fails when no reply arrives for `stall` seconds while
    some are awaited (a hang, not a slow machine), or when the whole burst takes over `timeout` seconds.
    """
    result = BurstResult()
    slots = asyncio.Semaphore(concurrency)
    dead = asyncio.Event()
    waiting: dict[str, tuple[str, asyncio.Future[None]]] = {}  # response_url -> (user_id, reply arrived)
    loop = asyncio.get_running_loop()
    started = time.monotonic()
    stalled: list[str] = []

    def settle_all() -> int:
        """Resolve the waits whose reply has arrived; the number of members with a reply so far."""
        for url, (user_id, arrived) in list(waiting.items()):
            got = fake.responses_to(url)
            if got:
                result.replies[user_id] = got[0]
                del waiting[url]
                if not arrived.done():
                    arrived.set_result(None)
        return len(result.replies)

    async def watch() -> None:
        progress, progressed = 0, time.monotonic()
        while not dead.is_set():
            acknowledged = settle_all()
            now = time.monotonic()
            if acknowledged != progress:
                progress, progressed = acknowledged, now
            elif now - progressed > stall:
                stalled.append(f"no reply arrived for {stall:.0f} s")
                dead.set()
                return
            if kill_after is not None and acknowledged >= kill_after and result.acknowledged_at_kill is None:
                bot.kill()
                result.acknowledged_at_kill, result.sent_at_kill = acknowledged, result.sent
                dead.set()
            elif bot.returncode is not None:
                dead.set()
            await asyncio.sleep(POLL)

    async def send(session: aiohttp.ClientSession, answer: Answer) -> None:
        async with slots:
            if dead.is_set():
                return
            url = fake.new_response_url()
            arrived: asyncio.Future[None] = loop.create_future()
            result.response_urls[answer.user_id] = url
            waiting[url] = (answer.user_id, arrived)
            # A click on the post's answer button: the only way a post id reaches the bot.
            action = encode_action(Button(answer.choice, "answer", (answer.choice, str(post_id))))
            click = block_actions_payload(action, action, response_url=url, user_id=answer.user_id)
            body = urllib.parse.urlencode({"payload": json.dumps(click)})
            headers = {"Content-Type": "application/x-www-form-urlencoded", **fake.sign(body)}
            result.sent += 1
            try:
                async with session.post(bot.url, data=body, headers=headers) as response:
                    status = response.status
                    await response.read()
            except aiohttp.ClientError:
                if bot.killed:
                    return  # sent into the crash: the member saw an error from Slack, not an answer
                raise
            if status != 200:
                raise AssertionError(f"studybot answered HTTP {status} to {answer}")
            stopped = asyncio.ensure_future(dead.wait())
            try:
                await asyncio.wait({arrived, stopped}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopped.cancel()

    watcher = asyncio.create_task(watch())
    connector = aiohttp.TCPConnector(limit=concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector) as session:
            senders = [asyncio.create_task(send(session, a)) for a in answers]
            try:
                async with asyncio.timeout(timeout):
                    await asyncio.gather(*senders)
                if stalled:
                    raise TimeoutError
            except TimeoutError:
                why = stalled[0] if stalled else f"the burst did not finish within {timeout:.0f} s"
                raise AssertionError(
                    f"{why}: {result.sent} sent, {settle_all()} replies, {len(waiting)} awaited; "
                    f"studybot's output:\n{bot.log()}"
                ) from None
            finally:
                for task in senders:
                    task.cancel()
                await asyncio.gather(*senders, return_exceptions=True)
    finally:
        dead.set()
        await watcher
        settle_all()
    if bot.returncode is not None and not bot.killed:
        raise AssertionError(f"studybot exited by itself ({bot.returncode}):\n{bot.log()}")
    if kill_after is not None and result.acknowledged_at_kill is None:
        raise AssertionError(f"every reply arrived before {kill_after} had: nothing was killed")
    result.seconds = time.monotonic() - started
    return result


def reply_text(message: Any) -> str:
    """Everything a member reads in a reply posted to a response_url: its text and its blocks' text."""
    if not isinstance(message, dict):
        return str(message)
    parts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict):
            parts.append(str(block["text"].get("text", "")))
        parts += [str(f.get("text", "")) for f in block.get("fields", [])]
        parts += [str(e.get("text", "")) for e in block.get("elements", []) if isinstance(e, dict)]
    return "\n".join(p for p in parts if p)

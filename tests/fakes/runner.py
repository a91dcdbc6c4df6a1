"""A studybot process for multi-process tests: the real core, store and scheduler (app.serve), a fake
platform that writes what it is sent to a file, and simulated time read from a file the test writes.

    python -m tests.fakes.runner --db URL --dir DIR [--crash-on-send]

DIR/clock holds the simulated time (ISO 8601). After handling each new time the leader writes it to
DIR/ack. Every send attempt is appended to DIR/sends as a JSON line; like a Discord nonce, a key seen before
returns the same message instead of posting again. With --crash-on-send the process kills itself with
SIGKILL on its first send, after the claim and before the platform has the message.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
from collections.abc import Sequence
from pathlib import Path

from bot.composition.app import build_core, serve
from bot.composition.settings import Settings
from bot.jobs.scheduler import StudyScheduler
from bot.kernel.types import ConversationRef, Reply
from tests.fakes.clock import APSCHEDULER_TIME_MODULES, clocked_datetime

# How often the process looks at the clock file (real seconds).
POLL = 0.02


class FileClock:
    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.path.read_text().strip())


class FilePlatform:
    name = "console"

    def __init__(self, sends: Path, crash_on_send: bool) -> None:
        self.sends = sends
        self.crash_on_send = crash_on_send

    async def start(self) -> None:
        return None

    def _seen(self) -> dict[str, str]:
        if not self.sends.exists():
            return {}
        lines = [json.loads(x) for x in self.sends.read_text().splitlines() if x.strip()]
        return {x["key"]: x["message_id"] for x in lines if x.get("posted")}

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        if self.crash_on_send:
            os.kill(os.getpid(), signal.SIGKILL)
        seen = self._seen()
        posted = key not in seen
        message_id = seen.get(key or "", f"m-{key}-{os.getpid()}")
        record = {
            "key": key,
            "channel": conversation.channel_id,
            "pid": os.getpid(),
            "posted": posted,
            "message_id": message_id,
        }
        with self.sends.open("a") as out:
            out.write(json.dumps(record) + "\n")
        return message_id

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        return None

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        return "dm"

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        return False  # no roles here: the milestone is announced, nothing more

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        return ["group"]

    async def close(self) -> None:
        return None


async def main(db: str, folder: Path, crash_on_send: bool) -> None:
    clock = FileClock(folder / "clock")
    for module in APSCHEDULER_TIME_MODULES:
        __import__(module, fromlist=["datetime"]).datetime = clocked_datetime(clock.now)
    core = await build_core(Settings(), db, clock)
    platforms = {"console": FilePlatform(folder / "sends", crash_on_send)}
    scheduler = StudyScheduler(core, platforms, leader_check_every=dt.timedelta(seconds=0.5))
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    server = asyncio.create_task(serve(core, platforms, stop, scheduler))
    seen = ""
    while not stop.is_set():
        await asyncio.sleep(POLL)
        now = (folder / "clock").read_text().strip()
        if scheduler.leading and now != seen:
            scheduler.wakeup()
            await scheduler.idle()
            seen = now
            tmp = folder / f"ack.{os.getpid()}"
            tmp.write_text(now)
            tmp.replace(folder / "ack")
    await server


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--crash-on-send", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.db, args.dir, args.crash_on_send))

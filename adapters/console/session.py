"""The console session: reads what a member types, runs meta-commands, dispatches, and prints replies."""

from __future__ import annotations

import asyncio
import atexit
import datetime as dt
import logging
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from rich.console import Console as RichConsole

from adapters.console import render
from bot.core import Core
from bot.posting import Poster
from bot.types import Button, ConversationRef, Invocation, Reply, UserRef

log = logging.getLogger(__name__)

PLATFORM = "console"
CONVERSATION = ConversationRef(PLATFORM, "local", "general")
META_HELP = (
    ":user NAME   act as another member\n"
    ":mod on|off  give or take moderator rights for the current user\n"
    ":clock YYYY-MM-DDTHH:MM  set the simulated clock (local to the channel's cohort)\n"
    ":post        run the due daily posts now (as the scheduler does)\n"
    ":click N     press button N of the last reply\n"
    ":reload      re-read the content packs (kept as they were if any has problems)\n"
    ":quit        leave (Ctrl-D works too)"
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
# Re-reads the content packs; returns each refusing pack's problems (empty: the new content is served).
Reload = Callable[[], Awaitable[dict[Path, list[str]]]]


class ConsoleClock:
    """The real time plus an offset that `:clock` sets, so simulated time keeps moving."""

    def __init__(self) -> None:
        self.offset = dt.timedelta()

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset

    def set(self, instant: dt.datetime) -> None:
        self.offset = instant - dt.datetime.now(dt.UTC)


class ConsolePlatform:
    """Posts to the terminal: the channel is the screen."""

    name = PLATFORM

    def __init__(self, show: Callable[..., None]) -> None:
        self._show = show
        self._sent = 0

    async def start(self) -> None:
        return None

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self._sent += 1
        self._show(reply, f"#{conversation.channel_id} · studybot posted:")
        return f"console-{self._sent}"

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        self._show(
            reply, f"#{conversation.channel_id} · studybot edited its post {message_id}:", clickable=False
        )

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        self._sent += 1
        self._show(reply, f"@{user_id} · direct message from studybot:", clickable=False)
        return f"console-{self._sent}"

    async def close(self) -> None:
        return None


class ConsoleSession:
    """One person at a terminal, who can act as several members."""

    def __init__(
        self,
        core: Core,
        clock: ConsoleClock,
        user: str,
        out: TextIO,
        *,
        interactive: bool,
        files_dir: Path,
        reload: Reload | None = None,
    ) -> None:
        self.core = core
        self.reload = reload
        self.clock = clock
        self.out = out
        self.interactive = interactive
        self.files_dir = files_dir
        self.user_name = user
        self.moderators: set[str] = set()
        self.buttons: tuple[Button, ...] = ()
        self.platform = ConsolePlatform(self.show)
        self.poster = Poster(core, {PLATFORM: self.platform})
        self._rich = RichConsole(file=out, highlight=False) if interactive else None

    @property
    def user(self) -> UserRef:
        uid = self.user_name.lower()
        return UserRef(PLATFORM, uid, self.user_name, is_admin=uid in self.moderators)

    # ---- output ----

    def say(self, text: str) -> None:
        if self._rich is not None:
            self._rich.print(text, markup=False)
        else:
            print(text, file=self.out)

    def show(self, reply: Reply, header: str = "", *, clickable: bool = True) -> None:
        if reply.silent:  # a command dropped over the spam limit: print nothing, keep the last buttons
            return
        files = self._save_files(reply)
        if clickable:  # :click presses a button of the last reply or post, never of an edited old post
            self.buttons = reply.buttons
        if header:
            self.say(header)
        if self._rich is not None:
            for part in render.rich(reply, files):
                self._rich.print(part)
        else:
            for line in render.plain(reply, files):
                print(line, file=self.out)
        self.out.flush()

    def _save_files(self, reply: Reply) -> list[str]:
        if not (reply.images or reply.attachments):
            return []
        self.files_dir.mkdir(parents=True, exist_ok=True)
        paths = []
        for name, data in [(i.filename, i.data) for i in reply.images] + [
            (a.filename, a.data) for a in reply.attachments
        ]:
            path = self.files_dir / Path(name).name
            path.write_bytes(data)
            paths.append(str(path))
        return paths

    # ---- input ----

    async def handle(self, line: str) -> bool:
        """Handle one line; False when the session should end."""
        text = line.strip()
        if not text:
            return True
        if text.startswith(":"):
            return await self._meta(text)
        inv = self.core.invocation(text, self.user, CONVERSATION)
        # No spam limit here: the console has one person at the keyboard, often piping a script.
        self.show(await self.core.dispatch(inv, limited=False))
        return True

    async def _meta(self, text: str) -> bool:
        verb, _, arg = text[1:].partition(" ")
        arg = arg.strip()
        if verb in ("quit", "q", "exit"):
            return False
        if verb == "help":
            self.say(META_HELP)
        elif verb == "user":
            if not _NAME.match(arg):
                self.say("⚠️ Usage: :user NAME (letters, digits, . _ -; e.g. :user grace)")
            else:
                self.user_name = arg
                self.say(f"You are now {arg}{' (moderator)' if self.user.is_admin else ''}.")
        elif verb == "mod":
            if arg not in ("on", "off"):
                self.say("⚠️ Usage: :mod on|off")
            else:
                (self.moderators.add if arg == "on" else self.moderators.discard)(self.user_name.lower())
                self.say(
                    f"{self.user_name} {'now has' if arg == 'on' else 'no longer has'} moderator rights."
                )
        elif verb == "clock":
            await self._set_clock(arg)
        elif verb == "post":
            report = await self.poster.sweep()
            for name, day in report.skipped:
                self.say(
                    f"Skipped the {day:%Y-%m-%d} post of `{name}`: it is past the cohort's catch-up window."
                )
            if not (report.posted or report.resent or report.skipped):
                self.say("No posts are due right now.")
        elif verb == "click":
            await self._click(arg)
        elif verb == "reload":
            await self._reload()
        else:
            self.say(f"⚠️ Unknown console command :{verb}. Console commands:\n{META_HELP}")
        return True

    async def _set_clock(self, arg: str) -> None:
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", arg):
                raise ValueError(arg)
            naive = dt.datetime.fromisoformat(arg)
        except ValueError:
            self.say(
                "⚠️ Usage: :clock YYYY-MM-DDTHH:MM, local to the channel's cohort, "
                "e.g. :clock 2026-12-01T09:05"
            )
            return
        cohorts = await self.core.store.list_cohorts(CONVERSATION.platform, CONVERSATION.workspace_id)
        here = next((c for c in cohorts if c.channel_id == CONVERSATION.channel_id), None)
        tz = here.timezone if here else "UTC"
        self.clock.set(naive.replace(tzinfo=ZoneInfo(tz)))
        self.say(f"🕒 The clock now reads {arg} ({tz}).")

    async def _reload(self) -> None:
        if self.reload is None:
            self.say("⚠️ This console cannot reload its content.")
            return
        try:
            refused = await self.reload()
        except Exception:
            self.say("⚠️ The reload failed (see the log); the content is as it was.")
            return
        if not refused:
            catalog = self.core.catalog
            self.say(
                f"🔄 Content reloaded: {len(catalog.stages)} stages, {len(catalog.resources)} resources, "
                f"{len(catalog.challenges)} challenges."
            )
            return
        lines = [
            f"⚠️ Content not reloaded; still serving the content loaded before. Problems in {pack}:\n"
            + "\n".join(f"  {p}" for p in problems)
            for pack, problems in refused.items()
        ]
        self.say("\n".join(lines))

    async def _click(self, arg: str) -> None:
        if not self.buttons:
            self.say("⚠️ The last reply has no buttons; :click presses a button of the last reply or post.")
            return
        if not arg.isdigit() or not 1 <= int(arg) <= len(self.buttons):
            self.say(f"⚠️ Usage: :click N, with N from 1 to {len(self.buttons)}")
            return
        button = self.buttons[int(arg) - 1]
        self.say(f"(pressed {button.label})")
        self.show(await self.core.dispatch(self._button_invocation(button), limited=False))

    def _button_invocation(self, button: Button) -> Invocation:
        return Invocation(button.command, button.args, self.user, CONVERSATION)

    async def run(self, stdin: TextIO) -> None:
        """Read lines until end of input or :quit."""
        if self.interactive:
            _enable_history()
        while True:
            try:
                if self.interactive:
                    line = await asyncio.to_thread(input, f"{self.user_name}> ")
                else:
                    line = await asyncio.to_thread(stdin.readline)
                    if not line:
                        break
                    if line.strip():
                        print(f"> {line.rstrip()}", file=self.out)
            except (EOFError, KeyboardInterrupt):
                break
            if not await self.handle(line):
                break
        if self.interactive:
            self.say("Bye! Keep the streak going. 👋")


def _enable_history() -> None:
    try:
        import readline
    except ImportError:
        return
    history = Path.home() / ".studybot_history"
    try:
        readline.read_history_file(history)
    except OSError:
        pass
    atexit.register(readline.write_history_file, history)


def is_tty(stream: TextIO) -> bool:
    return hasattr(stream, "isatty") and stream.isatty()

"""The console session: reads what a member types, runs meta-commands, dispatches, and prints replies."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import datetime as dt
import logging
import re
import threading
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo

from rich.text import Text

from adapters.console import render
from adapters.console.clock import ConsoleClock, wall_clock
from adapters.console.screen import Screen, logs_on
from adapters.console.ticker import TICK_SECONDS, ConsoleTicker
from bot.dispatch.core import Core
from bot.dispatch.members import find_member
from bot.kernel.ports import ChatPlatform, PostingJob
from bot.kernel.registry import UserError, describe_schedule
from bot.kernel.types import Button, Cohort, ConversationRef, Invocation, Reply, Sweep, UserRef

__all__ = ["CONVERSATION", "ConsoleClock", "ConsolePlatform", "ConsoleSession", "is_tty"]

log = logging.getLogger(__name__)

PLATFORM = "console"
# The console is one workspace; the session starts in its #general, where the demo cohort lives.
CONVERSATION = ConversationRef(PLATFORM, "local", "general")
META_HELP = (
    ":user NAME      act as another member (an existing one keeps their name: :user grace is Grace)\n"
    ":mod on|off     give or take moderator rights for the current user\n"
    ":channel NAME   go to another channel, opening it if new (:channel evening, :channel #evening)\n"
    ":channels       list the channels, the cohort each hosts, and the one you are in\n"
    ":clock YYYY-MM-DDTHH:MM or :clock HH:MM   set the simulated clock, local to the channel's cohort;\n"
    "                it keeps running from there, and what falls due is posted as it does\n"
    ":post           run what is due now (daily posts, recaps, reminders), as the scheduler does\n"
    ":click N        press button N of the last reply or post\n"
    ":reload         re-read the content packs (kept as they were if any has problems)\n"
    ":quit           leave (Ctrl-D works too)"
)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
# Channel names as Slack allows them (lowercase letters, digits, - and _, at most 80); Discord's fit too.
_CHANNEL = re.compile(r"^#?([a-z0-9][a-z0-9_-]{0,79})$")
_CLOCK = re.compile(r"^(\d{4}-\d{2}-\d{2}T)?\d{2}:\d{2}$")
# Re-reads the content packs; returns each refusing pack's problems (empty: the new content is served).
Reload = Callable[[], Awaitable[dict[Path, list[str]]]]
# Shows a reply: the reply, a header line, whether its buttons become clickable, and where it was posted.
Show = Callable[[Reply, str, bool, ConversationRef | None], None]


class ConsolePlatform:
    """Posts to the terminal: every channel is the one screen, each post labelled with its channel."""

    name = PLATFORM

    def __init__(self, show: Show) -> None:
        self._show = show
        self._sent = 0

    async def start(self) -> None:
        return None

    async def send(self, conversation: ConversationRef, reply: Reply, *, key: str | None = None) -> str:
        self._sent += 1
        self._show(reply, "studybot posted", True, conversation)
        return f"console-{self._sent}"

    async def edit(self, conversation: ConversationRef, message_id: str, reply: Reply) -> None:
        self._show(reply, f"studybot edited its post {message_id}", False, conversation)

    async def send_direct(self, user_id: str, reply: Reply) -> str:
        self._sent += 1
        self._show(reply, f"@{user_id} · direct message from studybot:", False, None)
        return f"console-{self._sent}"

    async def grant_role(self, workspace_id: str, user_id: str, role_id: str) -> bool:
        return False  # no roles here: the milestone is announced, nothing more

    async def send_group(
        self, conversation: ConversationRef, user_ids: Sequence[str], reply: Reply
    ) -> list[str]:
        self._sent += 1
        names = ", ".join(f"@{u}" for u in user_ids)
        self._show(reply, f"{names} · group message from studybot:", False, None)
        return [f"console-{self._sent}"]

    async def close(self) -> None:
        return None


class ConsoleSession:
    """One person at a terminal, who can act as several members in several channels."""

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
        tick_every: float = TICK_SECONDS,
        jobs: Callable[[ChatPlatform], PostingJob],
    ) -> None:
        self.core = core
        self.reload = reload
        self.clock = clock
        self.out = out
        self.interactive = interactive
        self.files_dir = files_dir
        self.user_id, self.user_name = user.lower(), user
        self.moderators: set[str] = set()
        self.conversation = CONVERSATION
        self.visited = {CONVERSATION.channel_id}
        self.buttons: tuple[Button, ...] = ()
        self.buttons_in = CONVERSATION  # the channel of the message the buttons belong to
        # Replies and console messages that said something was refused or wrong (the README test reads it).
        self.refusals = 0
        self.screen = Screen(out, interactive=interactive, typed_so_far=_typed_so_far)
        self.platform = ConsolePlatform(self.show)
        # The daily posts, swept on the console's clock (the composition root makes the job).
        self.poster = jobs(self.platform)
        # One command or one sweep at a time: a scheduled post never lands inside a command's output.
        self.busy = asyncio.Lock()
        self.ticker = ConsoleTicker(self.poster.sweep, core.clock, self.busy, every=tick_every)

    @property
    def user(self) -> UserRef:
        return UserRef(PLATFORM, self.user_id, self.user_name, is_admin=self.user_id in self.moderators)

    @property
    def prompt(self) -> str:
        return f"{self.user_name} #{self.conversation.channel_id}> "

    # ---- output ----

    def say(self, text: str) -> None:
        self.screen.say(text)

    def refuse(self, text: str) -> None:
        self.refusals += 1
        self.say(f"⚠️ {text}")

    def show(
        self,
        reply: Reply,
        header: str = "",
        clickable: bool = True,
        where: ConversationRef | None = None,
    ) -> None:
        """Print a reply, or a post or edit in channel `where` (labelled with it)."""
        if reply.silent:  # a command dropped over the spam limit: print nothing, keep the last buttons
            return
        if reply.error:
            self.refusals += 1
        files = self._save_files(reply)
        if clickable:  # :click presses a button of the last reply or post, never of an edited old post
            self.buttons = reply.buttons
            self.buttons_in = where or self.conversation
        if where is not None:
            header = self._channel_header(where, header)
        lines = ([header] if header else []) + render.plain(reply, files)
        # A header goes in as Text: rich reads a bare str as markup.
        parts = [*([Text(header)] if header else []), *render.rich(reply, files)] if self.interactive else []
        self.screen.block(lines, parts)

    def _channel_header(self, where: ConversationRef, what: str) -> str:
        here = where.channel_id == self.conversation.channel_id
        elsewhere = "" if here else f" (you are in #{self.conversation.channel_id})"
        return f"#{where.channel_id} · {what}{elsewhere}:"

    def _save_files(self, reply: Reply) -> list[str]:
        if not (reply.images or reply.attachments):
            return []
        paths = []
        try:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            for name, data in [(i.filename, i.data) for i in reply.images] + [
                (a.filename, a.data) for a in reply.attachments
            ]:
                path = self.files_dir / Path(name).name
                path.write_bytes(data)
                paths.append(str(path))
        except OSError as exc:  # the reply is still shown and the session goes on, without the file
            self.say(
                f"⚠️ Could not save a file in {self.files_dir} ({exc.strerror}); set STUDYBOT_FILES_DIR to a "
                "directory studybot may write to."
            )
        return paths

    # ---- input ----

    async def handle(self, line: str, *, echo: bool = False) -> bool:
        """Handle one line (printed first with `echo`, as a script's lines are); False to end the session."""
        text = line.strip()
        if not text:
            return True
        async with self.busy:
            if echo:  # under the lock: a scheduled post still printing comes before the line, not after it
                self.say(f"> {line.rstrip()}")
            if text.startswith(":"):
                return await self._meta(text)
            inv = self.core.invocation(text, self.user, self.conversation)
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
            await self._user(arg)
        elif verb == "mod":
            if arg not in ("on", "off"):
                self.refuse("Usage: :mod on|off")
            else:
                (self.moderators.add if arg == "on" else self.moderators.discard)(self.user_id)
                self.say(
                    f"{self.user_name} {'now has' if arg == 'on' else 'no longer has'} moderator rights."
                )
        elif verb == "channel":
            await self._channel(arg)
        elif verb == "channels":
            await self._channels()
        elif verb == "clock":
            await self._set_clock(arg)
        elif verb == "post":
            report = await self.ticker.sweep_now()
            self._report(report)
            if not (report.posted or report.resent or report.skipped or report.reminded):
                self.say("No posts are due right now.")
        elif verb == "click":
            await self._click(arg)
        elif verb == "reload":
            await self._reload()
        else:
            self.refuse(f"Unknown console command :{verb}. Console commands:\n{META_HELP}")
        return True

    def _report(self, report: Sweep) -> None:
        for name, day in report.skipped:
            self.say(f"Skipped the {day:%Y-%m-%d} post of `{name}`: it is past the cohort's catch-up window.")

    async def _user(self, arg: str) -> None:
        if not _NAME.match(arg):
            self.refuse("Usage: :user NAME (letters, digits, . _ -; e.g. :user grace)")
            return
        self.user_id, self.user_name = await self._member_named(arg)
        self.say(f"You are now {self.user_name}{' (moderator)' if self.user.is_admin else ''}.")

    async def _member_named(self, name: str) -> tuple[str, str]:
        """The user id and display name `name` stands for: an existing member matched ignoring case keeps
        their own (`grace` is the demo's Grace, not a renamed one); anyone else is new, as typed."""
        try:
            member = await find_member(self.core.members, self.conversation, name)
        except UserError:  # no one, or more than one, by that name: a new member
            return name.lower(), name
        return member.user_id, member.name

    async def _cohorts(self) -> list[Cohort]:
        return await self.core.cohorts.list_cohorts(PLATFORM, self.conversation.workspace_id)

    async def _cohort_in(self, channel: str) -> Cohort | None:
        return next((c for c in await self._cohorts() if c.channel_id == channel), None)

    async def _channel(self, arg: str) -> None:
        found = _CHANNEL.match(arg.lower())
        if not found:
            self.refuse(
                "Usage: :channel NAME (lowercase letters, digits, - and _, with or without #; "
                "e.g. :channel evening)"
            )
            return
        name = found.group(1)
        if name == self.conversation.channel_id:
            self.say(f"You are already in #{name}.")
            return
        cohort = await self._cohort_in(name)
        new = name not in self.visited and cohort is None
        self.visited.add(name)
        self.conversation = ConversationRef(PLATFORM, self.conversation.workspace_id, name)
        if cohort is not None:
            where = f"home of cohort `{cohort.name}` ({describe_schedule(cohort)})"
        else:
            where = (
                f"{'a new channel' if new else 'a channel'} with no cohort yet "
                "(a moderator can start one here with `cohort create NAME`)"
            )
        self.say(f"You are now in #{name}, {where}.")

    async def _channels(self) -> None:
        hosted = {c.channel_id: c for c in await self._cohorts()}
        names = sorted(self.visited | set(hosted), key=lambda n: (n != CONVERSATION.channel_id, n))
        width = max(len(n) for n in names) + 1
        lines = [f"Channels (you are in #{self.conversation.channel_id}):"]
        for name in names:
            mark = "→" if name == self.conversation.channel_id else " "
            cohort = hosted.get(name)
            what = f"cohort {cohort.name} · {describe_schedule(cohort)}" if cohort else "no cohort"
            lines.append(f"{mark} {'#' + name:<{width}}  {what}")
        self.say("\n".join(lines))

    async def _set_clock(self, arg: str) -> None:
        here = await self._cohort_in(self.conversation.channel_id)
        tz = here.timezone if here else "UTC"
        try:
            if not _CLOCK.match(arg):
                raise ValueError(arg)
            if "T" not in arg:  # a time of day: today's, by the channel's cohort's calendar
                today = self.clock.now().astimezone(ZoneInfo(tz)).date()
                arg = f"{today:%Y-%m-%d}T{arg}"
            naive = dt.datetime.fromisoformat(arg)
        except ValueError:
            self.refuse(
                "Usage: :clock YYYY-MM-DDTHH:MM or :clock HH:MM (today), local to the channel's cohort, "
                "e.g. :clock 2026-12-01T09:05"
            )
            return
        instant, note = wall_clock(naive, tz)
        self.clock.set(instant)
        shown = instant.astimezone(ZoneInfo(tz))
        self.say(f"🕒 {note + ' ' if note else ''}The clock now reads {shown:%Y-%m-%dT%H:%M} ({tz}).")
        # As if the time had passed with the bot down and it started again: what is due now, within each
        # cohort's catch-up window, is posted (the days before it are skipped and said so).
        self._report(await self.ticker.sweep_now())

    async def _reload(self) -> None:
        if self.reload is None:
            self.refuse("This console cannot reload its content.")
            return
        try:
            refused = await self.reload()
        except Exception:
            self.refuse("The reload failed (see the log); the content is as it was.")
            return
        if not refused:
            catalog = self.core.catalog
            self.say(
                f"🔄 Content reloaded: {len(catalog.stages)} stages, {len(catalog.resources)} resources, "
                f"{len(catalog.challenges)} challenges."
            )
            return
        lines = [
            f"Content not reloaded; still serving the content loaded before. Problems in {pack}:\n"
            + "\n".join(f"  {p}" for p in problems)
            for pack, problems in refused.items()
        ]
        self.refuse("\n".join(lines))

    async def _click(self, arg: str) -> None:
        if not self.buttons:
            self.refuse("The last reply has no buttons; :click presses a button of the last reply or post.")
            return
        if not arg.isdigit() or not 1 <= int(arg) <= len(self.buttons):
            self.refuse(f"Usage: :click N, with N from 1 to {len(self.buttons)}")
            return
        button = self.buttons[int(arg) - 1]
        self.say(f"(pressed {button.label})")
        # A click comes from the channel its message is in, as on a real platform.
        clicked = Invocation(button.command, button.args, self.user, self.buttons_in)
        self.show(await self.core.dispatch(clicked, limited=False))

    # ---- the session ----

    async def start(self) -> None:
        """Act as the member the starting name stands for, and run what is due now (as `studybot run`
        does when it starts)."""
        async with self.busy:
            self.user_id, self.user_name = await self._member_named(self.user_name)
            await self.ticker.sweep_now()

    async def run(self, stdin: TextIO) -> None:
        """Start, then read lines until end of input or :quit, running scheduled work as time passes."""
        with logs_on(self.screen):
            await self.start()
            ticking = asyncio.create_task(self.ticker.run())
            try:
                await self._read(stdin)
            finally:
                ticking.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await ticking
        if self.interactive:
            self.say("Bye! Keep the streak going. 👋")

    async def _read(self, stdin: TextIO) -> None:
        if self.interactive:
            _enable_history()
        while True:
            try:
                if self.interactive:
                    self.screen.prompt = self.prompt
                    try:
                        line = await _read_line(self.prompt)
                    except asyncio.CancelledError:  # Ctrl-C at the prompt: leave, as Ctrl-D does
                        _uncancel()
                        break
                    finally:
                        self.screen.prompt = None
                else:
                    line = await asyncio.to_thread(stdin.readline)
                    if not line:
                        break
            except (EOFError, KeyboardInterrupt):
                break
            if not await self.handle(line, echo=not self.interactive):
                break


async def _read_line(prompt: str) -> str:
    """`input(prompt)` in a daemon thread of its own, so that Ctrl-C leaves at once: a thread of the
    default executor would hold the process at exit until Enter was pressed."""
    loop = asyncio.get_running_loop()
    line: asyncio.Future[str] = loop.create_future()

    def settle(text: str, error: BaseException | None) -> None:
        if line.done():  # given up on (Ctrl-C)
            return
        if error is not None:
            line.set_exception(error)
        else:
            line.set_result(text)

    def read() -> None:
        text, error = "", None
        try:
            text = input(prompt)
        except BaseException as exc:  # EOFError (Ctrl-D) and the rest go to the reader
            error = exc
        with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: no one is reading any more
            loop.call_soon_threadsafe(settle, text, error)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await line


def _uncancel() -> None:
    """The session caught the cancellation Ctrl-C sent: the task goes on, no longer being cancelled."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def _typed_so_far() -> str:
    """What the person has typed at the prompt so far (readline's buffer), to put back below a post."""
    try:
        import readline
    except ImportError:
        return ""
    return readline.get_line_buffer()


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

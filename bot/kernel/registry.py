"""The command registry: every command declared once, with its arguments parsed from an Invocation."""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.kernel.types import WEEKDAYS, Cohort, ConversationRef, Invocation, Reply, UserRef
from bot.kernel.untrusted import verbatim

# Discord caps message content at 2,000 characters; we hold every platform's input to the same bound.
MAX_INPUT_CHARS = 2000
# The word users type before a command on Discord and Slack; the console accepts it too.
ROOT = "study"
# Commands that group sub-commands: `cohort create`, `cohort set`, ...
GROUPS = ("cohort",)


class ArgKind(StrEnum):
    WORD = "word"  # one token
    REST = "rest"  # everything that is left, joined by spaces
    CHOICE = "choice"  # one of `choices`, case-insensitive
    TIME = "time"  # HH:MM, 24-hour
    TIMEZONE = "timezone"  # an IANA name such as Europe/Berlin
    DATE = "date"  # YYYY-MM-DD
    DAYS = "days"  # mon-fri, mon,wed,fri, daily, weekdays


# What each kind expects, said to a user who typed something else.
EXPECTED = {
    ArgKind.TIME: "a 24-hour time as HH:MM, for example 09:30",
    ArgKind.TIMEZONE: "a timezone as Area/City, for example Europe/Berlin or America/New_York",
    ArgKind.DATE: "a date as YYYY-MM-DD, for example 2026-12-01",
    ArgKind.DAYS: "weekdays as a range or list, for example mon-fri, mon,wed,fri or daily",
}


# How an option's value is shown in usage lines: `[time=HH:MM]`.
METAVARS = {
    ArgKind.TIME: "HH:MM",
    ArgKind.TIMEZONE: "Area/City",
    ArgKind.DATE: "YYYY-MM-DD",
    ArgKind.DAYS: "mon-fri",
}


def _echo(raw: str) -> str:
    """What the user typed, quoted back as code and marked as their text (a typed backtick cannot end it)."""
    return f"`{verbatim(raw)}`"


class UserError(Exception):
    """A problem the user can fix; its message is shown to them as it is."""


class UsageError(UserError):
    """The arguments did not fit the command; the reply shows its usage."""


@dataclass(frozen=True)
class Arg:
    """One declared argument; `key` makes it a key=value option such as time=09:00."""

    name: str
    kind: ArgKind = ArgKind.WORD
    required: bool = True
    help: str = ""
    choices: tuple[str, ...] = ()
    key: str | None = None
    hidden: bool = False  # filled in by buttons, not typed by people
    usage: str = ""  # how the usage line shows it, when the default would say too little

    def placeholder(self) -> str:
        if self.usage:
            return self.usage
        shown = METAVARS.get(self.kind, self.name)
        inner = f"{self.key}={shown}" if self.key else self.name
        if self.kind is ArgKind.CHOICE and not self.key:
            inner = "|".join(self.choices)
        return f"<{inner}>" if self.required else f"[{inner}]"


# A command's handler: `async def handler(ctx: Context, args: dict[str, Any]) -> Reply`. The Context
# (bot/dispatch/context.py) sits above the kernel, so the kernel names it only as the first argument.
Handler = Callable[[Any, dict[str, Any]], Awaitable[Reply]]
H = TypeVar("H", bound=Handler)


@dataclass(frozen=True)
class CommandSpec:
    """A command: its name, arguments, one-line help and an example, declared once for every platform."""

    name: str
    summary: str
    handler: Handler
    args: tuple[Arg, ...] = ()
    example: str = ""
    moderator: bool = False
    details: str = ""
    # Costly work (search, images, exports): bounded per workspace by the core, see bot/dispatch/workload.py.
    heavy: bool = False

    def usage(self) -> str:
        shown = " ".join(a.placeholder() for a in self.args if not a.hidden)
        return f"/{ROOT} {self.name} {shown}".rstrip()

    def parse(
        self, tokens: tuple[str, ...], *, typed: bool = False, fields: tuple[tuple[str, str], ...] = ()
    ) -> dict[str, Any]:
        """Turn tokens into typed values; raise UsageError or UserError with a friendly message.

        `typed` tokens came from a person, who may not fill in hidden arguments (only buttons do). `fields`
        are a form's answers by argument name, each taken whole; an empty answer leaves its argument out.
        """
        answered = self._answers(fields)
        positional = [a for a in self.args if a.key is None and not (typed and a.hidden)]
        options = {a.key: a for a in self.args if a.key is not None}
        values: dict[str, Any] = {}
        rest: list[str] = []
        for token in tokens:
            key, sep, value = token.partition("=")
            if sep and key.lower() in options:
                arg = options[key.lower()]
                if not value:
                    raise UserError(f"`{key}=` needs a value: {EXPECTED.get(arg.kind, arg.help)}.")
                values[arg.name] = convert(arg, value)
            else:
                rest.append(token)
        for i, arg in enumerate(positional):
            if arg.kind is ArgKind.REST:
                text = " ".join(rest[i:]).strip()
                rest = rest[:i]
                if text:
                    values[arg.name] = text
                elif arg.required:
                    raise UsageError(f"Missing <{arg.name}>.")
                break
            if i < len(rest):
                values[arg.name] = convert(arg, rest[i])
            elif arg.required:
                raise UsageError(f"Missing <{arg.name}>.")
        else:
            if len(rest) > len(positional):
                extra = " ".join(rest[len(positional) :])
                raise UsageError(f"Unexpected `{extra}`.")
        return values | answered

    def _answers(self, fields: tuple[tuple[str, str], ...]) -> dict[str, Any]:
        """A form's answers as argument values: a hidden argument or an unknown name is never filled."""
        by_name = {a.name: a for a in self.args if not a.hidden}
        values: dict[str, Any] = {}
        for name, value in fields:
            arg = by_name.get(name)
            if arg is None:
                raise UsageError(f"The form sent an answer `{verbatim(name)}` this command does not take.")
            if value.strip():
                values[name] = convert(arg, value.strip()) if arg.kind is not ArgKind.REST else value.strip()
        return values


def convert(arg: Arg, raw: str) -> Any:
    """Convert one raw token to the argument's type, or say what was expected."""
    if arg.kind is ArgKind.CHOICE:
        lowered = raw.lower()
        for choice in arg.choices:
            if choice.lower() == lowered:
                return choice
        raise UsageError(f"{_echo(raw)} is not one of {', '.join(arg.choices)}.")
    if arg.kind is ArgKind.TIME:
        return parse_time(raw)
    if arg.kind is ArgKind.TIMEZONE:
        return parse_timezone(raw)
    if arg.kind is ArgKind.DATE:
        return parse_date(raw)
    if arg.kind is ArgKind.DAYS:
        return parse_days(raw)
    return raw


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def parse_time(raw: str) -> dt.time:
    m = _TIME.match(raw.strip())
    if not m:
        raise UserError(f"{_echo(raw)} is not a time: expected {EXPECTED[ArgKind.TIME]}.")
    return dt.time(int(m.group(1)), int(m.group(2)))


def parse_timezone(raw: str) -> str:
    name = raw.strip()
    problem = f"{_echo(raw)} is not a timezone I know: expected {EXPECTED[ArgKind.TIMEZONE]}."
    if not re.fullmatch(r"[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+)*", name) or name.lower() == "localtime":
        raise UserError(problem)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=1, cutoff=0.75)
        raise UserError(problem + (f" Did you mean {close[0]}?" if close else "")) from None
    return name


def parse_date(raw: str) -> dt.date:
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw.strip()):
            raise ValueError(raw)
        return dt.date.fromisoformat(raw.strip())
    except ValueError:
        raise UserError(f"{_echo(raw)} is not a date: expected {EXPECTED[ArgKind.DATE]}.") from None


def parse_days(raw: str) -> frozenset[int]:
    text = raw.strip().lower()
    if text in ("daily", "every", "all"):
        return frozenset(range(7))
    if text in ("weekdays", "workdays"):
        return frozenset(range(5))
    if text == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in text.split(","):
        first, sep, last = part.partition("-")
        if first not in WEEKDAYS or (sep and last not in WEEKDAYS):
            raise UserError(f"{_echo(raw)} is not a set of weekdays: expected {EXPECTED[ArgKind.DAYS]}.")
        a, b = WEEKDAYS.index(first), WEEKDAYS.index(last if sep else first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)


def format_days(days: frozenset[int]) -> str:
    """Say a set of weekdays the way a user would type it."""
    if days == frozenset(range(7)):
        return "daily"
    ordered = sorted(days)
    if ordered and ordered == list(range(ordered[0], ordered[-1] + 1)) and len(ordered) > 2:
        return f"{WEEKDAYS[ordered[0]]}-{WEEKDAYS[ordered[-1]]}"
    return ",".join(WEEKDAYS[d] for d in ordered)


_TOKEN = re.compile(r'"([^"]*)"|(\S+)')


def describe_schedule(cohort: Cohort) -> str:
    """A cohort's schedule as its commands write it: "09:00 Europe/Berlin, mon-fri", and if paused."""
    state = " (paused)" if cohort.paused else ""
    return f"{cohort.post_time:%H:%M} {cohort.timezone}, {format_days(cohort.weekdays)}{state}"


def tokenize(text: str) -> tuple[str, ...]:
    """Split on whitespace; "double quotes" keep spaces together (apostrophes are just letters)."""
    return tuple(m.group(1) if m.group(1) is not None else m.group(2) for m in _TOKEN.finditer(text))


@dataclass
class Registry:
    """All commands, by name; the one place platforms read names, arguments and help from."""

    commands: dict[str, CommandSpec] = field(default_factory=dict)

    def add(self, spec: CommandSpec) -> None:
        if spec.name in self.commands:
            raise ValueError(f"command {spec.name!r} declared twice")
        self.commands[spec.name] = spec

    def include(self, other: Registry) -> None:
        """Declare every command of `other` (a feature module's) here too, in its order."""
        for spec in other:
            self.add(spec)

    def command(
        self,
        name: str,
        summary: str,
        *args: Arg,
        example: str = "",
        moderator: bool = False,
        details: str = "",
        heavy: bool = False,
    ) -> Callable[[H], H]:
        """Declare a command by decorating its handler."""

        def register(handler: H) -> H:
            self.add(CommandSpec(name, summary, handler, args, example, moderator, details, heavy))
            return handler

        return register

    def get(self, name: str) -> CommandSpec | None:
        return self.commands.get(name)

    def __iter__(self) -> Iterator[CommandSpec]:
        return iter(self.commands.values())

    def closest(self, name: str) -> list[str]:
        names = list(self.commands) + list(GROUPS)
        return difflib.get_close_matches(name, names, n=3, cutoff=0.5)

    def invocation(self, text: str, user: UserRef, conversation: ConversationRef) -> Invocation:
        """Build an Invocation from what a user typed, with or without the leading /study."""
        tokens = tokenize(text.strip())
        if tokens and tokens[0].lstrip("/").lower() == ROOT:
            tokens = tokens[1:]
        if not tokens:
            return Invocation("help", (), user, conversation)
        name = tokens[0].lower()
        rest = tokens[1:]
        if name in GROUPS and rest and f"{name} {rest[0].lower()}" in self.commands:
            name, rest = f"{name} {rest[0].lower()}", rest[1:]
        return Invocation(name, rest, user, conversation, typed=True)

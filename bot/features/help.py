"""The `help` command, written from the registry so it never disagrees with the commands."""

from __future__ import annotations

from typing import Any

from bot.dispatch.context import Context
from bot.kernel.registry import GROUPS, Arg, ArgKind, CommandSpec, Registry, UserError
from bot.kernel.types import Card, Field, Reply

# The sections of `help`, in the order a member looks for things, each with its commands in that order.
# Moderator commands are not listed here: they always come last, in a section of their own.
SECTIONS = (
    ("📅 Daily challenge", ("today", "answer", "done", "submit")),
    ("🤝 Peer review", ("reviews", "feedback", "portfolio")),
    ("📈 Progress", ("streak", "leaderboard", "roadmap")),
    ("📚 Learning", ("next", "resources", "review", "learned", "unlearn")),
    (
        "👥 Your cohort and settings",
        ("join", "leave", "timezone", "remind", "break", "pods", "pod", "link", "unlink"),
    ),
)
# Where a member command missing from SECTIONS goes, so a new command is listed before anyone sorts it in.
MORE = "➕ More"
MODERATORS = "🛡️ For moderators"
MODERATORS_ARE = "Moderators are the server's or workspace's admins, and members a moderator granted."
# `help` itself is not a line of its own: the reply's first sentence says how to use it.
UNLISTED = ("help",)
INTRO = "📖 studybot commands, by what you want to do. `/study help <command>` shows one with an example."


def _detail(spec: CommandSpec) -> Card:
    fields = [Field("Usage", f"`{spec.usage()}`")]
    shown = [a for a in spec.args if not a.hidden and a.help]
    if shown:
        fields.append(Field("Arguments", "\n".join(f"{a.key or a.name}: {a.help}" for a in shown)))
    if spec.example:
        fields.append(Field("Example", f"`{spec.example}`"))
    footer = "Moderators only." if spec.moderator else ""
    return Card(f"/study {spec.name}", spec.summary, tuple(fields), footer)


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "help",
    "List the commands, or show one command's usage and an example.",
    Arg("command", ArgKind.REST, required=False, help="a command name, such as streak or cohort create"),
    example="/study help cohort create",
)
async def help_command(ctx: Context, args: dict[str, Any]) -> Reply:
    registry = ctx.core.registry
    wanted = " ".join(args.get("command", "").lower().removeprefix("/study ").split())
    if wanted:
        spec = registry.get(wanted)
        if spec is not None:
            return Reply(cards=(_detail(spec),), ephemeral=True)
        if wanted in GROUPS:
            specs = [s for s in registry if s.name.startswith(wanted + " ")]
            body = "\n".join(_line(s) for s in specs)
            return Reply(cards=(Card(f"/study {wanted} …", body),), ephemeral=True)
        close = registry.closest(wanted)
        hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
        raise UserError(f"There is no command `{wanted}`.{hint}")
    cards = tuple(
        Card(title, "\n".join(_line(s) for s in specs), footer=MODERATORS_ARE if title == MODERATORS else "")
        for title, specs in sections(registry)
    )
    return Reply(text=INTRO, cards=cards, ephemeral=True)


def _line(spec: CommandSpec) -> str:
    return f"`{spec.usage()}`: {spec.summary}"


def sections(registry: Registry) -> list[tuple[str, list[CommandSpec]]]:
    """The commands by section, as `help` lists them: SECTIONS, then any others, then the moderators'."""
    listed = {name for _, names in SECTIONS for name in names}
    member = {s.name: s for s in registry if not s.moderator}
    out = [(title, [member[n] for n in names if n in member]) for title, names in SECTIONS]
    more = [s for n, s in member.items() if n not in listed and n not in UNLISTED]
    out += [(MORE, more), (MODERATORS, [s for s in registry if s.moderator])]
    return [(title, specs) for title, specs in out if specs]

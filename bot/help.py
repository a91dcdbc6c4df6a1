"""The `help` command, written from the registry so it never disagrees with the commands."""

from __future__ import annotations

from typing import Any

from bot.commands import GROUPS, REGISTRY, Arg, ArgKind, CommandSpec, UserError
from bot.context import Context
from bot.types import Card, Field, Reply


def _detail(spec: CommandSpec) -> Card:
    fields = [Field("Usage", f"`{spec.usage()}`")]
    shown = [a for a in spec.args if not a.hidden and a.help]
    if shown:
        fields.append(Field("Arguments", "\n".join(f"{a.key or a.name}: {a.help}" for a in shown)))
    if spec.example:
        fields.append(Field("Example", f"`{spec.example}`"))
    footer = "Moderators only." if spec.moderator else ""
    return Card(f"/study {spec.name}", spec.summary, tuple(fields), footer)


@REGISTRY.command(
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
            body = "\n".join(f"`{s.usage()}`: {s.summary}" for s in specs)
            return Reply(cards=(Card(f"/study {wanted} …", body),), ephemeral=True)
        close = registry.closest(wanted)
        hint = f" Did you mean {' or '.join(f'`{c}`' for c in close)}?" if close else ""
        raise UserError(f"There is no command `{wanted}`.{hint}")
    members = [s for s in registry if not s.moderator]
    mods = [s for s in registry if s.moderator]
    member_lines = "\n".join(f"`{s.usage()}`: {s.summary}" for s in members)
    mod_lines = "\n".join(f"`{s.usage()}`: {s.summary}" for s in mods)
    return Reply(
        cards=(
            Card(
                "📖 studybot commands",
                member_lines,
                footer="`/study help <command>` shows one with an example.",
            ),
            Card("🛡️ For moderators", mod_lines),
        ),
        ephemeral=True,
    )

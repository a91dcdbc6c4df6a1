"""The /study and /cohort slash commands, built from the core's registry (never declared twice), and the
persistent buttons; every handler turns the interaction into an Invocation and renders the Reply."""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Optional

import discord
from discord import app_commands

from adapters.discord.render import (
    NO_PINGS,
    SEPARATOR,
    Message,
    decode_custom_id,
    form_answers,
    render,
    render_form,
    shorten,
)
from bot.dispatch.core import Core
from bot.kernel.registry import GROUPS, ArgKind, CommandSpec
from bot.kernel.types import ConversationRef, Form, Invocation, Reply, UserRef
from bot.kernel.untrusted import plain

log = logging.getLogger(__name__)

PLATFORM = "discord"
# Discord caps command and option descriptions at 100 characters.
DESCRIPTION_MAX = 100
# Discord waits 3 seconds for a first response; past this much, defer and follow up.
RESPOND_WITHIN = 2.0
# Commands one process works on at once; more wait their turn (deferred when it takes RESPOND_WITHIN). Without
# a bound, a burst's commands share the event loop evenly and all finish late, none of them in time.
CONCURRENT_COMMANDS = 64


_working: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


async def _in_turn(core: Core, work: Awaitable[Reply]) -> Reply:
    """`work` once fewer than CONCURRENT_COMMANDS others are being worked on (one bound per event loop);
    counted in the core's `waiting` until then."""
    loop = asyncio.get_running_loop()
    working = _working.get(loop)
    if working is None:
        working = _working[loop] = asyncio.Semaphore(CONCURRENT_COMMANDS)
    async with core.turn(working):
        return await work


# The answer to a slash command the core dropped (a member over the spam limit, already told once).
SKIPPED = "⏳ Skipped: too many commands at once. Try again in a few seconds."
# The answer when a Reply cannot be shown on Discord (a bug, logged): the interaction is still answered.
UNRENDERABLE = "⚠️ studybot could not show its answer here on Discord; the problem has been logged."
# Options whose values the core can suggest, and the kind of suggestion.
SUGGESTED = {"cohort": "cohort", "name": "cohort", "stage": "stage", "topic": "topic", "query": "query"}
STUDY_DESCRIPTION = "studybot: daily challenges, streaks and the ML-engineer roadmap"
COHORT_DESCRIPTION = "studybot for moderators: create and run study cohorts"


def user_ref(interaction: discord.Interaction[Any]) -> UserRef:
    """Who acted; Manage Server (or Administrator) counts as a platform admin for the core."""
    perms = interaction.permissions
    admin = bool(interaction.guild_id) and (perms.manage_guild or perms.administrator)
    user = interaction.user
    return UserRef(PLATFORM, str(user.id), user.display_name, is_admin=admin)


def conversation_ref(interaction: discord.Interaction[Any]) -> ConversationRef:
    return ConversationRef(PLATFORM, str(interaction.guild_id or "dm"), str(interaction.channel_id))


async def respond(
    interaction: discord.Interaction[Any], core: Core, work: Awaitable[Reply], *, private: bool = False
) -> None:
    """Answer within Discord's 3 seconds: directly when the core is quick, else defer and follow up. At most
    CONCURRENT_COMMANDS are worked on at once; the rest wait their turn.

    A Reply with a form opens it as a modal when it can; `private` shows the reply to the member only.
    """
    task = asyncio.ensure_future(_in_turn(core, work))
    done, _ = await asyncio.wait({task}, timeout=RESPOND_WITHIN)
    if not done:
        await interaction.response.defer(ephemeral=True, thinking=True)
    reply = await task
    if reply.silent:
        await _acknowledge(interaction)
        return
    if reply.form is not None and await _open_form(interaction, reply.form):
        return
    try:
        message = render(reply)
    except Exception:
        # Never dropped silently: logged, and the member is told, rather than "This interaction failed".
        log.exception("could not render the reply to %s on Discord", interaction.id)
        message = Message(content=UNRENDERABLE, ephemeral=True)
    kwargs: dict[str, Any] = {
        "embeds": message.embeds,
        "files": message.files,
        "allowed_mentions": NO_PINGS,
    }
    view = message.view()
    if view is not None:
        kwargs["view"] = view
    ephemeral = message.ephemeral or private
    if interaction.response.is_done():
        await interaction.followup.send(
            message.content or discord.utils.MISSING, ephemeral=ephemeral, **kwargs
        )
    else:
        await interaction.response.send_message(message.content or None, ephemeral=ephemeral, **kwargs)


async def _open_form(interaction: discord.Interaction[Any], form: Form) -> bool:
    """Open the form as a modal; False (logged) when it cannot be, and the Reply's text is sent instead."""
    if interaction.type is discord.InteractionType.modal_submit:
        reason = "Discord does not let a modal answer a submitted modal"
    elif interaction.response.is_done():
        reason = (
            f"the interaction was deferred (the core took over {RESPOND_WITHIN}s); a modal must come first"
        )
    else:
        try:
            modal = render_form(form)
        except ValueError as exc:
            reason = f"it does not fit Discord's modal ({exc})"
        else:
            # Not kept in memory: the submission is routed by the modal's custom_id (submit_form), which works
            # after a restart too; a kept modal (no timeout) would stay until submitted, forever if closed.
            modal.stop()
            try:
                await interaction.response.send_modal(modal)
            except discord.HTTPException as exc:
                reason = f"Discord refused the modal ({exc.status} {exc.text})"
            else:
                return True
    log.warning(
        "could not open form %r (%s) on Discord: %s; sent its text instead", form.title, form.command, reason
    )
    return False


async def submit_form(core: Core, interaction: discord.Interaction[Any]) -> None:
    """A member submitted one of studybot's modals: dispatch its command with the answers, shown to them only.

    The modal's custom_id carries the command and arguments like a button's, so a forged one gets nothing a
    click would not; the answers fill only the arguments the command lets a form fill (the core checks).
    """
    data: dict[str, Any] = interaction.data or {}  # type: ignore[assignment]
    custom_id = data.get("custom_id")
    decoded = decode_custom_id(custom_id) if isinstance(custom_id, str) else None
    if decoded is None:
        return  # not studybot's modal
    command, args = decoded
    answers = form_answers(data.get("components"))
    inv = Invocation(command, args, user_ref(interaction), conversation_ref(interaction), fields=answers)
    await respond(interaction, core, core.dispatch(inv), private=True)


async def _acknowledge(interaction: discord.Interaction[Any]) -> None:
    """Close an interaction the core dropped, as quietly as Discord allows.

    Every interaction needs a response within 3 seconds, or the member sees "This interaction failed".
    A button click can be acknowledged invisibly (a deferred update that changes nothing). A slash command
    cannot: a defer without a follow-up leaves "studybot is thinking…" hanging until it fails, and deleting
    it after takes a second call per dropped command, so one short line only the member sees is the
    quietest correct answer.
    """
    if interaction.response.is_done():  # deferred above as "thinking…": take that message away again
        await interaction.delete_original_response()
    elif interaction.type is discord.InteractionType.component:
        await interaction.response.defer()
    else:
        await interaction.response.send_message(SKIPPED, ephemeral=True, allowed_mentions=NO_PINGS)


def _arguments(spec: CommandSpec, values: dict[str, Any]) -> tuple[str, ...]:
    """Option values in the order the core's parser reads them; key=value options keep their key."""
    out = []
    for arg in spec.args:
        value = values.get(arg.name)
        if value is None or arg.hidden:
            continue
        out.append(f"{arg.key}={value}" if arg.key else str(value))
    return tuple(out)


def _callback(core: Core, spec: CommandSpec) -> Callable[..., Awaitable[None]]:
    async def callback(interaction: discord.Interaction[Any], **values: Any) -> None:
        inv = Invocation(
            spec.name, _arguments(spec, values), user_ref(interaction), conversation_ref(interaction)
        )
        await respond(interaction, core, core.dispatch(inv))

    shown = [a for a in spec.args if not a.hidden]
    params = [
        inspect.Parameter(
            "interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=discord.Interaction
        )
    ]
    for arg in shown:
        params.append(
            inspect.Parameter(
                arg.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=inspect.Parameter.empty if arg.required else None,
                annotation=str if arg.required else Optional[str],  # noqa: UP045 - discord.py reads Optional
            )
        )
    callback.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    callback.__discord_app_commands_param_description__ = {  # type: ignore[attr-defined]
        a.name: shorten(a.help or a.name, DESCRIPTION_MAX) for a in shown
    }
    callback.__discord_app_commands_param_choices__ = {  # type: ignore[attr-defined]
        a.name: [app_commands.Choice(name=c, value=c) for c in a.choices]
        for a in shown
        if a.kind is ArgKind.CHOICE
    }
    # A new cohort's name is the member's to invent; everywhere else the core knows the choices.
    suggested = {} if spec.name == "cohort create" else SUGGESTED
    callback.__discord_app_commands_param_autocomplete__ = {  # type: ignore[attr-defined]
        a.name: _suggester(core, suggested[a.name]) for a in shown if a.name in suggested and not a.choices
    }
    return callback


def _suggester(core: Core, kind: str) -> Callable[..., Awaitable[list[app_commands.Choice[str]]]]:
    async def autocomplete(
        interaction: discord.Interaction[Any], current: str
    ) -> list[app_commands.Choice[str]]:
        choices = await core.suggest(kind, current, conversation_ref(interaction))
        # Choice names are plain text on Discord; only the data markers of member text must go.
        return [app_commands.Choice(name=plain(c.name)[:100], value=plain(c.value)[:100]) for c in choices]

    return autocomplete


def build_commands(core: Core) -> tuple[app_commands.Group, app_commands.Group]:
    """The /study group (one subcommand per member command) and the /cohort group for moderators."""
    study = app_commands.Group(name="study", description=STUDY_DESCRIPTION)
    cohort = app_commands.Group(
        name="cohort",
        description=COHORT_DESCRIPTION,
        guild_only=True,
        # Shown to Manage Server by default; the core checks again, with granted moderators too.
        default_permissions=discord.Permissions(manage_guild=True),
    )
    for spec in core.registry:
        group_name, _, sub = spec.name.partition(" ")
        parent = cohort if group_name in GROUPS and sub else study
        command: app_commands.Command[Any, ..., None] = app_commands.Command(
            name=sub or spec.name,
            description=shorten(spec.summary, DESCRIPTION_MAX),
            callback=_callback(core, spec),  # type: ignore[arg-type]  # its signature is built at run time
            parent=parent,
        )
        parent.add_command(command)
    return study, cohort


class StudyButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=r"study\x1f(?P<rest>.+)"):
    """Any studybot button: its custom_id carries the command and arguments, so it survives restarts."""

    core: Core | None = None  # set by install_buttons

    def __init__(self, custom_id: str) -> None:
        super().__init__(discord.ui.Button(custom_id=custom_id))
        self.custom_id_value = custom_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> StudyButton:
        return cls(item.custom_id or f"study{SEPARATOR}{match['rest']}")  # type: ignore[attr-defined]

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        decoded = decode_custom_id(self.custom_id_value)
        if decoded is None or self.core is None:
            await interaction.response.send_message(
                "That button no longer works.", ephemeral=True, allowed_mentions=NO_PINGS
            )
            return
        command, args = decoded
        inv = Invocation(command, args, user_ref(interaction), conversation_ref(interaction))
        await respond(interaction, self.core, self.core.dispatch(inv))


def install(client: discord.Client, core: Core) -> app_commands.CommandTree[Any]:
    """Put the commands on the client's tree and make studybot's buttons and modals work, before and after
    restarts."""
    tree = app_commands.CommandTree(client)
    for group in build_commands(core):
        tree.add_command(group)
    StudyButton.core = core
    client.add_dynamic_items(StudyButton)

    # discord.py routes a modal submission only to a Modal it keeps in memory; studybot keeps none (see
    # _open_form) and reads the command from the custom_id instead, as its buttons do.
    async def on_interaction(interaction: discord.Interaction[Any]) -> None:
        if interaction.type is discord.InteractionType.modal_submit:
            await submit_form(core, interaction)

    client.event(on_interaction)
    return tree


def payload(tree: app_commands.CommandTree[Any]) -> list[dict[str, Any]]:
    """What a sync sends Discord for these commands."""
    return [command.to_dict(tree) for command in tree.get_commands()]


__all__ = ["Message", "build_commands", "install", "payload", "respond"]

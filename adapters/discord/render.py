"""Pure rendering of a Reply as Discord message parts, within Discord's limits (shortened visibly)."""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import discord

from bot.types import Button, Card, Reply, Style

# Discord's limits on one message and its embeds.
CONTENT_MAX = 2000
TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
EMBEDS_MAX = 10
EMBED_TOTAL_MAX = 6000  # all text of all embeds of one message together
BUTTONS_PER_ROW = 5
CUSTOM_ID_MAX = 100
# Buttons carry their command and arguments in custom_id, so clicks still work after a restart.
CUSTOM_ID_PREFIX = "study"
SEPARATOR = "\x1f"  # cannot be typed by a member, so it never appears inside an argument

COLOURS = {
    Style.NEUTRAL: discord.Colour.light_grey(),
    Style.PRIMARY: discord.Colour.blurple(),
    Style.SUCCESS: discord.Colour.green(),
    Style.DANGER: discord.Colour.red(),
}
BUTTON_STYLES = {
    Style.NEUTRAL: discord.ButtonStyle.secondary,
    Style.PRIMARY: discord.ButtonStyle.primary,
    Style.SUCCESS: discord.ButtonStyle.success,
    Style.DANGER: discord.ButtonStyle.danger,
}
SHORTENED = "… (shortened)"


def spell_commands(text: str) -> str:
    """The core names commands as `/study <command>`; on Discord the moderator group is `/cohort` itself."""
    return text.replace("/study cohort ", "/cohort ").replace("/study cohort`", "/cohort`")


def shorten(text: str, limit: int) -> str:
    """The text, or as much as fits with a visible mark that it was cut."""
    return text if len(text) <= limit else text[: limit - len(SHORTENED)] + SHORTENED


def encode_custom_id(button: Button) -> str:
    custom_id = SEPARATOR.join((CUSTOM_ID_PREFIX, button.command, *button.args))
    if len(custom_id) > CUSTOM_ID_MAX:
        raise ValueError(f"button {button.label!r} carries too much for a Discord custom_id")
    return custom_id


def decode_custom_id(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    """The command and arguments a button carries, or None when it is not one of ours."""
    prefix, _, rest = custom_id.partition(SEPARATOR)
    if prefix != CUSTOM_ID_PREFIX or not rest:
        return None
    command, *args = rest.split(SEPARATOR)
    return command, tuple(args)


@dataclass
class Message:
    """What to send: text, embeds, buttons and files."""

    content: str = ""
    embeds: list[discord.Embed] = field(default_factory=list)
    buttons: list[discord.ui.Button[discord.ui.View]] = field(default_factory=list)
    files: list[discord.File] = field(default_factory=list)
    ephemeral: bool = False

    def view(self) -> discord.ui.View | None:
        if not self.buttons:
            return None
        view = discord.ui.View(timeout=None)
        for button in self.buttons:
            view.add_item(button)
        return view


def _embed(card: Card, budget: int) -> discord.Embed:
    card = replace(
        card,
        title=spell_commands(card.title),
        body=spell_commands(card.body),
        footer=spell_commands(card.footer),
        fields=tuple(replace(f, value=spell_commands(f.value)) for f in card.fields),
    )
    title = shorten(card.title, TITLE_MAX)
    description = shorten(card.body, min(DESCRIPTION_MAX, max(budget - len(title), len(SHORTENED))))
    embed = discord.Embed(
        title=title, description=description or None, url=card.url, colour=COLOURS[card.style]
    )
    used = len(title) + len(description)
    fields = card.fields[:FIELDS_MAX]
    for f in fields:
        name, value = shorten(f.name, FIELD_NAME_MAX), shorten(f.value or "-", FIELD_VALUE_MAX)
        if used + len(name) + len(value) > budget:
            break
        embed.add_field(name=name, value=value, inline=f.inline)
        used += len(name) + len(value)
    dropped = len(card.fields) - len(embed.fields)
    footer = card.footer + (f" · {dropped} more not shown" if dropped else "")
    if footer and used + len(footer) <= budget:
        embed.set_footer(text=shorten(footer, FOOTER_MAX))
    return embed


def render(reply: Reply) -> Message:
    """Turn a Reply into a Discord message; nothing a member should read is dropped without a mark."""
    message = Message(content=shorten(spell_commands(reply.text), CONTENT_MAX), ephemeral=reply.ephemeral)
    budget = EMBED_TOTAL_MAX
    cards = reply.cards[:EMBEDS_MAX]
    for card in cards:
        embed = _embed(card, budget)
        budget -= len(embed)
        message.embeds.append(embed)
        if budget <= len(SHORTENED):
            break
    left_out = len(reply.cards) - len(message.embeds)
    if left_out:
        note = f"\n({left_out} more not shown: Discord fits {len(message.embeds)} here)"
        message.content = shorten(message.content + note, CONTENT_MAX)
    for i, button in enumerate(reply.buttons[: BUTTONS_PER_ROW * 5]):
        message.buttons.append(
            discord.ui.Button(
                label=button.label[:80],
                custom_id=encode_custom_id(button),
                style=BUTTON_STYLES[button.style],
                row=i // BUTTONS_PER_ROW,
            )
        )
    for image in reply.images:
        message.files.append(
            discord.File(io.BytesIO(image.data), filename=image.filename, description=image.alt)
        )
    for attachment in reply.attachments:
        message.files.append(discord.File(io.BytesIO(attachment.data), filename=attachment.filename))
    if len(reply.buttons) > BUTTONS_PER_ROW * 5:
        raise ValueError("a Discord message holds at most 25 buttons")
    return message

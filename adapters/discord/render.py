"""Pure rendering of a Reply as Discord message parts, within Discord's limits (shortened visibly)."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field

import discord

from bot.kernel.types import Button, Card, Reply, Style
from bot.kernel.untrusted import plain, split_spans

log = logging.getLogger(__name__)

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
BUTTON_LABEL_MAX = 80
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
# No ping from anything studybot sends: member and pack text may hold @everyone or <@&role>, and the bot has
# no message that means to ping anyone. Passed on every send as well as set on the client, so a send made
# through a path that ignores the client default still cannot ping.
NO_PINGS = discord.AllowedMentions.none()

# Characters Discord's markdown reads anywhere in a line: emphasis, strike, spoilers, code, the backslash
# itself, masked links [text](url), and <...> (user, role and channel mentions, emoji, timestamps, <url>).
# Every one is escaped, not only balanced pairs: discord.utils.escape_markdown escapes just the first "[" of
# its greedy masked-link match, so "[a] [Claim Nitro](https://evil.example)" kept a live link.
_INLINE = re.compile(r"[\\*_~|`\[\]<]")
# What Discord reads only at the start of a line: headings and -# subtext, lists, quotes. A span may start a
# line of the message, so its own start counts as one.
_LINE_START = re.compile(r"^([ \t]*)([#>+-])", re.MULTILINE)
_NUMBERED = re.compile(r"^([ \t]*\d+)\.(?=\s)", re.MULTILINE)
# A bare scheme://... is auto-linked; "https\://" shows the same text but is no longer a link.
_SCHEME = re.compile(r"(?<=[A-Za-z0-9]):(?=//)")
# @everyone and @here are mentions even without <...>.
_MASS_MENTION = re.compile(r"@(?=everyone|here)", re.IGNORECASE)
# Inside a code span Discord shows a backslash as it is, so there only a backtick, which would close the
# span, is replaced by the look-alike modifier letter grave accent.
_CODE_BACKTICK = "\u02cb"


def discord_escape(text: str) -> str:
    """Member or pack text shown on Discord as written: no markdown, no (masked) links, no mentions."""
    text = _INLINE.sub(lambda m: "\\" + m.group(), text)
    text = _LINE_START.sub(r"\1\\\2", text)
    text = _NUMBERED.sub(r"\1\\.", text)
    text = _SCHEME.sub(r"\\:", text)
    return _MASS_MENTION.sub(r"\\@", text)


def code_escape(text: str) -> str:
    """Member or pack text inside a code span of the core's markup: only a backtick could end the span."""
    return text.replace("`", _CODE_BACKTICK)


def markup(text: str) -> str:
    """Core text as Discord markdown: commands spelled for Discord, member and pack text escaped.

    A span is escaped for where it stands: inside the core's `code` (an odd number of backticks before it)
    backslashes would show, so there only backticks are replaced.
    """
    pieces = split_spans(spell_commands(text))
    in_code = False
    for i, piece in enumerate(pieces):
        if i % 2 == 0:
            in_code ^= piece.count("`") % 2 == 1
        else:
            pieces[i] = code_escape(piece) if in_code else discord_escape(piece)
    return plain("".join(pieces))  # drops any stray marker, as resolve() does


def spell_commands(text: str) -> str:
    """The core names commands as `/study <command>`; on Discord the moderator group is `/cohort` itself."""
    return text.replace("/study cohort ", "/cohort ").replace("/study cohort`", "/cohort`")


def shorten(text: str, limit: int) -> str:
    """The text, or as much as fits with a visible mark that it was cut."""
    return text if len(text) <= limit else text[: limit - len(SHORTENED)] + SHORTENED


def encode_custom_id(button: Button) -> str:
    """The custom_id carrying a button's command and arguments; ValueError when it would not fit."""
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
    # Everything is escaped before it is measured, so the escapes count against Discord's limits too.
    title = shorten(markup(card.title), TITLE_MAX)
    body = markup(card.body)
    description = shorten(body, min(DESCRIPTION_MAX, max(budget - len(title), len(SHORTENED))))
    url = plain(card.url) if card.url else None
    embed = discord.Embed(title=title, description=description or None, url=url, colour=COLOURS[card.style])
    used = len(title) + len(description)
    fields = card.fields[:FIELDS_MAX]
    for f in fields:
        name = shorten(markup(f.name) or "-", FIELD_NAME_MAX)
        value = shorten(markup(f.value) or "-", FIELD_VALUE_MAX)
        if used + len(name) + len(value) > budget:
            break
        embed.add_field(name=name, value=value, inline=f.inline)
        used += len(name) + len(value)
    dropped = len(card.fields) - len(embed.fields)
    # Discord shows a footer as plain text (no markdown, no mentions): an escape would show as a backslash.
    footer = plain(spell_commands(card.footer)) + (f" · {dropped} more not shown" if dropped else "")
    if footer and used + len(footer) <= budget:
        embed.set_footer(text=shorten(footer, FOOTER_MAX))
    return embed


def _button(button: Button, row: int) -> discord.ui.Button[discord.ui.View] | None:
    """The Discord button, or None when its payload cannot fit a custom_id (logged: a content bug)."""
    try:
        custom_id = encode_custom_id(button)
    except ValueError:
        log.warning(
            "left out button %r (%s): its arguments do not fit Discord's %d-character custom_id",
            plain(button.label),
            button.command,
            CUSTOM_ID_MAX,
        )
        return None
    return discord.ui.Button(
        # A label is plain text on Discord: markdown and mentions show as typed, so only markers go.
        label=shorten(plain(button.label), BUTTON_LABEL_MAX) or "…",
        custom_id=custom_id,
        style=BUTTON_STYLES[button.style],
        row=row,
    )


def render(reply: Reply) -> Message:
    """Turn a Reply into a Discord message; nothing a member should read is dropped without a mark."""
    if len(reply.buttons) > BUTTONS_PER_ROW * 5:
        raise ValueError("a Discord message holds at most 25 buttons")
    message = Message(content=shorten(markup(reply.text), CONTENT_MAX), ephemeral=reply.ephemeral)
    budget = EMBED_TOTAL_MAX
    cards = reply.cards[:EMBEDS_MAX]
    for card in cards:
        embed = _embed(card, budget)
        budget -= len(embed)
        message.embeds.append(embed)
        if budget <= len(SHORTENED):
            break
    notes = []
    left_out = len(reply.cards) - len(message.embeds)
    if left_out:
        notes.append(f"({left_out} more not shown: Discord fits {len(message.embeds)} here)")
    for button in reply.buttons:
        made = _button(button, row=len(message.buttons) // BUTTONS_PER_ROW)
        if made is not None:
            message.buttons.append(made)
    unbuttoned = len(reply.buttons) - len(message.buttons)
    if unbuttoned:
        notes.append(f"({unbuttoned} button{'s' if unbuttoned > 1 else ''} left out: too long for Discord)")
    if notes:
        message.content = shorten("\n".join([message.content, *notes]).lstrip("\n"), CONTENT_MAX)
    for image in reply.images:
        message.files.append(
            discord.File(io.BytesIO(image.data), filename=plain(image.filename), description=plain(image.alt))
        )
    for attachment in reply.attachments:
        message.files.append(discord.File(io.BytesIO(attachment.data), filename=plain(attachment.filename)))
    return message

"""Pure rendering of a Reply as Discord message parts, within Discord's limits (shortened visibly)."""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import discord

from bot.kernel.types import Button, Card, FieldKind, Form, FormField, Option, Reply, Style
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
# Discord's limits on a modal (interaction callback type 9) and its components.
MODAL_COMPONENTS_MAX = 5  # top-level: the intro's text display and one label per field
MODAL_TITLE_MAX = 45
LABEL_MAX = 45
LABEL_DESCRIPTION_MAX = 100
TEXT_DISPLAY_MAX = 4000
OPTION_LABEL_MAX = 100
OPTION_DESCRIPTION_MAX = 100
OPTION_VALUE_MAX = 100
RADIO_OPTIONS = range(2, 11)  # a radio group offers 2 to 10 options
CHECKBOX_OPTIONS = range(1, 11)  # a checkbox group 1 to 10
TEXT_INPUT_MAX = 4000
# A modal's labels and titles are short plain text, where "(shortened)" would eat a third of the room: an
# ellipsis marks the cut there.
CUT = "…"
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
    return _encode(button.command, button.args, f"button {button.label!r}")


def _encode(command: str, args: tuple[str, ...], what: str) -> str:
    custom_id = SEPARATOR.join((CUSTOM_ID_PREFIX, command, *args))
    if len(custom_id) > CUSTOM_ID_MAX:
        raise ValueError(f"{what} carries too much for a Discord custom_id")
    return custom_id


def decode_custom_id(custom_id: str) -> tuple[str, tuple[str, ...]] | None:
    """The command and arguments a button (or a modal) carries, or None when it is not one of ours."""
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
    """Turn a Reply into a Discord message; nothing a member should read is dropped without a mark.

    `reply.form` is not part of a message: a modal can only be the first answer to a member's own click or
    command (commands.respond opens it with render_form). Anywhere else, a proactive post or DM, or an
    interaction already deferred, the Reply's text and cards are shown, which say the same in words.
    """
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


def clip(text: str, limit: int) -> str:
    """Plain text on one line (a label, a title), or as much as fits with an ellipsis marking the cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - len(CUT)].rstrip() + CUT


def render_form(form: Form) -> discord.ui.Modal:
    """Turn a Form into a Discord modal: the intro as a text display, then a labelled input per field.

    Each input's custom_id is its field's name, which the submitted values come back under; the modal's own
    custom_id carries the command and arguments exactly like a button's. ValueError when the form cannot fit
    Discord's limits (too many fields, options or characters that cannot be cut without changing answers).
    """
    intro = markup(form.intro).strip()
    room = MODAL_COMPONENTS_MAX - (1 if intro else 0)
    if not 1 <= len(form.fields) <= room:
        beside = " beside its intro" if intro else ""
        raise ValueError(
            f"form {form.title!r} has {len(form.fields)} fields; a Discord modal holds 1 to {room}{beside}"
        )
    names = [f.name for f in form.fields]
    if len(set(names)) < len(names):
        raise ValueError(f"form {form.title!r} asks for the same field twice")
    modal = discord.ui.Modal(
        title=clip(plain(form.title), MODAL_TITLE_MAX) or "studybot",
        custom_id=_encode(form.command, form.args, f"form {form.title!r}"),
        timeout=None,
    )
    if intro:
        # A text display is markdown, like a message: member and pack text in it are escaped by markup().
        modal.add_item(discord.ui.TextDisplay(shorten(intro, TEXT_DISPLAY_MAX)))
    for f in form.fields:
        # Labels, descriptions and option labels are plain text on Discord: markdown and mentions show as
        # typed (nothing in a modal pings), so only the data markers go.
        modal.add_item(
            discord.ui.Label(
                text=clip(plain(f.label), LABEL_MAX) or clip(f.name, LABEL_MAX),
                description=clip(plain(f.hint), LABEL_DESCRIPTION_MAX) or None,
                component=_input(f),
            )
        )
    return modal


def _input(f: FormField) -> discord.ui.Item[discord.ui.Modal]:
    if not 1 <= len(f.name) <= CUSTOM_ID_MAX:
        raise ValueError(f"field name {f.name[:20]!r}… does not fit a Discord custom_id")
    if f.kind is FieldKind.TEXT:
        return discord.ui.TextInput(
            custom_id=f.name,
            style=discord.TextStyle.paragraph,
            required=f.required,
            max_length=min(f.max_chars, TEXT_INPUT_MAX) if f.max_chars > 0 else TEXT_INPUT_MAX,
        )
    allowed = RADIO_OPTIONS if f.kind is FieldKind.ONE else CHECKBOX_OPTIONS
    if len(f.options) not in allowed:
        raise ValueError(
            f"field {f.name!r} offers {len(f.options)} options; Discord's {f.kind.value} input takes "
            f"{allowed.start} to {allowed.stop - 1}"
        )
    values = [o.value for o in f.options]
    if len(set(values)) < len(values) or any(not 1 <= len(v) <= OPTION_VALUE_MAX for v in values):
        raise ValueError(f"field {f.name!r} has option values that are repeated or not 1 to 100 characters")
    if f.kind is FieldKind.ONE:
        return discord.ui.RadioGroup(
            custom_id=f.name,
            required=f.required,
            options=[discord.RadioGroupOption(value=o.value, **_option_text(o)) for o in f.options],
        )
    # Any number of boxes, none included: Discord then wants `required` false (min_values 0 with the
    # default required=true is refused).
    return discord.ui.CheckboxGroup(
        custom_id=f.name,
        required=False,
        min_values=0,
        max_values=len(f.options),
        options=[discord.CheckboxGroupOption(value=o.value, **_option_text(o)) for o in f.options],
    )


def _option_text(option: Option) -> dict[str, Any]:
    """An option's label within Discord's 100 characters; a longer one goes on in the option's description,
    with an ellipsis at both sides of the cut (and at its end, when even that is not enough)."""
    label = " ".join(plain(option.label).split()) or option.value
    if len(label) <= OPTION_LABEL_MAX:
        return {"label": label}
    room = OPTION_LABEL_MAX - len(CUT)
    space = label.rfind(" ", room // 2, room + 1)  # cut between words when one ends in the second half
    head, rest = (label[:space], label[space + 1 :]) if space > 0 else (label[:room], label[room:])
    return {"label": head.rstrip() + CUT, "description": clip(CUT + rest.lstrip(), OPTION_DESCRIPTION_MAX)}


def form_answers(components: object) -> tuple[tuple[str, str], ...]:
    """The answers of a submitted modal, (field name, value) each, from Discord's modal-submit components.

    A text input gives its `value` whole (newlines kept), a radio group its chosen `value` (none chosen: no
    answer), a checkbox group its `values` joined by ",". Anything else, or of another shape, is skipped:
    the core refuses names its command does not take.
    """
    answers: list[tuple[str, str]] = []

    def walk(items: object, depth: int) -> None:
        if not isinstance(items, list) or depth > 2:
            return
        for item in items[:MODAL_COMPONENTS_MAX]:  # a forged payload buys no unbounded work
            if not isinstance(item, dict):
                continue
            kind, name = item.get("type"), item.get("custom_id")
            if kind == 1:
                walk(item.get("components"), depth + 1)
            elif kind == 18:
                walk([item.get("component")], depth + 1)
            elif not isinstance(name, str):
                continue
            elif kind in (4, 21) and isinstance(item.get("value"), str):
                answers.append((name, item["value"]))
            elif kind == 22 and isinstance(item.get("values"), list):
                ticked = item["values"][: CHECKBOX_OPTIONS.stop - 1]
                answers.append((name, ",".join(v for v in ticked if isinstance(v, str))))

    walk(components, 0)
    return tuple(answers)

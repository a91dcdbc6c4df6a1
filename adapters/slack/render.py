"""Pure rendering of a Reply as Slack Block Kit, within Slack's limits (shortened visibly).

Every string that goes to Slack passes through here: the core's own text has `&`, `<` and `>` escaped (it
never means a Slack link or mention), member and pack text marked with `verbatim` is shown as
written (escaped, and its mrkdwn characters replaced by look-alikes), and plain_text objects, which Slack
shows literally, get the text with the marks removed and nothing escaped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.kernel.types import Button, Card, Reply, Style
from bot.kernel.untrusted import plain, split_spans

# Slack's limits on one message.
BLOCKS_MAX = 50
SECTION_TEXT_MAX = 3000
HEADER_MAX = 150
FIELD_TEXT_MAX = 2000
FIELDS_PER_SECTION = 10
CONTEXT_TEXT_MAX = 2000
BUTTONS_PER_BLOCK = 5  # Slack allows 25; five keep the A-D answers on one line on phones
BUTTON_TEXT_MAX = 75
ACTION_ID_MAX = 255
FALLBACK_MAX = 3000  # the notification text; the blocks carry the rest
SHORTENED = "… (shortened)"
# Buttons carry their command and arguments, so a click is an Invocation again.
ACTION_PREFIX = "study"
SEPARATOR = "\x1f"
BUTTON_STYLES = {Style.PRIMARY: "primary", Style.SUCCESS: "primary", Style.DANGER: "danger"}
# Slack has no escape for its mrkdwn characters. A zero-width space does not help: it is a word boundary to
# Slack, the very trick that makes `a\u200b*b*\u200bc` bold mid-word. So member and pack text gets look-alike
# characters instead (the ones jsx-slack's <Escape> uses), which Slack shows and never reads as formatting.
MRKDWN_LOOKALIKES = str.maketrans(
    {
        "*": "\u2217",  # asterisk operator
        "_": "\u02cd",  # modifier letter low macron
        "~": "\u223c",  # tilde operator
        "`": "\u02cb",  # modifier letter grave accent
        "\uff0a": "\ufe61",  # fullwidth asterisk, which Slack also reads as bold: small asterisk
        "\uff3f": "\u2e0f",  # fullwidth low line: paragraphos
        "\uff40": "\u02cb",  # fullwidth grave accent
    }
)
# A line that starts with > (sent as &gt;) or its fullwidth form is a block quote; an invisible soft hyphen
# in front keeps it a plain character.
_QUOTE = re.compile("(^|\n)(&gt;|\uff1e)")
SOFT_HYPHEN = "\u00ad"
# A cut must not leave half an entity (`&am`) behind, which Slack would show as text.
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")
# What a card may link to: anything else is shown as text. <, >, | and whitespace would end the link early.
_LINKABLE = re.compile(r"https?://[^\s<>|]+")


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with a visible mark, never in the middle of an entity."""
    if len(text) <= limit:
        return text
    return _PARTIAL_ENTITY.sub("", text[: limit - len(SHORTENED)]) + SHORTENED


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup; user text must not become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_verbatim(text: str) -> str:
    """Member or pack text for mrkdwn: escaped, and never bold, italic, struck, code or a quote."""
    return _QUOTE.sub(rf"\1{SOFT_HYPHEN}\2", escape(text).translate(MRKDWN_LOOKALIKES))


def mrkdwn_text(text: str) -> str:
    """Core text for mrkdwn: its own markup kept, &, < and > escaped, verbatim spans shown as written."""
    pieces = split_spans(text)
    # plain() drops any stray marker, as resolve() does.
    return plain("".join(escape_verbatim(p) if i % 2 else escape(p) for i, p in enumerate(pieces)))


def unescape(text: str) -> str:
    """Text Slack sent (a slash command's arguments) with its three entities decoded once, `&amp;` last."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def encode_command(command: str, args: tuple[str, ...], what: str) -> str:
    """A command and its arguments as one Slack id (a button's action_id, a modal's callback_id)."""
    encoded = SEPARATOR.join((ACTION_PREFIX, command, *args))
    # Both ids hold at most 255 characters.
    if len(encoded) > ACTION_ID_MAX:
        raise ValueError(f"{what} carries too much for a Slack id")
    return encoded


def encode_action(button: Button) -> str:
    return encode_command(button.command, button.args, f"button {button.label!r}")


def decode_action(value: str) -> tuple[str, tuple[str, ...]] | None:
    prefix, _, rest = value.partition(SEPARATOR)
    if prefix != ACTION_PREFIX or not rest:
        return None
    command, *args = rest.split(SEPARATOR)
    return command, tuple(args)


@dataclass
class SlackMessage:
    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)
    ephemeral: bool = False
    files: list[tuple[str, bytes, str]] = field(default_factory=list)  # (filename, data, title)


def _mrkdwn(text: str, limit: int = SECTION_TEXT_MAX) -> dict[str, Any]:
    # verbatim: Slack would otherwise link-ify URLs and channel names and parse "certain mentions" itself.
    return {"type": "mrkdwn", "text": shorten(mrkdwn_text(text), limit), "verbatim": True}


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": shorten(plain(text), limit), "emoji": True}


def _link(url: str) -> str:
    """A card's URL as a Slack link, or as text when it is no plain http(s) URL."""
    if _LINKABLE.fullmatch(url):
        return f"<{escape(url)}|{escape(url).translate(MRKDWN_LOOKALIKES)}>"
    return escape_verbatim(url)


def _card_blocks(card: Card) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(card.title, HEADER_MAX)}]
    if card.body or card.url:
        link = "\n" + _link(plain(card.url)) if card.url else ""
        text = shorten(mrkdwn_text(card.body), SECTION_TEXT_MAX - len(link)) + link
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text.strip(), "verbatim": True}})
    fields = [_mrkdwn(f"*{f.name}*\n{f.value}", FIELD_TEXT_MAX) for f in card.fields]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    if card.footer:
        blocks.append({"type": "context", "elements": [_mrkdwn(card.footer, CONTEXT_TEXT_MAX)]})
    return blocks


def _fallback(reply: Reply) -> str:
    """The notification text: Slack reads it as mrkdwn too, so it is escaped like the blocks."""
    parts = [reply.text] + [f"{c.title}\n{c.body}".strip() for c in reply.cards]
    return shorten(mrkdwn_text("\n\n".join(p for p in parts if p)), FALLBACK_MAX) or "studybot"


def _button_styles(buttons: tuple[Button, ...]) -> list[str | None]:
    """Slack's style per button: "primary" for at most one of the set, as Slack's guidelines ask.

    When several ask for it (the A-D answers), none gets it: they are equal choices, and one highlighted
    would read as a hint. The same holds for "danger".
    """
    styles = [BUTTON_STYLES.get(b.style) for b in buttons]
    return [style if style and styles.count(style) == 1 else None for style in styles]


def render(reply: Reply) -> SlackMessage:
    """Turn a Reply into Block Kit with a plain-text fallback; nothing is dropped without a mark.

    A Reply's `form` is not rendered here: a message cannot hold one. The app opens it as a modal when the
    Reply answers the member's own click or command (adapters/slack/forms.py); anywhere else (a proactive
    send, a refused views.open) its text and cards, which say the same in words, are what is shown.
    """
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "section", "text": _mrkdwn(reply.text)})
    for card in reply.cards:
        blocks.extend(_card_blocks(card))
    styles = _button_styles(reply.buttons)
    for start in range(0, len(reply.buttons), BUTTONS_PER_BLOCK):
        elements = []
        for button, style in zip(
            reply.buttons[start : start + BUTTONS_PER_BLOCK],
            styles[start : start + BUTTONS_PER_BLOCK],
            strict=True,
        ):
            element: dict[str, Any] = {
                "type": "button",
                "text": _plain(button.label, BUTTON_TEXT_MAX),
                "action_id": encode_action(button),
                "value": encode_action(button),
            }
            if style is not None:
                element["style"] = style
            elements.append(element)
        blocks.append({"type": "actions", "elements": elements})
    if len(blocks) > BLOCKS_MAX:
        dropped = len(blocks) - (BLOCKS_MAX - 1)
        note = {
            "type": "context",
            "elements": [_mrkdwn(f"… {dropped} more blocks not shown: Slack fits 50.")],
        }
        blocks = [*blocks[: BLOCKS_MAX - 1], note]
    files = [(plain(i.filename), i.data, plain(i.alt)) for i in reply.images] + [
        (plain(a.filename), a.data, plain(a.filename)) for a in reply.attachments
    ]
    return SlackMessage(_fallback(reply), blocks, reply.ephemeral, files)

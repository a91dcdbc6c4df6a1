"""Pure rendering of a Reply as Slack Block Kit, within Slack's limits (shortened visibly)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.types import Button, Card, Reply, Style

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


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(SHORTENED)] + SHORTENED


def escape(text: str) -> str:
    """Slack's mrkdwn treats &, < and > as markup; user text must not become a mention or a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def encode_action(button: Button) -> str:
    action = SEPARATOR.join((ACTION_PREFIX, button.command, *button.args))
    if len(action) > ACTION_ID_MAX:
        raise ValueError(f"button {button.label!r} carries too much for a Slack action_id")
    return action


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
    return {"type": "mrkdwn", "text": shorten(escape(text), limit)}


def _card_blocks(card: Card) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": shorten(card.title, HEADER_MAX), "emoji": True},
        }
    ]
    if card.body or card.url:
        link = f"\n<{card.url}|{escape(card.url)}>" if card.url else ""
        text = shorten(escape(card.body), SECTION_TEXT_MAX - len(link)) + link
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text.strip()}})
    fields = [_mrkdwn(f"*{f.name}*\n{f.value}", FIELD_TEXT_MAX) for f in card.fields]
    for start in range(0, len(fields), FIELDS_PER_SECTION):
        blocks.append({"type": "section", "fields": fields[start : start + FIELDS_PER_SECTION]})
    if card.footer:
        blocks.append({"type": "context", "elements": [_mrkdwn(card.footer, CONTEXT_TEXT_MAX)]})
    return blocks


def _fallback(reply: Reply) -> str:
    parts = [reply.text] + [f"{c.title}\n{c.body}".strip() for c in reply.cards]
    return shorten("\n\n".join(p for p in parts if p), FALLBACK_MAX) or "studybot"


def render(reply: Reply) -> SlackMessage:
    """Turn a Reply into Block Kit with a plain-text fallback; nothing is dropped without a mark."""
    blocks: list[dict[str, Any]] = []
    if reply.text:
        blocks.append({"type": "section", "text": _mrkdwn(reply.text)})
    for card in reply.cards:
        blocks.extend(_card_blocks(card))
    for start in range(0, len(reply.buttons), BUTTONS_PER_BLOCK):
        elements = []
        for button in reply.buttons[start : start + BUTTONS_PER_BLOCK]:
            element: dict[str, Any] = {
                "type": "button",
                "text": {"type": "plain_text", "text": shorten(button.label, BUTTON_TEXT_MAX), "emoji": True},
                "action_id": encode_action(button),
                "value": encode_action(button),
            }
            if button.style in BUTTON_STYLES:
                element["style"] = BUTTON_STYLES[button.style]
            elements.append(element)
        blocks.append({"type": "actions", "elements": elements})
    if len(blocks) > BLOCKS_MAX:
        dropped = len(blocks) - (BLOCKS_MAX - 1)
        note = {
            "type": "context",
            "elements": [_mrkdwn(f"… {dropped} more blocks not shown: Slack fits 50.")],
        }
        blocks = [*blocks[: BLOCKS_MAX - 1], note]
    files = [(i.filename, i.data, i.alt) for i in reply.images] + [
        (a.filename, a.data, a.filename) for a in reply.attachments
    ]
    return SlackMessage(_fallback(reply), blocks, reply.ephemeral, files)

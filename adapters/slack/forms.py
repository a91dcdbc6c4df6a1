"""Pure translation of studybot Forms to Slack modals and back: a Form as a modal view, a submitted view's
state as the form's answers, and a Reply shown in the modal that was submitted.

A modal's callback_id carries the form's command and arguments exactly as a button's action_id does
(render.encode_command), so a submission survives a restart and comes back through the same dispatch.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.render import (
    SECTION_TEXT_MAX,
    decode_action,
    encode_command,
    mrkdwn_text,
    render,
    shorten,
)
from bot.kernel.types import FieldKind, Form, FormField, Reply
from bot.kernel.untrusted import plain

# Slack's limits on a modal (views reference; slack_sdk's View model checks the same figures).
VIEW_TITLE_MAX = 24  # title, submit and close
VIEW_BLOCKS_MAX = 100
PRIVATE_METADATA_MAX = 3000
# An input block's label and hint (input block reference).
LABEL_MAX = 2000
HINT_MAX = 2000
# Radio buttons and checkboxes hold 1 to 10 options, each shown in at most 75 characters, its value at most
# 150 (option object reference).
OPTIONS_MAX = 10
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
# A plain_text_input takes at most 3,000 characters (plain-text input reference).
TEXT_INPUT_MAX = 3000
# An error shown under a field. Slack documents no figure; it shows a line or two there, so longer ones
# are cut (the whole message is the core's, the member keeps what they typed and may try again).
ERROR_TEXT_MAX = 500
# Short slots get a short mark: "… (shortened)" would leave a 24-character title almost nothing.
CUT = "…"
TITLE = "studybot"
SUBMIT = "Send"
CANCEL = "Cancel"
CLOSE = "Close"


def cut(text: str, limit: int) -> str:
    """Plain `text` within `limit` characters, ending in "…" when shortened."""
    return text if len(text) <= limit else text[: limit - len(CUT)].rstrip() + CUT


def _text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(plain(text), limit), "emoji": True}


def _mrkdwn(text: str) -> dict[str, Any]:
    # verbatim: Slack would otherwise link-ify URLs and channel names and parse "certain mentions" itself.
    return {"type": "mrkdwn", "text": shorten(mrkdwn_text(text), SECTION_TEXT_MAX), "verbatim": True}


def _element(field: FormField) -> dict[str, Any]:
    if field.kind is FieldKind.TEXT:
        element: dict[str, Any] = {"type": "plain_text_input", "action_id": field.name, "multiline": True}
        if field.max_chars > 0:
            element["max_length"] = min(field.max_chars, TEXT_INPUT_MAX)
        return element
    if not field.options:
        raise ValueError(f"form field {field.name!r} has no options: Slack needs at least one")
    if len(field.options) > OPTIONS_MAX:
        raise ValueError(
            f"form field {field.name!r} has {len(field.options)} options; Slack fits {OPTIONS_MAX}"
        )
    options = []
    for option in field.options:
        if not option.value or len(option.value) > OPTION_VALUE_MAX:
            raise ValueError(f"an option of form field {field.name!r} has no value or one too long for Slack")
        options.append({"text": _text(option.label or option.value, OPTION_TEXT_MAX), "value": option.value})
    kind = "radio_buttons" if field.kind is FieldKind.ONE else "checkboxes"
    return {"type": kind, "action_id": field.name, "options": options}


def _input(field: FormField) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": field.name,
        "label": _text(field.label or field.name, LABEL_MAX),
        "element": _element(field),
        # None ticked is a valid answer to checkboxes, so they are never required.
        "optional": field.kind is FieldKind.MANY or not field.required,
    }
    if field.hint:
        block["hint"] = _text(field.hint, HINT_MAX)
    return block


def form_view(form: Form, channel_id: str) -> dict[str, Any]:
    """`form` as a modal whose submission names its command, arguments and the channel it was opened from.

    Raises ValueError when it cannot fit Slack's limits (too many fields or options, ids too long).
    """
    blocks: list[dict[str, Any]] = []
    if form.intro:
        blocks.append({"type": "section", "text": _mrkdwn(form.intro)})
    names = [f.name for f in form.fields]
    if len(set(names)) != len(names) or not all(0 < len(n) <= 255 for n in names):
        raise ValueError("form fields need distinct names of 1 to 255 characters (Slack block ids)")
    blocks.extend(_input(f) for f in form.fields)
    if len(blocks) > VIEW_BLOCKS_MAX:
        raise ValueError(f"form {form.title!r} has {len(form.fields)} fields; a Slack modal fits fewer")
    if len(channel_id) > PRIVATE_METADATA_MAX:
        raise ValueError("the channel id does not fit a modal's private_metadata")
    if not blocks:  # a modal shows at least one block
        blocks.append({"type": "section", "text": _mrkdwn(form.title or TITLE)})
    return {
        "type": "modal",
        "callback_id": encode_command(form.command, form.args, f"form {form.title!r}"),
        "private_metadata": channel_id,
        "title": _text(form.title or TITLE, VIEW_TITLE_MAX),
        "submit": _text(SUBMIT, VIEW_TITLE_MAX),
        "close": _text(CANCEL, VIEW_TITLE_MAX),
        "blocks": blocks,
    }


def reply_view(reply: Reply, channel_id: str) -> dict[str, Any]:
    """A modal showing `reply` (its text, cards and buttons), with only a close button.

    Its files cannot be shown in a modal: the app sends them to the member's direct messages.
    """
    message = render(reply)
    fallback = {"type": "mrkdwn", "text": message.text, "verbatim": True}  # escaped by render()
    blocks = message.blocks or [{"type": "section", "text": fallback}]
    return {
        "type": "modal",
        "private_metadata": channel_id,
        "title": _text(TITLE, VIEW_TITLE_MAX),
        "close": _text(CLOSE, VIEW_TITLE_MAX),
        # A message holds 50 blocks, a modal 100: what render() gives always fits.
        "blocks": blocks,
    }


def submitted_command(view: dict[str, Any]) -> tuple[str, tuple[str, ...]] | None:
    """The command and arguments a submitted modal carries, or None when it is not one of studybot's."""
    return decode_action(str(view.get("callback_id") or ""))


def answers(view: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    """A submitted modal's state as the form's answers by field name: a radio button's value, the ticked
    checkboxes' values joined by ",", the text as typed (newlines kept); "" for what was left empty."""
    found: list[tuple[str, str]] = []
    values = (view.get("state") or {}).get("values") or {}
    for block in values.values():
        for name, state in (block or {}).items():
            kind = state.get("type")
            if kind == "radio_buttons":
                found.append((name, str((state.get("selected_option") or {}).get("value") or "")))
            elif kind == "checkboxes":
                chosen = state.get("selected_options") or []
                found.append((name, ",".join(str(o.get("value") or "") for o in chosen)))
            elif kind == "plain_text_input":
                found.append((name, str(state.get("value") or "")))
    return tuple(found)


def error_block(view: dict[str, Any]) -> str | None:
    """The input block an error about the submission is shown under: the text field, else the first one."""
    values: dict[str, dict[str, Any]] = (view.get("state") or {}).get("values") or {}
    for block_id, block in values.items():
        if any((s or {}).get("type") == "plain_text_input" for s in (block or {}).values()):
            return block_id
    return next(iter(values), None)


def error_text(text: str) -> str:
    """The core's error as the plain text Slack shows under a field, shortened visibly."""
    return shorten(plain(text), ERROR_TEXT_MAX) or "That did not work."

"""An aiohttp fake of Slack on 127.0.0.1, so the real slack_sdk / slack-bolt async code paths run in tests.

``FakeSlack`` (an async context manager) serves, on a random free port:

* the Web API at ``/api/<method>`` (JSON or form bodies, token in the ``Authorization`` header or the body);
  every call is recorded in :attr:`FakeSlack.calls` as :class:`ApiCall` (method name, parsed args). Handled:
  ``auth.test``, ``chat.postMessage``, ``chat.update``, ``chat.postEphemeral``, ``views.publish``,
  ``users.info`` (``is_admin`` / ``is_owner`` from :meth:`FakeSlack.set_user`), ``conversations.open``,
  ``files.getUploadURLExternal`` + ``files.completeUploadExternal`` (what ``files_upload_v2`` uses) and
  ``apps.connections.open``. Anything else answers ``{"ok": true}`` and is recorded in ``unhandled``.
* the upload URL handed out by ``files.getUploadURLExternal`` (``/upload/<file_id>``), storing the bytes in
  :attr:`FakeSlack.files`.
* ``response_url`` endpoints at ``/response/<id>`` (see :meth:`FakeSlack.new_response_url`), recording each
  POSTed JSON in :attr:`FakeSlack.responses`.
* Socket Mode at ``ws://127.0.0.1:PORT/socket``: sends ``hello``, then the test pushes envelopes with
  :meth:`FakeSlack.socket_send` and awaits the client's ack with :meth:`FakeSlack.wait_for_ack`.

Pointing the real libraries at it::

    client = AsyncWebClient(token="xoxb-test", base_url=fake.api_url)      # api_url ends with "/"
    app = AsyncApp(client=client, signing_secret=fake.signing_secret)       # no auth.test until a request
    handler = AsyncSocketModeHandler(app, app_token="xapp-test")            # uses app.client for
                                                                            # apps.connections.open

HTTP mode: ``url = await fake.serve_app(app)`` serves the AsyncApp's own aiohttp ``web_app()`` on
127.0.0.1:0. ``send_slash_command`` / ``send_interactive`` / ``send_event`` (``retry_num=`` adds
``X-Slack-Retry-Num``) sign the exact bytes they send; ``sign()`` + ``post_to()`` do the same for a hand-made
body. Bolt's AsyncApp calls ``auth.test`` lazily, on its first request, and keeps the result. Bolt exposes
the retry number only as the lower-cased request header (``request.headers["x-slack-retry-num"] == ["1"]``),
not in the context.

Views: ``views.open`` takes a trigger_id only from an interaction the fake sent (slash command, click,
submission), once, within ``trigger_seconds`` (3) of sending it by ``fake.now`` (replaceable: a test moves
it on to let triggers expire; an expired one answers ``expired_trigger_id`` and is no refusal, an unknown
or reused one is). Opened views are kept in ``views`` (by id, as Slack holds them) and ``opened``;
``views.update`` replaces one. ``submit_view(view_id, answers, app_url=...)`` fills a view in as a member
would (refusing what Slack's client would not let them send) and sends Slack's ``view_submission`` payload
over HTTP (or Socket Mode without ``app_url``); it returns the app's answer (``{"response_action": ...}``,
``{}`` for a plain ack) and holds it to Slack's rules. ``view_block_actions_payload(view, action_id)`` is a
click inside a modal.

Socket Mode: ``socket_send(type, payload) -> envelope_id``, ``wait_for_ack(envelope_id)``,
``socket_disconnect()`` (the client reconnects via ``apps.connections.open``), ``wait_for_connections(n)``.

Slack's published contract is enforced on everything the bot sends: the text and blocks of ``chat.*`` and
``response_url`` posts (and Socket Mode ack payloads), the view of ``views.*``, a file's ``initial_comment``.
Each block is parsed with slack_sdk's own ``Block.parse`` (a view with ``View``), validated by ``to_dict()``,
and compared with what it gave: an unknown type or a field the model drops is refused. Added to that: the
plain_text-only slots, one primary button per actions block, 50 blocks per message, 2,000 characters per
section field, unique action and block ids, image files that exist, and escaping: no raw ``<``, ``>`` or
``&`` in any mrkdwn text or fallback ``text`` outside a ``<https://...|label>`` link. A refusal answers as
Slack does (Web API: HTTP 200 ``{"ok": false, "error": "invalid_blocks", "errors": [...],
"response_metadata": {"messages": [...]}}``, so slack_sdk raises SlackApiError; ``views.*``:
``invalid_arguments``; response_url: HTTP 400 with the error name), is kept in :attr:`FakeSlack.refusals`,
and fails the test when the fake exits, even if the bot swallowed the error;
``FakeSlack(allow_refusals=True)`` leaves them to a test that sends broken payloads on purpose.

``fail_next(method, ...)`` injects a 429 (with ``Retry-After``) or an ``{"ok": false, "error": ...}``.
Note: ``AsyncWebClient`` retries 429 only when built with
``retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=1)]``; by default it only retries
connection errors, so a 429 surfaces as ``SlackApiError`` (``error == "ratelimited"``). The handler waits
``Retry-After + random()`` seconds, so use ``retry_after=0`` in tests.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ContextBlock,
    ImageElement,
    InteractiveElement,
    Option,
    TextObject,
)
from slack_sdk.models.views import View

TEAM_ID = "T0FAKE"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
USER_ID = "U0USER"
CHANNEL_ID = "C0GENERAL"
DEFAULT_SIGNING_SECRET = "fake-signing-secret"
_JSON_ARGS = {"blocks", "attachments", "view", "files", "metadata"}


# ---------------------------------------------------------------- Slack's published contract
# Slack shows at most 50 blocks in a message (Block Kit reference); slack_sdk's View checks a view's 100.
MESSAGE_BLOCKS_MAX = 50
# Slack refuses a message whose top-level text passes 40,000 characters (chat.postMessage: msg_too_long).
MESSAGE_TEXT_MAX = 40_000
# A section field holds at most 2,000 characters (section block reference); slack_sdk checks only `text`.
SECTION_FIELD_TEXT_MAX = 2000
# "primary" is for one button within a set (button element reference): more and none stands out.
PRIMARY_BUTTONS_MAX = 1
# Slots that take a plain_text object only (Block Kit reference); slack_sdk takes mrkdwn there silently.
PLAIN_TEXT_ONLY = {"header": ("text",), "button": ("text",), "input": ("label", "hint"), "image": ("title",)}
VIEW_PLAIN_TEXT_ONLY = ("title", "submit", "close")
# The one control sequence the bot sends on purpose: a link, `<https://...|label>` (adapters/slack/render.py).
# Mentions (<@U..>, <#C..>, <!here>, <!subteam^..>) and <!date..> never are: every name it shows comes from
# members, so one of those in its output is member text being obeyed.
LINK = re.compile(r"<(https?://[^\s<>|]+)(?:\|([^<>]*))?>")
# Slack decodes only &amp; &lt; &gt; ("Escaping text" in its formatting guide); any other & must be &amp;.
BARE_AMPERSAND = re.compile(r"&(?!(?:amp|lt|gt);)")
# Characters quoted either side of an unescaped character in a refusal: enough to find it, never a whole text.
EXCERPT_SIDE = 30
# Web API methods whose arguments are a message (text, blocks) or a view.
MESSAGE_METHODS = {"chat.postMessage", "chat.postEphemeral", "chat.update", "chat.scheduleMessage"}
VIEW_METHODS = {"views.publish", "views.open", "views.update", "views.push"}
# Radio buttons and checkboxes hold 1 to 10 options (their element references); slack_sdk checks neither
# the count nor, inside them, each option's 75-character text and 150-character value.
CHOICE_OPTIONS_MAX = 10
CHOICE_ELEMENTS = {"radio_buttons", "checkboxes"}
# A plain_text_input's min_length and max_length lie within 0..3,000 and 1..3,000 (plain-text input
# reference); slack_sdk checks neither.
TEXT_INPUT_MAX = 3000
# A trigger_id may open one view, within 3 seconds of the interaction that gave it (modals guide).
TRIGGER_SECONDS = 3.0
# A view_submission must be answered within 3 seconds, or Slack shows the member an error and drops the
# answer (modals guide, "Handling submissions").
ACK_SECONDS = 3.0
# What a view_submission may answer (response_action values; none or an empty body closes the modal).
RESPONSE_ACTIONS = {"errors", "update", "push", "clear"}
# What the models raise on a payload they cannot take (a missing or unexpected argument, a wrong shape).
MODEL_ERRORS = (SlackObjectFormationError, TypeError, KeyError, ValueError, AttributeError)


@dataclass
class Refusal:
    """A request the fake refused as the real Slack would (or as its published rules say it must be)."""

    where: str  # the Web API method, "response_url" or "socket_ack"
    error: str
    messages: list[str]
    payload: Any


class ContractViolation(Exception):
    """A payload breaks Slack's published contract: `error` is Slack's error name, `messages` the details."""

    def __init__(self, error: str, messages: list[str]) -> None:
        super().__init__(f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = messages


def escaping_problems(text: str, pointer: str) -> list[str]:
    """Name every raw ``<``, ``>`` or ``&`` in mrkdwn ``text`` outside the links the bot may send."""
    problems = []
    outside = LINK.sub(lambda m: m[2] or "", text)  # a link's label is text, and must be escaped too
    angle = re.search(r"[<>]", outside)
    if angle:
        problems.append(
            f"raw {angle[0]!r} outside a link, Slack reads it as a mention or link: "
            f"{_excerpt(outside, angle.start())} [json-pointer:{pointer}]"
        )
    for part in (outside, *(m[1] for m in LINK.finditer(text))):
        amp = BARE_AMPERSAND.search(part)
        if amp:
            problems.append(
                f"raw '&' that starts no &amp; &lt; &gt; entity: {_excerpt(part, amp.start())} "
                f"[json-pointer:{pointer}]"
            )
            break
    return problems


def _excerpt(text: str, at: int) -> str:
    """A short quote of ``text`` around ``at``, so a refusal names what to fix without echoing it all."""
    return repr(text[max(0, at - EXCERPT_SIDE) : at + EXCERPT_SIDE])


def _kept(given: Any, kept: Any, pointer: str) -> list[str]:
    """Name what the model dropped or changed of ``given``: a field Slack does not know, or a wrong value."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [f"not a valid object here [json-pointer:{pointer}]"]
        problems = []
        for key, value in given.items():
            if key in kept:
                problems += _kept(value, kept[key], f"{pointer}/{key}")
            elif value in ("", [], {}, None):
                problems.append(f"must not be empty [json-pointer:{pointer}/{key}]")
            else:
                problems.append(f"unknown or unsupported field [json-pointer:{pointer}/{key}]")
        return problems
    if isinstance(given, list):
        if not isinstance(kept, list) or len(kept) != len(given):
            return [f"not a valid array here [json-pointer:{pointer}]"]
        return [
            p for i, (g, k) in enumerate(zip(given, kept, strict=True)) for p in _kept(g, k, f"{pointer}/{i}")
        ]
    if type(given) is not type(kept) or given != kept:
        return [f"invalid value {given!r} [json-pointer:{pointer}]"]
    return []


def _walk(node: Any, pointer: str) -> list[tuple[dict[str, Any], str]]:
    """Every object in ``node`` with its JSON pointer, outermost first."""
    found: list[tuple[dict[str, Any], str]] = []
    if isinstance(node, dict):
        found.append((node, pointer))
        for key, value in node.items():
            found += _walk(value, f"{pointer}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found += _walk(value, f"{pointer}/{i}")
    return found


def _rules(raw: dict[str, Any], pointer: str, file_ok: Callable[[str], bool]) -> list[str]:
    """The published rules slack_sdk's models do not check, over one raw block."""
    problems = []
    action_ids: set[str] = set()
    for node, at in _walk(raw, pointer):
        kind = node.get("type")
        for slot in PLAIN_TEXT_ONLY.get(str(kind), ()):
            if isinstance(node.get(slot), dict) and node[slot].get("type") != "plain_text":
                problems.append(f"must be a plain_text object [json-pointer:{at}/{slot}]")
        placeholder = node.get("placeholder")
        if isinstance(placeholder, dict) and placeholder.get("type") != "plain_text":
            problems.append(f"must be a plain_text object [json-pointer:{at}/placeholder]")
        if kind == "mrkdwn" and isinstance(node.get("text"), str):
            problems += escaping_problems(node["text"], f"{at}/text")
        slack_file = node.get("slack_file")
        if isinstance(slack_file, dict) and "id" in slack_file and not file_ok(str(slack_file["id"])):
            problems.append(f"no such uploaded file [json-pointer:{at}/slack_file/id]")
        if kind in CHOICE_ELEMENTS:
            problems += _choice_problems(node, at)
        if kind == "plain_text_input":
            problems += _text_input_problems(node, at)
        action_id = node.get("action_id")
        if isinstance(action_id, str) and at != pointer:
            if action_id in action_ids:
                problems.append(f"duplicate action_id in one block [json-pointer:{at}/action_id]")
            action_ids.add(action_id)
    if raw.get("type") == "section":
        for i, item in enumerate(raw.get("fields") or []):
            if isinstance(item, dict) and len(str(item.get("text", ""))) > SECTION_FIELD_TEXT_MAX:
                problems.append(
                    f"more than {SECTION_FIELD_TEXT_MAX} characters [json-pointer:{pointer}/fields/{i}/text]"
                )
    if raw.get("type") == "actions":
        styles = [e.get("style") for e in raw.get("elements") or [] if isinstance(e, dict)]
        if styles.count("primary") > PRIMARY_BUTTONS_MAX:
            problems.append(
                f"at most one button of a set may be styled primary [json-pointer:{pointer}/elements]"
            )
    return problems


def _choice_problems(node: dict[str, Any], at: str) -> list[str]:
    """Radio buttons or checkboxes: 1 to 10 options, each valid by slack_sdk's Option model."""
    options = node.get("options")
    if not isinstance(options, list) or not 1 <= len(options) <= CHOICE_OPTIONS_MAX:
        return [f"must hold 1 to {CHOICE_OPTIONS_MAX} options [json-pointer:{at}/options]"]
    problems = []
    for i, option in enumerate(options):
        try:
            Option(**option).validate_json()
        except MODEL_ERRORS as exc:
            problems.append(f"{exc} [json-pointer:{at}/options/{i}]")
    return problems


def _text_input_problems(node: dict[str, Any], at: str) -> list[str]:
    """A plain_text_input's length bounds: min 0..3,000, max 1..3,000, min <= max."""
    low, high = node.get("min_length", 0), node.get("max_length", TEXT_INPUT_MAX)
    if not (
        isinstance(low, int) and isinstance(high, int) and 0 <= low <= high and 1 <= high <= TEXT_INPUT_MAX
    ):
        return [f"min_length/max_length must lie within 0..{TEXT_INPUT_MAX}, min <= max [json-pointer:{at}]"]
    return []


def block_problems(raw: Any, pointer: str, file_ok: Callable[[str], bool]) -> list[str]:
    """Check one block with slack_sdk's own models (validation and round trip) and the rules they skip."""
    if not isinstance(raw, dict):
        return [f"a block must be an object [json-pointer:{pointer}]"]
    try:
        model = Block.parse(raw)
        if model is None:
            return [f"unsupported block type {raw.get('type')!r} [json-pointer:{pointer}/type]"]
        kept = model.to_dict()  # validates the block and every element and text object in it
    except MODEL_ERRORS as exc:
        return [f"{exc} [json-pointer:{pointer}]"]
    problems = _kept(raw, kept, pointer)
    if isinstance(model, ActionsBlock) and not all(isinstance(e, InteractiveElement) for e in model.elements):
        problems.append(f"an actions block holds interactive elements only [json-pointer:{pointer}/elements]")
    if isinstance(model, ContextBlock) and not all(
        isinstance(e, ImageElement | TextObject) for e in model.elements
    ):
        problems.append(f"a context block holds images and text only [json-pointer:{pointer}/elements]")
    return problems + _rules(raw, pointer, file_ok)


def blocks_problems(
    blocks: Any, pointer: str, file_ok: Callable[[str], bool], limit: int | None = MESSAGE_BLOCKS_MAX
) -> list[str]:
    """Check a list of blocks; raise ``invalid_blocks_format`` when it is not a JSON array of objects."""
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            raise ContractViolation("invalid_blocks_format", [f"not JSON [json-pointer:{pointer}]"]) from None
    if not isinstance(blocks, list):
        raise ContractViolation("invalid_blocks_format", [f"must be an array [json-pointer:{pointer}]"])
    problems = []
    if limit is not None and len(blocks) > limit:
        problems.append(f"no more than {limit} items allowed [json-pointer:{pointer}]")
    block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        problems += block_problems(raw, f"{pointer}/{i}", file_ok)
        block_id = raw.get("block_id") if isinstance(raw, dict) else None
        if isinstance(block_id, str):
            if block_id in block_ids:
                problems.append(f"duplicate block_id [json-pointer:{pointer}/{i}/block_id]")
            block_ids.add(block_id)
    return problems


def check_message(
    args: dict[str, Any], file_ok: Callable[[str], bool], *, text_required: bool = True
) -> None:
    """Raise ContractViolation, with Slack's error name, when a message's text or blocks break the rules."""
    blocks = args.get("blocks")
    if blocks is not None:
        problems = blocks_problems(blocks, "/blocks", file_ok)
        if problems:
            raise ContractViolation("invalid_blocks", problems)
    text = args.get("text")
    if text_required and not text and not blocks and not args.get("attachments"):
        raise ContractViolation("no_text", ["a message needs text or blocks [json-pointer:/text]"])
    if text is None:
        return
    if not isinstance(text, str):
        raise ContractViolation("invalid_arguments", ["must be a string [json-pointer:/text]"])
    if len(text) > MESSAGE_TEXT_MAX:
        raise ContractViolation(
            "msg_too_long", [f"more than {MESSAGE_TEXT_MAX} characters [json-pointer:/text]"]
        )
    problems = escaping_problems(text, "/text")
    if problems:
        raise ContractViolation("invalid_arguments", problems)


def check_view(view: Any, file_ok: Callable[[str], bool], *, modal: bool = False) -> None:
    """Raise ContractViolation (``invalid_arguments``, as views.* answer) when a view breaks the contract;
    ``modal``: only a modal may be opened, pushed or updated (a home tab is published)."""
    if isinstance(view, str):
        try:
            view = json.loads(view)
        except ValueError:
            raise ContractViolation("invalid_arguments", ["not JSON [json-pointer:/view]"]) from None
    if not isinstance(view, dict):
        raise ContractViolation("invalid_arguments", ["must be an object [json-pointer:/view]"])
    problems = [
        f"unknown or unsupported field [json-pointer:/view/{k}]" for k in view.keys() - View.attributes
    ]
    try:
        model = View(**view)
        model.validate_json()  # the view's own limits: type, 1..100 blocks, title, submit, close
        for slot in VIEW_PLAIN_TEXT_ONLY:
            if slot in view:
                problems += _kept(view[slot], getattr(model, slot).to_dict(), f"/view/{slot}")
                if isinstance(view[slot], dict) and view[slot].get("type") != "plain_text":
                    problems.append(f"must be a plain_text object [json-pointer:/view/{slot}]")
    except MODEL_ERRORS as exc:
        problems.append(f"{exc} [json-pointer:/view]")
    try:
        problems += blocks_problems(view.get("blocks"), "/view/blocks", file_ok, limit=None)
    except ContractViolation as bad:
        problems += bad.messages
    if modal and view.get("type") != "modal":
        problems.append("must be a modal [json-pointer:/view/type]")
    blocks = view.get("blocks")
    inputs = isinstance(blocks, list) and any(
        isinstance(b, dict) and b.get("type") == "input" for b in blocks
    )
    if inputs and view.get("type") == "modal" and not view.get("submit"):
        problems.append("a modal with input blocks needs a submit button [json-pointer:/view/submit]")
    if problems:
        raise ContractViolation("invalid_arguments", problems)


@dataclass
class ApiCall:
    method: str
    args: dict[str, Any]
    token: str | None = None


@dataclass
class _Failure:
    status: int
    error: str | None
    retry_after: int | float | str | None


@dataclass
class FakeUser:
    id: str
    name: str = "someone"
    is_admin: bool = False
    is_owner: bool = False
    tz: str = "UTC"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "team_id": TEAM_ID,
            "name": self.name,
            "real_name": self.name,
            "is_admin": self.is_admin,
            "is_owner": self.is_owner,
            "is_bot": False,
            "tz": self.tz,
            "profile": {"display_name": self.name, "real_name": self.name},
            **self.extra,
        }


_TRIGGERS = itertools.count(1)


def new_trigger_id() -> str:
    """A trigger_id as Slack hands one out with each interaction: unique, usable once (views.open)."""
    return f"{next(_TRIGGERS)}.{int(time.time())}.{secrets.token_hex(8)}"


def sign(body: bytes | str, secret: str, timestamp: int | None = None) -> dict[str, str]:
    """Headers Slack sends with an HTTP-mode request: v0 HMAC-SHA256 of ``v0:{timestamp}:{body}``."""
    if isinstance(body, str):
        body = body.encode()
    ts = str(int(time.time()) if timestamp is None else timestamp)
    base = b"v0:" + ts.encode() + b":" + body
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


def slash_command_body(
    command: str,
    text: str = "",
    *,
    response_url: str,
    user_id: str = USER_ID,
    user_name: str = "someone",
    channel_id: str = CHANNEL_ID,
    team_id: str = TEAM_ID,
    trigger_id: str | None = None,
) -> dict[str, str]:
    """The fields of a slash command (form-encode them for HTTP mode; Socket Mode sends them as they are)."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "fake",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": "A0FAKE",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id or new_trigger_id(),
    }


def block_actions_payload(
    action_id: str,
    value: str = "",
    *,
    response_url: str,
    user_id: str = USER_ID,
    channel_id: str = CHANNEL_ID,
    block_id: str = "block",
    message_ts: str = "1700000000.000100",
    trigger_id: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` interactive payload (HTTP mode: send as the ``payload=`` form field)."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "someone", "name": "someone", "team_id": TEAM_ID},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
        "trigger_id": trigger_id or new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": "fake"},
        "channel": {"id": channel_id, "name": "general"},
        "message": {"type": "message", "ts": message_ts, "text": "", "blocks": []},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def view_block_actions_payload(
    view: dict[str, Any], action_id: str, value: str = "", *, user_id: str = USER_ID, block_id: str = "block"
) -> dict[str, Any]:
    """A ``block_actions`` payload for a button clicked inside a modal: Slack sends the view, and no
    channel, message or response_url."""
    return {
        "type": "block_actions",
        "user": {"id": user_id, "username": "someone", "name": "someone", "team_id": TEAM_ID},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": view["id"]},
        "trigger_id": new_trigger_id(),
        "team": {"id": TEAM_ID, "domain": "fake"},
        "is_enterprise_install": False,
        "enterprise": None,
        "view": view,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": block_id,
                "value": value,
                "action_ts": str(time.time()),
            }
        ],
    }


def view_submission_payload(view: dict[str, Any], *, user_id: str = USER_ID) -> dict[str, Any]:
    """A ``view_submission`` payload for ``view`` as Slack holds it (its id, hash and filled-in state)."""
    return {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "fake"},
        "user": {"id": user_id, "username": "someone", "name": "someone", "team_id": TEAM_ID},
        "api_app_id": "A0FAKE",
        "token": "legacy-verification-token",
        "trigger_id": new_trigger_id(),
        "view": view,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def event_callback_body(event: dict[str, Any], *, event_id: str = "Ev0FAKE") -> dict[str, Any]:
    """An Events API ``event_callback`` envelope around ``event``."""
    return {
        "token": "legacy-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": "A0FAKE",
        "event": event,
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True}],
    }


def app_home_opened_event(user_id: str = USER_ID) -> dict[str, Any]:
    return {
        "type": "app_home_opened",
        "user": user_id,
        "channel": "D0" + user_id,
        "tab": "home",
        "event_ts": str(time.time()),
    }


class FakeSlack:
    """See the module docstring."""

    def __init__(self, *, signing_secret: str = DEFAULT_SIGNING_SECRET, allow_refusals: bool = False) -> None:
        self.signing_secret = signing_secret
        self.allow_refusals = allow_refusals
        self.refusals: list[Refusal] = []
        self.calls: list[ApiCall] = []
        self.unhandled: list[ApiCall] = []
        self.users: dict[str, FakeUser] = {USER_ID: FakeUser(USER_ID)}
        self.files: dict[str, dict[str, Any]] = {}
        self.responses: dict[str, list[Any]] = {}
        self.acks: dict[str, dict[str, Any]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = itertools.count(1)
        self._ids = itertools.count(1)
        self._ack_waiters: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._sockets: list[web.WebSocketResponse] = []
        self._socket_connected = asyncio.Event()
        self.socket_connections = 0
        self._call_event = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._app_runners: list[web.AppRunner] = []
        self._session: aiohttp.ClientSession | None = None
        self.port = 0
        # Views: the fake's clock for trigger_ids (a test may replace it to let them expire), the trigger_ids
        # it handed out (-> when) and those used, the views Slack holds by id (as a submission sends them),
        # the ones views.open opened, those closed, and each submission with the app's answer.
        self.now: Callable[[], float] = time.monotonic
        self.trigger_seconds = TRIGGER_SECONDS
        self._triggers: dict[str, float] = {}
        self._exchanged: set[str] = set()
        self.expired_triggers: list[str] = []
        self.views: dict[str, dict[str, Any]] = {}
        self.opened: list[dict[str, Any]] = []
        self.closed: set[str] = set()
        self.submissions: list[tuple[dict[str, Any], dict[str, Any]]] = []

    # ---------------------------------------------------------------- lifecycle
    async def __aenter__(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, *exc: object) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._session is not None:
            await self._session.close()
        for runner in self._app_runners:
            await runner.cleanup()
        if self._runner is not None:
            await self._runner.cleanup()
        # The bot may swallow a refusal (log it, answer "Something went wrong"): the test still fails.
        if self.refusals and not self.allow_refusals and exc_type is None:
            raise AssertionError(
                "the fake Slack refused what the real Slack would refuse:\n"
                + "\n".join(f"{r.where}: {r.error}: {'; '.join(r.messages)}" for r in self.refusals)
            )

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as ``base_url=`` to ``AsyncWebClient`` (the trailing slash matters)."""
        return f"{self.base_url}/api/"

    @property
    def socket_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/socket"

    # ---------------------------------------------------------------- configuration
    def set_user(self, user_id: str, **fields: Any) -> FakeUser:
        user = self.users.get(user_id) or FakeUser(user_id)
        for key, value in fields.items():
            if hasattr(user, key) and key != "extra":
                setattr(user, key, value)
            else:
                user.extra[key] = value
        self.users[user_id] = user
        return user

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int | float | str | None = 1,
        error: str | None = None,
    ) -> None:
        """Make the next call of ``method`` fail: a 429 with ``Retry-After`` (default), or, with ``error``,
        an HTTP 200 ``{"ok": false, "error": error}`` (e.g. ``error="not_in_channel"``)."""
        if error is not None:
            status = 200
        self._failures.setdefault(method, []).append(_Failure(status, error, retry_after))

    # ---------------------------------------------------------------- queries
    def calls_to(self, method: str) -> list[ApiCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for_call(self, method: str, timeout: float = 5.0) -> ApiCall:  # noqa: ASYNC109
        """Wait until ``method`` has been called (returns its first call)."""

        async def _wait() -> ApiCall:
            async with self._call_event:
                await self._call_event.wait_for(lambda: bool(self.calls_to(method)))
                return self.calls_to(method)[0]

        return await asyncio.wait_for(_wait(), timeout)

    def new_response_url(self) -> str:
        rid = f"R{next(self._ids)}"
        self.responses[rid] = []
        return f"{self.base_url}/response/{rid}"

    def responses_to(self, response_url: str) -> list[Any]:
        return self.responses.get(response_url.rsplit("/", 1)[-1], [])

    async def wait_for_response(self, response_url: str, timeout: float = 5.0) -> Any:  # noqa: ASYNC109
        """Wait until something has been POSTed to ``response_url`` (returns the first body)."""
        rid = response_url.rsplit("/", 1)[-1]

        def refused() -> list[Refusal]:
            return [r for r in self.refusals if r.where == f"response_url {rid}"]

        async def _wait() -> Any:
            async with self._call_event:
                await self._call_event.wait_for(lambda: bool(self.responses.get(rid) or refused()))
                if not self.responses.get(rid):
                    bad = refused()[0]
                    raise AssertionError(f"the fake Slack refused the response: {bad.error}: {bad.messages}")
                return self.responses[rid][0]

        return await asyncio.wait_for(_wait(), timeout)

    # ---------------------------------------------------------------- HTTP mode helpers
    async def serve_app(self, bolt_app: Any, path: str = "/slack/events") -> str:
        """Serve an ``AsyncApp`` over real HTTP (its own ``web_app()``, i.e. slack_bolt's aiohttp server) on
        127.0.0.1 with a free port until the fake exits; returns the URL to POST requests to."""
        runner = web.AppRunner(bolt_app.web_app(path=path))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        self._app_runners.append(runner)
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}{path}"

    def sign(
        self, body: bytes | str, secret: str | None = None, timestamp: int | None = None
    ) -> dict[str, str]:
        return sign(body, self.signing_secret if secret is None else secret, timestamp)

    async def post_to(
        self, app_url: str, body: bytes | str, headers: dict[str, str] | None = None
    ) -> tuple[int, str, dict[str, str]]:
        """POST ``body`` exactly as given to the app; returns (status, response text, response headers)."""
        if self._session is None:
            self._session = aiohttp.ClientSession()
        data = body.encode() if isinstance(body, str) else body
        async with self._session.post(app_url, data=data, headers=headers or {}) as resp:
            return resp.status, await resp.text(), dict(resp.headers)

    async def send_slash_command(
        self,
        app_url: str,
        command: str,
        text: str = "",
        *,
        secret: str | None = None,
        **fields: str,
    ) -> tuple[int, str, str]:
        """Sign and send a slash command to an HTTP-mode app; returns (status, body, response_url)."""
        response_url = fields.pop("response_url", None) or self.new_response_url()
        sent = slash_command_body(command, text, response_url=response_url, **fields)
        self._issue(sent)
        body = urllib.parse.urlencode(sent)
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body, secret)}
        status, text_out, _ = await self.post_to(app_url, body, headers)
        return status, text_out, response_url

    async def send_interactive(
        self, app_url: str, payload: dict[str, Any], *, secret: str | None = None
    ) -> tuple[int, str]:
        self._issue(payload)
        body = urllib.parse.urlencode({"payload": json.dumps(payload)})
        headers = {"Content-Type": "application/x-www-form-urlencoded", **self.sign(body, secret)}
        status, text_out, _ = await self.post_to(app_url, body, headers)
        return status, text_out

    async def send_event(
        self,
        app_url: str,
        body: dict[str, Any],
        *,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        secret: str | None = None,
    ) -> tuple[int, str, dict[str, str]]:
        raw = json.dumps(body)
        headers = {"Content-Type": "application/json", **self.sign(raw, secret)}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason
        return await self.post_to(app_url, raw, headers)

    # ---------------------------------------------------------------- views
    def _issue(self, payload: Mapping[str, Any]) -> None:
        """Note the trigger_id of an interaction the fake sends: views.open takes it once, for a while."""
        trigger = payload.get("trigger_id")
        if isinstance(trigger, str) and trigger:
            self._triggers.setdefault(trigger, self.now())

    def _store_view(self, view: dict[str, Any], view_id: str | None = None) -> dict[str, Any]:
        """Keep ``view`` as Slack holds it: with an id, a new hash and an empty state."""
        view_id = view_id or f"V{next(self._ids)}"
        stored = {
            "id": view_id,
            "team_id": TEAM_ID,
            "callback_id": "",
            "private_metadata": "",
            "external_id": "",
            "clear_on_close": False,
            "notify_on_close": False,
            **view,
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(6)}",
            "previous_view_id": None,
            "root_view_id": view_id,
            "app_id": "A0FAKE",
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }
        self.views[view_id] = stored
        self.closed.discard(view_id)
        return stored

    def _refuse(self, where: str, error: str, message: str, payload: Any) -> dict[str, Any]:
        self.refusals.append(Refusal(where, error, [message], payload))
        return {"ok": False, "error": error}

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = str(args.get("trigger_id") or "")
        issued = self._triggers.get(trigger)
        if issued is None:
            return self._refuse("views.open", "invalid_trigger_id", f"no interaction gave {trigger!r}", args)
        if trigger in self._exchanged:
            return self._refuse("views.open", "exchanged_trigger_id", f"{trigger!r} was used already", args)
        if self.now() - issued > self.trigger_seconds:
            self.expired_triggers.append(trigger)  # a slow app's lot, not a broken request: no refusal
            return {"ok": False, "error": "expired_trigger_id"}
        self._exchanged.add(trigger)
        stored = self._store_view(self._maybe_json(args["view"]))
        self.opened.append(stored)
        return {"ok": True, "view": stored}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = str(args.get("view_id") or "")
        held = self.views.get(view_id)
        if held is None or view_id in self.closed:
            return {"ok": False, "error": "not_found"}
        if args.get("hash") and args["hash"] != held["hash"]:
            return {"ok": False, "error": "hash_conflict"}
        return {"ok": True, "view": self._store_view(self._maybe_json(args["view"]), view_id)}

    @staticmethod
    def _state(view: dict[str, Any], answers: Mapping[str, str | Sequence[str] | None]) -> dict[str, Any]:
        """``answers`` (by block_id) as the state.values Slack sends, refusing what its client would not let a
        member submit: an option not offered, a required field left empty, text outside its lengths."""
        inputs = {b["block_id"]: b for b in view.get("blocks", []) if b.get("type") == "input"}
        unknown = answers.keys() - inputs.keys()
        if unknown:
            raise ValueError(f"the view has no inputs {sorted(unknown)}")
        values: dict[str, Any] = {}
        for block_id, block in inputs.items():
            element, given = block["element"], answers.get(block_id)
            kind = element["type"]
            picked: list[str] = [] if not given else [given] if isinstance(given, str) else list(given)
            if not picked and not block.get("optional"):
                raise ValueError(f"Slack does not submit a form whose required {block_id!r} is empty")
            if kind in CHOICE_ELEMENTS:
                offered = {o["value"]: o for o in element["options"]}
                if any(p not in offered for p in picked) or (kind == "radio_buttons" and len(picked) > 1):
                    raise ValueError(f"{picked} are not choices Slack offers in {block_id!r}")
                chosen = [o for v, o in offered.items() if v in picked]
                state: dict[str, Any] = (
                    {"type": kind, "selected_option": chosen[0] if chosen else None}
                    if kind == "radio_buttons"
                    else {"type": kind, "selected_options": chosen}
                )
            elif kind == "plain_text_input":
                text = "".join(picked)
                if text and not element.get("min_length", 0) <= len(text) <= element.get("max_length", 3000):
                    raise ValueError(f"Slack's input stops the member at the lengths of {block_id!r}")
                state = {"type": kind, "value": text or None}
            else:
                raise ValueError(f"the fake does not fill in {kind!r} elements")
            values[block_id] = {element["action_id"]: state}
        return values

    async def submit_view(
        self,
        view_id: str,
        answers: Mapping[str, str | Sequence[str] | None],
        *,
        app_url: str | None = None,
        user_id: str = USER_ID,
    ) -> dict[str, Any]:
        """Submit an open view as a member filling it in (``answers`` by block_id: a radio value, checkbox
        values, text), as a ``view_submission`` over HTTP (``app_url``) or Socket Mode; returns the app's
        answer (``{}`` when it acked with nothing: the modal closes). The answer is held to Slack's rules:
        within 3 seconds, errors only for the view's inputs, a valid modal to update or push to."""
        held = self.views[view_id]
        if view_id in self.closed:
            raise ValueError(f"view {view_id} is closed")
        payload = view_submission_payload(
            {**held, "state": {"values": self._state(held, answers)}}, user_id=user_id
        )
        started = time.monotonic()
        if app_url is not None:
            status, body = await self.send_interactive(app_url, payload)
            if status != 200:
                raise AssertionError(f"the app answered a view_submission with HTTP {status}: {body[:200]}")
            response = json.loads(body) if body.strip() else {}
        else:
            envelope_id = await self.socket_send("interactive", payload)
            response = (await self.wait_for_ack(envelope_id)).get("payload") or {}
        self.submissions.append((payload, response))
        where = f"view_submission {view_id}"
        if time.monotonic() - started > ACK_SECONDS:
            self._refuse(where, "timeout", f"answered after more than {ACK_SECONDS} s", response)
            return response
        self._answered(where, held, response)
        return response

    def _answered(self, where: str, held: dict[str, Any], response: Any) -> None:
        """Hold the app's answer to a view_submission to Slack's rules, and apply it to the views."""
        action = response.get("response_action") if isinstance(response, dict) else None
        if not isinstance(response, dict) or (response and action not in RESPONSE_ACTIONS):
            self._refuse(where, "invalid_response", "not a response_action Slack knows", response)
            return
        if action == "errors":
            errors = response.get("errors")
            inputs = {b.get("block_id") for b in held.get("blocks", []) if b.get("type") == "input"}
            if not isinstance(errors, dict) or not errors:
                self._refuse(where, "invalid_response", "errors must map block_ids to messages", response)
            for block_id, message in (errors or {}).items() if isinstance(errors, dict) else ():
                if block_id not in inputs or not isinstance(message, str) or not message:
                    self._refuse(
                        where, "invalid_response", f"no input {block_id!r} to show an error", response
                    )
            return  # the modal stays open with what the member typed
        if action in ("update", "push"):
            try:
                check_view(response.get("view"), self._file_ok, modal=True)
            except ContractViolation as bad:
                self.refusals.append(Refusal(where, bad.error, bad.messages, response))
                return
            self._store_view(response["view"], held["id"] if action == "update" else None)
            return
        self.closed.add(held["id"])  # "clear", or a plain ack: the modal closes

    # ---------------------------------------------------------------- Socket Mode helpers
    async def wait_for_socket(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        await asyncio.wait_for(self._socket_connected.wait(), timeout)

    async def socket_send(
        self,
        type: str,
        payload: dict[str, Any],
        *,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 5.0,  # noqa: ASYNC109
    ) -> str:
        """Push an envelope (``slash_commands``, ``interactive``, ``events_api``) to the connected client."""
        await self.wait_for_socket(timeout)
        if type != "events_api":
            self._issue(payload)
        envelope_id = f"env-{next(self._ids)}"
        self._ack_waiters[envelope_id] = asyncio.get_running_loop().create_future()
        envelope = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": payload,
            "accepts_response_payload": type != "events_api",
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        return envelope_id

    async def socket_disconnect(self, reason: str = "refresh_requested") -> None:
        """Send Slack's ``disconnect``: the client then reconnects (a new ``apps.connections.open``)."""
        await self._sockets[-1].send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})
        )

    async def wait_for_connections(self, count: int, timeout: float = 5.0) -> None:  # noqa: ASYNC109
        """Wait until ``count`` websocket connections have been made in total (each got ``hello``)."""

        async def _wait() -> None:
            async with self._call_event:
                await self._call_event.wait_for(lambda: self.socket_connections >= count)

        await asyncio.wait_for(_wait(), timeout)

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> dict[str, Any]:  # noqa: ASYNC109
        """The ack the client sent for ``envelope_id`` (``{"envelope_id": ..., "payload"?: ...}``)."""
        return await asyncio.wait_for(asyncio.shield(self._ack_waiters[envelope_id]), timeout)

    # ---------------------------------------------------------------- handlers
    @staticmethod
    async def _parse(request: web.Request) -> dict[str, Any]:
        if request.method == "GET":
            return dict(request.query)
        raw = await request.read()
        ctype = request.content_type
        args: dict[str, Any] = dict(request.query)
        if ctype == "application/json":
            args.update(json.loads(raw or b"{}"))
        elif ctype == "multipart/form-data":
            form = await request.post()
            args.update({k: v for k, v in form.items()})
        else:
            args.update(dict(urllib.parse.parse_qsl(raw.decode(), keep_blank_values=True)))
        # Form bodies carry structured arguments as JSON strings: record them parsed, as JSON bodies are.
        for key in _JSON_ARGS & args.keys():
            args[key] = FakeSlack._maybe_json(args[key])
        return args

    async def _record(self, call: ApiCall) -> None:
        async with self._call_event:
            self.calls.append(call)
            self._call_event.notify_all()

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._parse(request)
        auth = request.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth.startswith("Bearer ") else args.get("token")
        call = ApiCall(method, args, token)
        await self._record(call)
        queued = self._failures.get(method)
        if queued:
            failure = queued.pop(0)
            if failure.error is not None:
                return web.json_response({"ok": False, "error": failure.error}, status=failure.status)
            headers = {}
            if failure.retry_after is not None:
                headers["Retry-After"] = str(failure.retry_after)
            error = "ratelimited" if failure.status == 429 else "fatal_error"
            return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
        try:
            self.check(method, args)
        except ContractViolation as bad:
            self.refusals.append(Refusal(method, bad.error, bad.messages, args))
            messages = [f"[ERROR] {m}" for m in bad.messages]
            return web.json_response(
                {
                    "ok": False,
                    "error": bad.error,
                    "errors": bad.messages,
                    "response_metadata": {"messages": messages},
                }
            )
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            self.unhandled.append(call)
            return web.json_response({"ok": True})
        return web.json_response(handler(args))

    def _file_ok(self, file_id: str) -> bool:
        stored = self.files.get(file_id)
        return stored is not None and bool(stored["completed"])

    def check(self, method: str, args: dict[str, Any]) -> None:
        """Raise ContractViolation when the arguments of Web API `method` break Slack's published contract."""
        if method in MESSAGE_METHODS:
            check_message(args, self._file_ok)
        elif method in VIEW_METHODS:
            check_view(args.get("view"), self._file_ok, modal=method != "views.publish")
        elif method == "files.completeUploadExternal":
            # The comment (and blocks) go out as a message in the channel the file is shared to.
            if args.get("blocks") is not None:
                problems = blocks_problems(args["blocks"], "/blocks", self._file_ok)
                if problems:
                    raise ContractViolation("invalid_blocks", problems)
            comment = args.get("initial_comment")
            problems = escaping_problems(comment, "/initial_comment") if isinstance(comment, str) else []
            if problems:
                raise ContractViolation("invalid_arguments", problems)

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    @staticmethod
    def _maybe_json(value: Any) -> Any:
        if isinstance(value, str) and value[:1] in "[{":
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "studybot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _message(self, args: dict[str, Any], ts: str) -> dict[str, Any]:
        return {
            "type": "message",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "text": args.get("text", ""),
            "blocks": self._maybe_json(args.get("blocks", [])),
            "ts": ts,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = self._next_ts()
        return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": self._message(args, ts)}

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        ts = args.get("ts")
        return {
            "ok": True,
            "channel": args.get("channel"),
            "ts": ts,
            "text": args.get("text", ""),
            "message": self._message(args, str(ts)),
        }

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        view = self._maybe_json(args.get("view", {}))
        return {"ok": True, "view": {"id": f"V{next(self._ids)}", **(view if isinstance(view, dict) else {})}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        user_id = args.get("user", "")
        user = self.users.get(user_id)
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user.to_json()}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        users = str(args.get("users", "")).split(",")
        return {"ok": True, "channel": {"id": "D0" + users[0].strip(), "is_im": True}}

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        file_id = f"F{next(self._ids)}"
        self.files[file_id] = {
            "id": file_id,
            "filename": args.get("filename"),
            "length": int(args.get("length", 0)),
            "data": None,
            "completed": False,
        }
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = self._maybe_json(args.get("files", []))
        out = []
        for f in files:
            stored = self.files.get(f["id"])
            if stored is None or stored["data"] is None:
                return {"ok": False, "error": "file_not_found"}
            stored.update(
                completed=True,
                title=f.get("title"),
                channel_id=args.get("channel_id"),
                initial_comment=args.get("initial_comment"),
            )
            out.append({"id": f["id"], "name": stored["filename"], "title": f.get("title")})
        return {"ok": True, "files": out}

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": self.socket_url}

    async def _upload(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        if file_id not in self.files:
            return web.Response(status=404, text="not found")
        self.files[file_id]["data"] = await request.read()
        return web.Response(text=f"OK - {len(self.files[file_id]['data'])}")

    async def _response(self, request: web.Request) -> web.Response:
        rid = request.match_info["rid"]
        raw = await request.read()
        try:
            body: Any = json.loads(raw)
            if not isinstance(body, dict):
                raise ContractViolation("invalid_payload", ["must be a JSON object [json-pointer:/]"])
            if not body.get("delete_original"):
                check_message(body, self._file_ok)
        except ValueError:
            bad = ContractViolation("invalid_payload", ["not JSON [json-pointer:/]"])
        except ContractViolation as refused:
            bad = refused
        else:
            async with self._call_event:
                self.responses.setdefault(rid, []).append(body)
                self._call_event.notify_all()
            return web.Response(text="ok")
        # response_url answers like an incoming webhook: HTTP 400 with the error name as a plain-text body.
        async with self._call_event:
            self.refusals.append(
                Refusal(f"response_url {rid}", bad.error, bad.messages, raw.decode(errors="replace"))
            )
            self._call_event.notify_all()
        return web.Response(status=400, text=bad.error)

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": 1,
                    "debug_info": {"host": "fake", "approximate_connection_time": 3600},
                    "connection_info": {"app_id": "A0FAKE"},
                }
            )
        )
        self._socket_connected.set()
        async with self._call_event:
            self.socket_connections += 1
            self._call_event.notify_all()
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                envelope_id = data.get("envelope_id")
                if envelope_id is None:
                    continue
                self.acks[envelope_id] = data
                payload = data.get("payload")
                if isinstance(payload, dict) and ("text" in payload or "blocks" in payload):
                    try:  # an ack's text or blocks are shown to the member like a message
                        check_message(payload, self._file_ok)
                    except ContractViolation as bad:
                        self.refusals.append(
                            Refusal(f"socket_ack {envelope_id}", bad.error, bad.messages, data)
                        )
                waiter = self._ack_waiters.get(envelope_id)
                if waiter is not None and not waiter.done():
                    waiter.set_result(data)
        finally:
            if ws in self._sockets:
                self._sockets.remove(ws)
            if not self._sockets:
                self._socket_connected.clear()
        return ws

"""Discord's published request contract, from its official OpenAPI spec, for the fake Discord to enforce.

:func:`load_contract` reads ``discord-openapi.json`` (OpenAPI 3.1, so its schemas are JSON Schema 2020-12)
from ``../shared/specs/`` beside the project. :meth:`DiscordContract.problems` matches a request's method
and path to the spec's path templates and checks the body against that operation's request schema, made
strict (an object may hold only the fields the spec lists), plus :data:`SEMANTIC_RULES`: Discord's
documented limits that the spec's schemas leave out. Each problem is ``(path, code, message)`` for
Discord's ``Invalid Form Body`` (50035) error tree.

Where discord.py 2.7.1 itself sends what the spec does not allow, :data:`DISCORD_PY_DEVIATIONS` allows
exactly that, each with the reason; nothing else is relaxed.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import os
import re
import urllib.parse
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

__all__ = [
    "DISCORD_PY_DEVIATIONS",
    "SEMANTIC_RULES",
    "SPEC_PATH",
    "Deviation",
    "DiscordContract",
    "Problem",
    "load_contract",
]

log = logging.getLogger(__name__)

# The spec is shared by the projects beside this one and is not part of this repository (see its README);
# STUDYBOT_DISCORD_SPEC points elsewhere when it lives somewhere else.
SPEC_PATH = Path(
    os.environ.get(
        "STUDYBOT_DISCORD_SPEC",
        Path(__file__).resolve().parents[3].parent / "shared" / "specs" / "discord-openapi.json",
    )
)
# The base URI the spec is registered under, so its "#/components/schemas/..." references resolve.
SPEC_URI = "https://discord.com/developers/docs/openapi.json"

# Message flags (https://discord.com/developers/docs/resources/message#message-object-message-flags).
SUPPRESS_EMBEDS = 1 << 2
EPHEMERAL = 1 << 6
SUPPRESS_NOTIFICATIONS = 1 << 12
IS_VOICE_MESSAGE = 1 << 13
IS_COMPONENTS_V2 = 1 << 15
# "Create Message": only SUPPRESS_EMBEDS, SUPPRESS_NOTIFICATIONS, IS_VOICE_MESSAGE and IS_COMPONENTS_V2 can
# be set; EPHEMERAL exists only for interaction responses and followups, which only its recipient sees.
CHANNEL_MESSAGE_FLAGS = SUPPRESS_EMBEDS | SUPPRESS_NOTIFICATIONS | IS_VOICE_MESSAGE | IS_COMPONENTS_V2
# Interaction responses and followups may also be EPHEMERAL.
RESPONSE_FLAGS = CHANNEL_MESSAGE_FLAGS | EPHEMERAL
# Editing a message can only toggle SUPPRESS_EMBEDS and IS_COMPONENTS_V2; ephemerality is fixed when sent.
EDIT_FORBIDDEN_FLAGS = EPHEMERAL
# Discord's docs: a command's name, description and choice values, with all its options and choices,
# total at most 4,000 characters (the spec has no way to say so).
COMMAND_TOTAL_MAX = 4000
# Discord's docs: a string choice value is at most 100 characters (the spec says 6,000, the option's own
# value limit).
CHOICE_VALUE_MAX = 100
# Discord's docs: a modal holds "between 1 and 5 (inclusive) components" (the spec says 40).
MODAL_COMPONENTS_MAX = 5
# Discord's docs: a nonce is an integer or a string of at most 25 characters (the spec agrees; kept as a
# rule too so the fake refuses it even if a spec update drops the bound).
NONCE_MAX = 25

Problem = tuple[tuple[str | int, ...], str, str]


@dataclass(frozen=True)
class Deviation:
    """One place where discord.py 2.7.1 sends what the spec does not allow, and the fake lets it."""

    schema: str  # a name under the spec's components/schemas
    field: str  # a property of that schema (added when the spec does not list it)
    allow: dict[str, Any]  # a JSON schema accepted besides the spec's own for the field
    reason: str


SNOWFLAKE_INT = {"type": "integer", "minimum": 0, "maximum": 2**64 - 1}

_TTS_UNSET = {"type": "boolean", "const": False}
_TTS_REASON = (
    "discord.http.handle_message_parameters always sets tts (False by default), and edits build their body "
    "with it too, though the spec's edit schemas have no tts"
)

# What discord.py 2.7.1 sends beyond the spec. Found by running every test that drives the real discord.py
# against the fake; each entry names the discord.py code that sends it. Nothing else is relaxed.
DISCORD_PY_DEVIATIONS: tuple[Deviation, ...] = (
    Deviation(
        "ApplicationCommandUpdateRequest",
        "nsfw",
        {"type": "boolean"},
        "app_commands Command/Group.to_dict always sends nsfw, a command field Discord documents and "
        "returns, but the spec's bulk-overwrite schema does not list",
    ),
    Deviation(
        "RichEmbed",
        "flags",
        {"type": "integer", "const": 0},
        "Embed.to_dict sends every set slot, and Embed.__init__ sets _flags = 0, so every embed carries "
        "flags: 0, which the spec's request embed does not list",
    ),
    Deviation(
        "MessageAttachmentRequest",
        "id",
        {"type": "integer", "minimum": 0, "maximum": 9},
        "File.to_dict(index) sends a new upload's id as the integer index of its files[n] part, where the "
        "spec has a snowflake string",
    ),
    Deviation(
        "CreatePrivateChannelRequest",
        "recipient_id",
        SNOWFLAKE_INT,
        "HTTPClient.start_private_message sends the user id as an integer, where the spec has a snowflake "
        "string",
    ),
    Deviation("MessageEditRequestPartial", "tts", _TTS_UNSET, _TTS_REASON),
    Deviation("IncomingWebhookUpdateRequestPartial", "tts", _TTS_UNSET, _TTS_REASON),
    Deviation("IncomingWebhookUpdateForInteractionCallbackRequestPartial", "tts", _TTS_UNSET, _TTS_REASON),
)


@dataclass(frozen=True)
class _Operation:
    method: str
    template: str
    pattern: re.Pattern[str]
    literal_segments: int
    pointer: str | None  # JSON pointer to the request body's schema, None when the operation takes none
    body_required: bool


def _escape_pointer(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def _strict(node: Any) -> Any:
    """Copy a schema, letting every object that lists its properties hold only those."""
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    copied = {key: _strict(value) for key, value in node.items() if key != "properties"}
    if isinstance(node.get("properties"), dict):
        # A map of field names to schemas, not a schema itself: a field may be called "oneOf".
        copied["properties"] = {name: _strict(schema) for name, schema in node["properties"].items()}
    if "properties" in copied and "additionalProperties" not in copied:
        copied["additionalProperties"] = False
    members = copied.get("oneOf")
    if members and all(isinstance(m, dict) and "const" in m for m in members):
        # The spec's enumerations are a oneOf of titled consts; one enum means the same and checks far faster.
        copied["enum"] = [m["const"] for m in copied.pop("oneOf")]
    return copied


def _apply_deviations(schemas: dict[str, Any], deviations: Iterable[Deviation]) -> None:
    for deviation in deviations:
        properties = schemas[deviation.schema].setdefault("properties", {})
        spec_own = properties.get(deviation.field)
        properties[deviation.field] = (
            deviation.allow if spec_own is None else {"anyOf": [spec_own, deviation.allow]}
        )


def _format_checker() -> FormatChecker:
    """Check the formats the spec uses for request fields; jsonschema asserts none by default."""
    checker = FormatChecker(formats=())

    @checker.checks("int32")
    def int32(value: object) -> bool:
        return not isinstance(value, int) or -(2**31) <= value < 2**31

    @checker.checks("int64")
    def int64(value: object) -> bool:
        return not isinstance(value, int) or -(2**63) <= value < 2**63

    @checker.checks("date-time", raises=ValueError)
    def date_time(value: object) -> bool:
        if isinstance(value, str):
            dt.datetime.fromisoformat(value)
        return True

    @checker.checks("uri")
    def uri(value: object) -> bool:
        if not isinstance(value, str):
            return True
        parts = urllib.parse.urlsplit(value)
        # Embeds take http(s) links and attachment:// references to uploaded files.
        if parts.scheme == "attachment":
            return bool(parts.netloc or parts.path)
        return parts.scheme in ("http", "https") and bool(parts.netloc)

    return checker


# Discord's error codes and messages for what each JSON Schema keyword refuses (approximated: Discord's
# own codes come from its validators, which the spec does not publish).
def _describe(error: ValidationError) -> tuple[str, str]:
    keyword, limit = error.validator, error.validator_value
    if keyword == "required":
        return "BASE_TYPE_REQUIRED", "This field is required"
    if keyword == "additionalProperties":
        return "UNKNOWN_FIELD", error.message
    if keyword in ("maxLength", "maxItems", "maxProperties"):
        return "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length."
    if keyword in ("minLength", "minItems"):
        return "BASE_TYPE_MIN_LENGTH", f"Must be {limit} or more in length."
    if keyword == "maximum":
        return "NUMBER_TYPE_MAX", f"Value should be less than or equal to {limit}."
    if keyword == "minimum":
        return "NUMBER_TYPE_MIN", f"Value should be greater than or equal to {limit}."
    if keyword in ("enum", "const"):
        return "BASE_TYPE_CHOICES", f"Value must be one of {limit!r}."
    if keyword == "type":
        return "BASE_TYPE_BAD_TYPE", f"Value {error.instance!r:.50} is not {limit}."
    if keyword == "pattern":
        return "NUMBER_TYPE_COERCE", f"Value {error.instance!r:.50} is not snowflake."
    if keyword == "format":
        return "BASE_TYPE_BAD_FORMAT", f"Value {error.instance!r:.50} is not a valid {limit}."
    if keyword == "uniqueItems":
        return "BASE_TYPE_DUPLICATES", "Values must be unique."
    if keyword in ("anyOf", "oneOf"):
        return "UNION_TYPE_CHOICES", "Value matches none of the allowed shapes."
    return "BASE_TYPE_INVALID", error.message[:200]


def _branch_errors(branch: Sequence[ValidationError]) -> list[ValidationError]:
    return [leaf for error in branch for leaf in _leaves(error)]


def _leaves(error: ValidationError) -> list[ValidationError]:
    """Report a failed union by the branch the value meant to be, as Discord does, else the union itself."""
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = defaultdict(list)
    for sub in error.context:
        branches[sub.relative_schema_path[0]].append(sub)

    def ruled_out(branch: list[ValidationError]) -> bool:
        # Discord's unions are told apart by the value's own type and its "type" field.
        return any(
            (sub.validator == "type" and not sub.relative_path) or list(sub.relative_path) == ["type"]
            for sub in branch
        )

    candidates = [b for b in branches.values() if not ruled_out(b)] or list(branches.values())
    expanded = sorted((_branch_errors(b) for b in candidates), key=len)
    if len(expanded) == 1 or len(expanded[0]) < len(expanded[1]):
        return expanded[0]
    return [error]


class DiscordContract:
    """The request schemas of Discord's OpenAPI spec, strict, compiled once per operation when first used."""

    def __init__(self, spec: dict[str, Any], deviations: Iterable[Deviation] = DISCORD_PY_DEVIATIONS) -> None:
        """Index the spec's operations and register its schemas (made strict, deviations applied)."""
        strict = _strict(spec)
        _apply_deviations(strict["components"]["schemas"], deviations)
        resource = Resource.from_contents(strict, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._formats = _format_checker()
        self._validators: dict[str, Draft202012Validator] = {}
        self._operations: dict[str, list[_Operation]] = defaultdict(list)
        for template, item in spec["paths"].items():
            segments = template.strip("/").split("/")
            regex = "/".join(
                "[^/]+" if s.startswith("{") and s.endswith("}") else re.escape(s) for s in segments
            )
            literal = sum(1 for s in segments if not s.startswith("{"))
            for method, operation in item.items():
                if method not in ("get", "put", "post", "patch", "delete"):
                    continue
                body = operation.get("requestBody")
                pointer = None
                if body is not None and "application/json" in body["content"]:
                    # Multipart requests carry the same JSON in payload_json; the files are separate parts.
                    content = ["requestBody", "content", _escape_pointer("application/json"), "schema"]
                    pointer = "/".join(["#", "paths", _escape_pointer(template), method, *content])
                self._operations[method.upper()].append(
                    _Operation(
                        method.upper(),
                        template,
                        re.compile("/" + regex),
                        literal,
                        pointer,
                        bool(body and body.get("required")),
                    )
                )
        for operations in self._operations.values():
            # A literal segment beats a parameter: /users/@me/channels is not /users/{user_id}/channels.
            operations.sort(key=lambda op: -op.literal_segments)

    def operation(self, method: str, path: str) -> str | None:
        """Return the spec's path template for this request, or None when the spec has no such operation."""
        found = self._find(method, path)
        return found.template if found else None

    def _find(self, method: str, path: str) -> _Operation | None:
        candidates = self._operations.get(method.upper(), [])
        return next((op for op in candidates if op.pattern.fullmatch(path)), None)

    def _validator(self, pointer: str) -> Draft202012Validator:
        validator = self._validators.get(pointer)
        if validator is None:
            schema = {"$ref": SPEC_URI + pointer}
            validator = Draft202012Validator(schema, registry=self._registry, format_checker=self._formats)
            self._validators[pointer] = validator
        return validator

    def problems(self, method: str, path: str, body: Any, *, has_body: bool) -> list[Problem]:
        """Return what is wrong with this request body by the spec and Discord's documented rules."""
        operation = self._find(method, path)
        if operation is None or operation.pointer is None:
            return []
        if not has_body and not operation.body_required:
            return []
        found: list[Problem] = []
        for error in self._validator(operation.pointer).iter_errors(body):
            for leaf in _leaves(error):
                code, message = _describe(leaf)
                found.append((tuple(leaf.absolute_path), code, message))
        if not found:
            for rule in SEMANTIC_RULES.get((operation.method, operation.template), ()):
                found.extend(rule(body))
        return found


# --------------------------------------------------------------------------- rules the schemas leave out


def _flags_within(allowed: int, path: tuple[str | int, ...] = ()) -> Callable[[Any], list[Problem]]:
    def rule(body: Any) -> list[Problem]:
        data = body
        for part in path:
            data = data.get(part) if isinstance(data, dict) else None
        flags = data.get("flags") if isinstance(data, dict) else None
        if isinstance(flags, int) and flags & ~allowed:
            message = f"Flags {flags & ~allowed} cannot be set on this message."
            return [((*path, "flags"), "MESSAGE_FLAGS_INVALID", message)]
        return []

    return rule


def _no_edit_flags(body: Any) -> list[Problem]:
    flags = body.get("flags") if isinstance(body, dict) else None
    if isinstance(flags, int) and flags & EDIT_FORBIDDEN_FLAGS:
        return [(("flags",), "MESSAGE_FLAGS_INVALID", "Ephemerality cannot be changed by an edit.")]
    return []


def _nonce_length(body: Any) -> list[Problem]:
    nonce = body.get("nonce") if isinstance(body, dict) else None
    if isinstance(nonce, str) and len(nonce) > NONCE_MAX:
        return [(("nonce",), "BASE_TYPE_MAX_LENGTH", f"Must be {NONCE_MAX} or fewer in length.")]
    return []


def _choice_problems(choices: Any, path: tuple[str | int, ...]) -> list[Problem]:
    found: list[Problem] = []
    for index, choice in enumerate(choices or []):
        value = choice.get("value") if isinstance(choice, dict) else None
        if isinstance(value, str) and len(value) > CHOICE_VALUE_MAX:
            message = f"Must be {CHOICE_VALUE_MAX} or fewer in length."
            found.append(((*path, index, "value"), "BASE_TYPE_MAX_LENGTH", message))
    return found


def _command_size(item: dict[str, Any]) -> int:
    size = len(item.get("name") or "") + len(item.get("description") or "")
    for choice in item.get("choices") or []:
        value = choice.get("value")
        size += len(choice.get("name") or "") + (len(value) if isinstance(value, str) else 0)
    return size + sum(_command_size(option) for option in item.get("options") or [])


def _option_problems(options: Any, path: tuple[str | int, ...]) -> list[Problem]:
    found: list[Problem] = []
    for index, option in enumerate(options or []):
        found.extend(_choice_problems(option.get("choices"), (*path, index, "choices")))
        found.extend(_option_problems(option.get("options"), (*path, index, "options")))
    return found


def _command_problems(command: dict[str, Any], path: tuple[str | int, ...]) -> list[Problem]:
    found = _option_problems(command.get("options"), (*path, "options"))
    if (size := _command_size(command)) > COMMAND_TOTAL_MAX:
        message = f"Command exceeds maximum size ({COMMAND_TOTAL_MAX}): {size} characters."
        found.append((path, "APPLICATION_COMMAND_TOO_LARGE", message))
    return found


def _commands_rule(body: Any) -> list[Problem]:
    found: list[Problem] = []
    for index, command in enumerate(body or []):
        found.extend(_command_problems(command, (index,)))
    return found


def _command_rule(body: Any) -> list[Problem]:
    return _command_problems(body, ())


def _modal_components(component: Any, path: tuple[str | int, ...]) -> list[tuple[tuple[str | int, ...], Any]]:
    """A modal's component and all inside it, depth first, each with its path (rows' children, a label's)."""
    if not isinstance(component, dict):
        return []
    found = [(path, component)]
    for index, child in enumerate(component.get("components") or []):
        found.extend(_modal_components(child, (*path, "components", index)))
    found.extend(_modal_components(component.get("component"), (*path, "component")))
    return found


def _modal_problems(data: dict[str, Any]) -> list[Problem]:
    """Discord's documented modal rules the spec leaves out (components reference and the modal response)."""
    found: list[Problem] = []
    components = data.get("components") or []
    if len(components) > MODAL_COMPONENTS_MAX:
        message = f"Must be between 1 and {MODAL_COMPONENTS_MAX} in length."
        found.append((("data", "components"), "BASE_TYPE_BAD_LENGTH", message))
    custom_ids: set[str] = set()
    ids: set[int] = set()
    walked = [
        each for i, c in enumerate(components) for each in _modal_components(c, ("data", "components", i))
    ]
    for path, component in walked:
        # "custom_id ... must be unique per component"; "The id must be unique within the message".
        custom_id, number = component.get("custom_id"), component.get("id")
        if custom_id is not None and custom_id in custom_ids:
            found.append(((*path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Duplicate custom_id."))
        if number and number in ids:
            found.append(((*path, "id"), "COMPONENT_ID_DUPLICATED", "Duplicate component id."))
        custom_ids.add(custom_id)
        ids.add(number)
        ctype = component.get("type")
        if ctype == 22:
            options = component.get("options") or []
            required = component.get("required") is not False
            low, high = component.get("min_values"), component.get("max_values")
            # "min_values must be either omitted or at least 1 if required is omitted or true."
            if required and low is not None and low < 1:
                message = "min_values must be at least 1 when the checkbox group is required."
                found.append(((*path, "min_values"), "BASE_TYPE_BAD_INT", message))
            low = 1 if low is None else low
            high = len(options) if high is None else high
            if low > high or low > len(options):
                message = "min_values must not exceed max_values or the number of options."
                found.append(((*path, "min_values"), "BASE_TYPE_BAD_INT", message))
        elif ctype == 4:
            low, high = component.get("min_length"), component.get("max_length")
            if low is not None and high is not None and low > high:
                message = "min_length must not exceed max_length."
                found.append(((*path, "min_length"), "BASE_TYPE_BAD_INT", message))
    return found


def _callback_rule(body: Any) -> list[Problem]:
    data = body.get("data")
    if body.get("type") == 8 and isinstance(data, dict):
        return _choice_problems(data.get("choices"), ("data", "choices"))
    if body.get("type") == 9 and isinstance(data, dict):
        return _modal_problems(data)
    return _flags_within(RESPONSE_FLAGS, ("data",))(body)


_CHANNEL_MESSAGE = "/channels/{channel_id}/messages"
_WEBHOOK = "/webhooks/{webhook_id}/{webhook_token}"
_COMMANDS = "/applications/{application_id}/commands"
_GUILD_COMMANDS = "/applications/{application_id}/guilds/{guild_id}/commands"

# Discord's documented rules per operation (method, spec path template), checked once the schema passes.
SEMANTIC_RULES: dict[tuple[str, str], tuple[Callable[[Any], list[Problem]], ...]] = {
    ("POST", _CHANNEL_MESSAGE): (_flags_within(CHANNEL_MESSAGE_FLAGS), _nonce_length),
    ("PATCH", _CHANNEL_MESSAGE + "/{message_id}"): (_no_edit_flags,),
    # An application's webhook token is an interaction's: its followups may be ephemeral.
    ("POST", _WEBHOOK): (_flags_within(RESPONSE_FLAGS),),
    ("PATCH", _WEBHOOK + "/messages/@original"): (_no_edit_flags,),
    ("PATCH", _WEBHOOK + "/messages/{message_id}"): (_no_edit_flags,),
    ("POST", "/interactions/{interaction_id}/{interaction_token}/callback"): (_callback_rule,),
    ("PUT", _COMMANDS): (_commands_rule,),
    ("PUT", _GUILD_COMMANDS): (_commands_rule,),
    ("POST", _COMMANDS): (_command_rule,),
    ("POST", _GUILD_COMMANDS): (_command_rule,),
    ("PATCH", _COMMANDS + "/{command_id}"): (_command_rule,),
    ("PATCH", _GUILD_COMMANDS + "/{command_id}"): (_command_rule,),
}


@functools.cache
def load_contract(path: Path = SPEC_PATH) -> DiscordContract | None:
    """Return the contract from the spec file (read once per process), or None when the file is absent."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        log.warning("Discord's OpenAPI spec is not at %s; the fake checks only its own rules", path)
        return None
    return DiscordContract(json.loads(text))

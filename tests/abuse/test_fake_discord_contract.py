"""The fake Discord refuses what Discord's published contract refuses, so a bad request fails a test.

Each broken request goes straight to the fake over HTTP with a bot token and must get 400 ``Invalid Form
Body`` (50035), never a 5xx from the fake's own crash, and must change nothing the fake holds. Valid
requests of the same kinds must still succeed. The contract is Discord's OpenAPI spec in
``../shared/specs/``; these tests skip when it is absent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import pytest

from tests.fakes.discord import DEFAULT_TOKEN, FakeDiscord, FakeInteraction
from tests.fakes.discord.openapi import SPEC_PATH, load_contract

pytestmark = pytest.mark.skipif(
    not SPEC_PATH.exists(), reason=f"Discord's OpenAPI spec is not at {SPEC_PATH} (see ../shared/specs)"
)

COMMANDS = [
    {
        "name": "study",
        "description": "Study commands",
        "type": 1,
        "options": [{"type": 3, "name": "topic", "description": "A topic", "autocomplete": True}],
    }
]
EPHEMERAL = 1 << 6
SUPPRESS_NOTIFICATIONS = 1 << 12


@dataclass
class World:
    """A running fake with a connected client, synced commands, a bot message and three interactions."""

    fake: FakeDiscord
    http: aiohttp.ClientSession
    message_id: int
    fresh: FakeInteraction  # a slash command not answered yet
    autocomplete: FakeInteraction  # an autocomplete request not answered yet
    answered: FakeInteraction  # a slash command answered with a message, so its webhook exists

    def url(self, template: str) -> str:
        fake = self.fake
        path = template.format(
            app=fake.application_id,
            guild=fake.guild_id,
            channel=fake.channel_id,
            message=self.message_id,
            fresh=f"{self.fresh.id}/{self.fresh.token}",
            ac=f"{self.autocomplete.id}/{self.autocomplete.token}",
            hook=f"{fake.application_id}/{self.answered.token}",
        )
        return fake.api_base + path

    async def send(
        self, method: str, template: str, body: Any, *, multipart: bool = False, raw: bytes | None = None
    ) -> tuple[int, Any]:
        """Send one request as the bot would and return (status, decoded JSON body or None)."""
        headers = {"Authorization": f"Bot {DEFAULT_TOKEN}"}
        kwargs: dict[str, Any] = {}
        if raw is not None:
            kwargs["data"] = raw
            headers["Content-Type"] = "application/json"
        elif multipart:
            form = aiohttp.FormData()
            form.add_field("payload_json", json.dumps(body), content_type="application/json")
            form.add_field("files[0]", b"hello", filename="notes.txt", content_type="text/plain")
            kwargs["data"] = form
        else:
            kwargs["json"] = body
        async with self.http.request(method, self.url(template), headers=headers, **kwargs) as response:
            text = await response.text()
            return response.status, json.loads(text) if text else None

    def state(self) -> Any:
        """Everything a refused request must leave alone."""
        fake = self.fake
        return (
            fake.channel_messages(fake.channel_id, include_interactions=True),
            fake.direct_messages(fake.user_id),
            fake.registered_commands(),
            self.fresh.callback,
            self.autocomplete.callback,
            fake.followups(self.answered),
        )


async def _world(fake: FakeDiscord, http: aiohttp.ClientSession) -> World:
    client = discord.Client(intents=discord.Intents(guilds=True), guild_ready_timeout=0.05)
    await fake.start_client(client)  # only to hold the gateway the fake sends interactions over
    headers = {"Authorization": f"Bot {DEFAULT_TOKEN}"}
    base = fake.api_base
    async with http.put(
        f"{base}/applications/{fake.application_id}/commands", json=COMMANDS, headers=headers
    ):
        pass
    url = f"{base}/channels/{fake.channel_id}/messages"
    async with http.post(url, json={"content": "a bot message"}, headers=headers) as posted:
        message_id = int((await posted.json())["id"])
    fresh = await fake.slash("study", options={"topic": "pandas"})
    autocomplete = await fake.autocomplete("study", options={"topic": "p"}, focused="topic")
    answered = await fake.slash("study", options={"topic": "numpy"})
    url = f"{base}/interactions/{answered.id}/{answered.token}/callback"
    async with http.post(url, json={"type": 4, "data": {"content": "answered"}}) as response:
        assert response.status == 204
    return World(fake, http, message_id, fresh, autocomplete, answered)


@pytest.fixture
async def world() -> AsyncIterator[World]:
    # No deadline: the interactions must still be answerable after every refused attempt.
    async with FakeDiscord(interaction_deadline=None) as fake, aiohttp.ClientSession() as http:
        yield await _world(fake, http)


def _choices(count: int, *, name: str = "choice", value: str = "v") -> list[dict[str, str]]:
    return [{"name": f"{name}{i}", "value": f"{value}{i}"} for i in range(count)]


def _command(**changes: Any) -> list[dict[str, Any]]:
    command = {"name": "study", "description": "Study commands", "type": 1}
    return [command | changes]


def _string_option(**changes: Any) -> dict[str, Any]:
    return {"type": 3, "name": "topic", "description": "A topic"} | changes


MESSAGES = "/channels/{channel}/messages"
MESSAGE = "/channels/{channel}/messages/{message}"
CALLBACK = "/interactions/{fresh}/callback"
AUTOCOMPLETE = "/interactions/{ac}/callback"
FOLLOWUP = "/webhooks/{hook}"
ORIGINAL = "/webhooks/{hook}/messages/@original"
COMMANDS_URL = "/applications/{app}/commands"
GUILD_COMMANDS_URL = "/applications/{app}/guilds/{guild}/commands"
DM = "/users/@me/channels"

# (what is wrong, method, path, body); each one a request Discord refuses.
BROKEN: list[tuple[str, str, str, Any]] = [
    # Channel messages.
    ("unknown field", "POST", MESSAGES, {"content": "hi", "ephemeral": True}),
    ("numeric content", "POST", MESSAGES, {"content": 42}),
    ("content as a list", "POST", MESSAGES, {"content": ["hi"]}),
    ("content over 2,000 characters", "POST", MESSAGES, {"content": "x" * 2001}),
    ("a 26-character nonce", "POST", MESSAGES, {"content": "hi", "nonce": "n" * 26}),
    ("a fractional nonce", "POST", MESSAGES, {"content": "hi", "nonce": 1.5}),
    ("the ephemeral flag on a channel message", "POST", MESSAGES, {"content": "hi", "flags": EPHEMERAL}),
    ("an unknown flag on a channel message", "POST", MESSAGES, {"content": "hi", "flags": 1 << 1}),
    ("tts as a string", "POST", MESSAGES, {"content": "hi", "tts": "yes"}),
    ("a colour over 0xFFFFFF", "POST", MESSAGES, {"embeds": [{"title": "t", "color": 0x1000000}]}),
    ("a negative colour", "POST", MESSAGES, {"embeds": [{"title": "t", "color": -1}]}),
    ("colour spelt the British way", "POST", MESSAGES, {"embeds": [{"title": "t", "colour": 5}]}),
    ("an embed title over 256", "POST", MESSAGES, {"embeds": [{"title": "t" * 257}]}),
    ("an embed field without a value", "POST", MESSAGES, {"embeds": [{"fields": [{"name": "a"}]}]}),
    ("an embed timestamp that is no date", "POST", MESSAGES, {"embeds": [{"timestamp": "yesterday"}]}),
    ("an embed url that is no URL", "POST", MESSAGES, {"embeds": [{"title": "t", "url": "not a url"}]}),
    ("eleven embeds", "POST", MESSAGES, {"embeds": [{"title": "t"}] * 11}),
    (
        "an unknown mention type",
        "POST",
        MESSAGES,
        {"content": "hi", "allowed_mentions": {"parse": ["admins"]}},
    ),
    ("a number as a user id", "POST", MESSAGES, {"content": "hi", "allowed_mentions": {"users": [123]}}),
    ("a number as a role id", "POST", MESSAGES, {"content": "hi", "allowed_mentions": {"roles": [456]}}),
    (
        "a number as a reply id",
        "POST",
        MESSAGES,
        {"content": "hi", "message_reference": {"message_id": 1, "fail_if_not_exists": False}},
    ),
    ("a word as a sticker id", "POST", MESSAGES, {"sticker_ids": ["abc"]}),
    (
        "a custom_id over 100",
        "POST",
        MESSAGES,
        {"components": [{"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c" * 101}]}]},
    ),
    (
        "a button label over 80",
        "POST",
        MESSAGES,
        {
            "components": [
                {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c", "label": "l" * 81}]}
            ]
        },
    ),
    (
        "six buttons in a row",
        "POST",
        MESSAGES,
        {
            "components": [
                {
                    "type": 1,
                    "components": [
                        {"type": 2, "style": 1, "custom_id": f"c{i}", "label": "b"} for i in range(6)
                    ],
                }
            ]
        },
    ),
    ("an unknown component type", "POST", MESSAGES, {"components": [{"type": 99}]}),
    (
        "a button without a style",
        "POST",
        MESSAGES,
        {"components": [{"type": 1, "components": [{"type": 2, "custom_id": "c"}]}]},
    ),
    ("a list for a body", "POST", MESSAGES, ["hi"]),
    ("null for a body", "POST", MESSAGES, None),
    # Message edits.
    ("the ephemeral flag on an edit", "PATCH", MESSAGE, {"content": "edited", "flags": EPHEMERAL}),
    ("numeric content in an edit", "PATCH", MESSAGE, {"content": 7}),
    ("a nonce in an edit", "PATCH", MESSAGE, {"content": "edited", "nonce": "abc"}),
    # Interaction callbacks.
    ("a response over 2,000 characters", "POST", CALLBACK, {"type": 4, "data": {"content": "x" * 2001}}),
    ("an unknown callback type", "POST", CALLBACK, {"type": 42}),
    ("the callback type as a string", "POST", CALLBACK, {"type": "4", "data": {"content": "hi"}}),
    (
        "an unknown field in a response",
        "POST",
        CALLBACK,
        {"type": 4, "data": {"content": "hi", "hidden": True}},
    ),
    (
        "ephemeral as a field, not a flag",
        "POST",
        CALLBACK,
        {"type": 4, "data": {"content": "hi", "ephemeral": True}},
    ),
    (
        "an unknown flag in a response",
        "POST",
        CALLBACK,
        {"type": 4, "data": {"content": "hi", "flags": 1 << 1}},
    ),
    ("a modal without a title", "POST", CALLBACK, {"type": 9, "data": {"custom_id": "m", "components": []}}),
    (
        "a modal title over 45",
        "POST",
        CALLBACK,
        {
            "type": 9,
            "data": {
                "custom_id": "m",
                "title": "t" * 46,
                "components": [
                    {"type": 1, "components": [{"type": 4, "custom_id": "i", "style": 1, "label": "x"}]}
                ],
            },
        },
    ),
    (
        "a choice value over 100",
        "POST",
        AUTOCOMPLETE,
        {"type": 8, "data": {"choices": _choices(1, value="v" * 100)}},
    ),
    (
        "an empty autocomplete name",
        "POST",
        AUTOCOMPLETE,
        {"type": 8, "data": {"choices": [{"name": "", "value": "p"}]}},
    ),
    (
        "a choice name over 100",
        "POST",
        AUTOCOMPLETE,
        {"type": 8, "data": {"choices": _choices(1, name="n" * 100)}},
    ),
    ("26 autocomplete choices", "POST", AUTOCOMPLETE, {"type": 8, "data": {"choices": _choices(26)}}),
    (
        "a choice without a value",
        "POST",
        AUTOCOMPLETE,
        {"type": 8, "data": {"choices": [{"name": "python"}]}},
    ),
    ("autocomplete without data", "POST", AUTOCOMPLETE, {"type": 8}),
    # Interaction followups and edits.
    ("ephemeral as a followup field", "POST", FOLLOWUP, {"content": "hi", "ephemeral": True}),
    ("numeric followup content", "POST", FOLLOWUP, {"content": 3.5}),
    ("a followup over 2,000 characters", "POST", FOLLOWUP, {"content": "x" * 2001}),
    (
        "the ephemeral flag on an edit of the response",
        "PATCH",
        ORIGINAL,
        {"content": "e", "flags": EPHEMERAL},
    ),
    ("a colour name in an edit", "PATCH", ORIGINAL, {"embeds": [{"title": "t", "color": "red"}]}),
    # Application commands (bulk overwrite and create).
    (
        "the 4,000-character command total",
        "PUT",
        COMMANDS_URL,
        _command(options=[_string_option(choices=_choices(25, name="n" * 90, value="v" * 90))]),
    ),
    (
        "a command choice value over 100",
        "PUT",
        COMMANDS_URL,
        _command(options=[_string_option(choices=_choices(1, value="v" * 100))]),
    ),
    ("a command name over 32", "PUT", COMMANDS_URL, _command(name="s" * 33)),
    ("a command description over 100", "PUT", COMMANDS_URL, _command(description="d" * 101)),
    ("an unknown option type", "PUT", COMMANDS_URL, _command(options=[_string_option(type=12)])),
    (
        "an option without a description",
        "PUT",
        COMMANDS_URL,
        _command(options=[{"type": 3, "name": "topic"}]),
    ),
    ("an unknown field in an option", "PUT", COMMANDS_URL, _command(options=[_string_option(choice=[])])),
    ("an unknown interaction context", "PUT", COMMANDS_URL, _command(contexts=[7])),
    ("an upper-case command name", "PUT", COMMANDS_URL, _command(name="Study")),
    ("one command, not a list", "PUT", COMMANDS_URL, _command()[0]),
    (
        "26 options",
        "PUT",
        GUILD_COMMANDS_URL,
        _command(options=[_string_option(name=f"o{i}") for i in range(26)]),
    ),
    (
        "a create over the command total",
        "POST",
        COMMANDS_URL,
        _command(
            description="d" * 100,
            options=[_string_option(choices=_choices(25, name="n" * 90, value="v" * 90))],
        )[0],
    ),
    # Direct messages.
    ("a word as the recipient id", "POST", DM, {"recipient_id": "alice"}),
    ("an object as the recipient id", "POST", DM, {"recipient_id": {"id": "1"}}),
]


@pytest.mark.parametrize(("what", "method", "path", "body"), BROKEN, ids=[case[0] for case in BROKEN])
async def test_a_broken_request_gets_invalid_form_body(
    world: World, what: str, method: str, path: str, body: Any
) -> None:
    before = world.state()
    status, answer = await world.send(method, path, body)
    assert status == 400, f"{what}: {status} {answer}"
    assert answer["code"] == 50035 and answer["message"] == "Invalid Form Body"
    assert answer["errors"], "Discord names what is wrong in an errors tree"
    assert world.state() == before
    assert not world.fake.internal_errors


async def test_the_broken_requests_cover_the_issue(world: World) -> None:
    """The issue's examples are in the table, and each names the field it is about in the errors tree."""
    probes = {
        "unknown field": ("_errors",),
        "numeric content": ("content",),
        "a colour over 0xFFFFFF": ("embeds", "0", "color"),
        "a 26-character nonce": ("nonce",),
        "the ephemeral flag on a channel message": ("flags",),
        "a choice value over 100": ("data", "choices", "0", "value"),
        "an empty autocomplete name": ("data", "choices", "0", "name"),
        "the 4,000-character command total": ("0",),
        "a number as a user id": ("allowed_mentions", "users", "0"),
    }
    cases = {case[0]: case for case in BROKEN}
    assert len(BROKEN) >= 40
    for what, path in probes.items():
        _, method, url, body = cases[what]
        _, answer = await world.send(method, url, body)
        node = answer["errors"]
        for part in path:
            assert part in node, f"{what}: {answer}"
            node = node[part]


async def test_a_broken_multipart_payload_is_refused_and_its_file_not_kept(world: World) -> None:
    before = world.state()
    body = {"content": "notes", "attachments": [{"id": "0", "filename": "notes.txt"}], "spoiler": True}
    status, answer = await world.send("POST", MESSAGES, body, multipart=True)
    assert status == 400 and answer["code"] == 50035
    assert world.state() == before


@pytest.mark.parametrize("raw", [b'{"content": "hi"', b'{"content": NaN}', b'{"content": "\xff"}'])
async def test_a_body_that_is_not_json_gets_400_not_a_crash(world: World, raw: bytes) -> None:
    status, answer = await world.send("POST", MESSAGES, None, raw=raw)
    assert status == 400 and answer["code"] == 50109
    assert not world.fake.internal_errors


async def test_valid_requests_of_every_kind_succeed(world: World) -> None:
    fake = world.fake
    full = {
        "content": "Daily challenge",
        "nonce": "n" * 25,
        "enforce_nonce": True,
        "flags": SUPPRESS_NOTIFICATIONS,
        "tts": False,
        "allowed_mentions": {"parse": [], "users": [str(fake.user_id)], "replied_user": False},
        "embeds": [
            {
                "title": "Today",
                "description": "Answer below",
                "color": 0xFFFFFF,
                "url": "https://example.com/x",
                "timestamp": "2026-11-23T08:00:00+00:00",
                "fields": [{"name": "Topic", "value": "pandas", "inline": True}],
                "footer": {"text": "studybot"},
            }
        ],
        "components": [
            {
                "type": 1,
                "components": [
                    {"type": 2, "style": 1, "custom_id": f"answer:{i}", "label": "ABCD"[i]} for i in range(4)
                ],
            }
        ],
    }
    assert (await world.send("POST", MESSAGES, full))[0] == 200
    reply = {"content": "a reply", "message_reference": {"message_id": str(world.message_id)}}
    assert (await world.send("POST", MESSAGES, reply))[0] == 200
    upload = {"content": "notes", "attachments": [{"id": "0", "filename": "notes.txt"}]}
    status, posted = await world.send("POST", MESSAGES, upload, multipart=True)
    assert status == 200 and posted["attachments"][0]["filename"] == "notes.txt"
    assert (await world.send("PATCH", MESSAGE, {"content": "edited", "flags": 4}))[0] == 200
    assert (await world.send("POST", DM, {"recipient_id": str(fake.user_id)}))[0] == 200
    assert (await world.send("PUT", GUILD_COMMANDS_URL, COMMANDS))[0] == 200
    at_limit = _command(
        description="d" * 100, options=[_string_option(choices=_choices(19, name="n" * 98, value="v" * 98))]
    )
    assert (await world.send("PUT", COMMANDS_URL, at_limit))[0] == 200  # 3,895 characters: under 4,000

    choices = {"type": 8, "data": {"choices": [{"name": "pandas", "value": "v" * 100}]}}
    assert (await world.send("POST", AUTOCOMPLETE, choices))[0] == 204
    private = {
        "type": 4,
        "data": {"content": "only you", "flags": EPHEMERAL, "allowed_mentions": {"parse": []}},
    }
    assert (await world.send("POST", CALLBACK, private))[0] == 204
    assert world.fresh.callback == private
    status, followup = await world.send(
        "POST", FOLLOWUP + "?wait=true", {"content": "more", "flags": EPHEMERAL}
    )
    assert status == 200 and followup["flags"] == EPHEMERAL
    assert (await world.send("PATCH", ORIGINAL, {"content": "answered, edited"}))[0] == 200
    assert fake.original_response(world.answered)["content"] == "answered, edited"  # type: ignore[index]
    assert not fake.internal_errors


# Values of every JSON type, and a few edge ones, to put in place of each field of a valid body.
MUTANTS: list[Any] = [None, True, -1, 2**70, 1.5, "", "x" * 5000, "9" * 30, [], [None], {}, {"a": 1}]


def _mutations(body: Any, path: tuple[Any, ...] = ()) -> list[tuple[tuple[Any, ...], Any]]:
    """Every (path, body) with one field (or item) replaced by one mutant."""
    found: list[tuple[tuple[Any, ...], Any]] = []
    children = body.items() if isinstance(body, dict) else enumerate(body) if isinstance(body, list) else []
    for key, value in children:
        for mutant in MUTANTS:
            copy = json.loads(json.dumps(body))
            copy[key] = mutant
            found.append(((*path, key), copy))
        for sub_path, sub_body in _mutations(value, ()):
            copy = json.loads(json.dumps(body))
            copy[key] = sub_body
            found.append(((*path, key, *sub_path), copy))
    return found


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        (
            "POST",
            MESSAGES,
            {
                "content": "hi",
                "embeds": [{"title": "t", "fields": [{"name": "n", "value": "v"}]}],
                "components": [
                    {"type": 1, "components": [{"type": 2, "style": 1, "custom_id": "c", "label": "l"}]}
                ],
                "message_reference": {"message_id": "1", "fail_if_not_exists": False},
            },
        ),
        ("PUT", COMMANDS_URL, _command(options=[_string_option(choices=_choices(2))])),
        ("POST", AUTOCOMPLETE, {"type": 8, "data": {"choices": _choices(2)}}),
        ("POST", FOLLOWUP, {"content": "hi", "flags": EPHEMERAL, "attachments": []}),
    ],
    ids=["channel message", "commands", "autocomplete", "followup"],
)
async def test_no_mutation_of_a_valid_body_makes_the_fake_fail(
    world: World, method: str, path: str, body: Any
) -> None:
    """Whatever a hostile or careless body holds, the fake answers 2xx or 4xx, never a crash."""
    contract = load_contract()
    assert contract is not None
    for where, mutated in _mutations(body):
        status, answer = await world.send(method, path, mutated)
        assert status < 500, f"{where}: {status} {answer}"
        if status >= 400 and contract.problems(
            method, world.url(path)[len(world.fake.api_base) :], mutated, has_body=True
        ):
            assert status == 400 and answer["code"] == 50035, f"{where}: {answer}"
    assert not world.fake.internal_errors

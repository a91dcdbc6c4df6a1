"""Forms as Discord modals: the pure rendering within Discord's limits, the fake's modal contract, and end to
end with the real discord.py and the real core against the fake Discord (open, submit, fall back)."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

import discord
import pytest

from adapters.discord.client import DiscordPlatform, build_client
from adapters.discord.render import SEPARATOR, form_answers, render, render_form
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.registry import Arg, ArgKind, CommandSpec
from bot.kernel.types import (
    Button,
    Card,
    ConversationRef,
    FieldKind,
    Form,
    FormField,
    Option,
    Reply,
)
from bot.kernel.untrusted import verbatim
from storage.sql_store import SqlStore
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.discord.openapi import SPEC_PATH, load_contract
from tests.fakes.discord.server import CHANNEL_ID, DEFAULT_TOKEN, GUILD_ID

EPHEMERAL = 64
CALLBACK = "/interactions/1/token/callback"
HOSTILE = "@everyone <@&1> **bold** [Claim Nitro](https://evil.example) # heading"
LONG_CHECK = (
    "The notebook runs from top to bottom without errors, and its README says how to get the data and how to "
    "reproduce every figure in the write-up"
)
CHECKS = tuple(Option(str(n), f"{LONG_CHECK} ({n})" if n == 1 else f"Check {n}") for n in range(1, 4))

needs_spec = pytest.mark.skipif(
    not SPEC_PATH.exists(), reason=f"Discord's OpenAPI spec is not at {SPEC_PATH}"
)


def review_form(thing: str = "7", *, fields: int = 3, intro: str = "Review " + verbatim(HOSTILE)) -> Form:
    made = (
        FormField(
            "verdict",
            "Verdict",
            FieldKind.ONE,
            (Option("accept", "Accept"), Option("needs-work", "Needs work")),
            hint="Accept, or send it back",
        ),
        FormField("checks", "What holds", FieldKind.MANY, CHECKS, required=False),
        FormField("comment", "Comment", FieldKind.TEXT, required=False, max_chars=2000, hint="Be kind"),
    )
    extra = tuple(FormField(f"extra{n}", f"Extra {n}", FieldKind.TEXT) for n in range(fields - 3))
    args = (thing,) if thing else ()
    return Form("Review: " + verbatim(HOSTILE), "rate", args, (made + extra)[:fields], intro)


def modal_body(form: Form) -> dict[str, Any]:
    return {"type": 9, "data": render_form(form).to_dict()}


# ---------------------------------------------------------------------------------------------- pure render


def test_a_form_renders_as_a_modal_of_labelled_inputs() -> None:
    data = render_form(review_form()).to_dict()
    assert data["custom_id"] == SEPARATOR.join(("study", "rate", "7"))  # like a button's
    intro, verdict, checks, comment = data["components"]
    assert intro["type"] == 10
    assert [c["type"] for c in (verdict, checks, comment)] == [18, 18, 18]
    assert verdict["label"] == "Verdict" and verdict["description"] == "Accept, or send it back"
    radio = verdict["component"]
    assert radio["type"] == 21 and radio["custom_id"] == "verdict" and radio["required"] is True
    assert [o["value"] for o in radio["options"]] == ["accept", "needs-work"]
    boxes = checks["component"]
    assert boxes["type"] == 22 and boxes["custom_id"] == "checks"
    assert (boxes["min_values"], boxes["max_values"], boxes["required"]) == (0, 3, False)
    text = comment["component"]
    assert text["type"] == 4 and text["style"] == 2  # paragraph: newlines allowed
    assert (text["custom_id"], text["max_length"], text["required"]) == ("comment", 2000, False)


def test_titles_labels_and_options_are_shortened_visibly_to_discords_caps() -> None:
    field = FormField("x" * 10, "L" * 60, FieldKind.MANY, CHECKS, hint="h " * 80)
    form = Form("T" * 60, "rate", ("7",), (field,))
    data = render_form(form).to_dict()
    assert len(data["title"]) == 45 and data["title"].endswith("…")
    [label] = data["components"]
    assert len(label["label"]) == 45 and label["label"].endswith("…")
    assert len(label["description"]) <= 100 and label["description"].endswith("…")
    long, *_ = label["component"]["options"]
    assert len(long["label"]) <= 100 and long["label"].endswith("…")
    assert long["description"].startswith("…") and len(long["description"]) <= 100
    # Nothing of the label is lost while it fits the two: the description goes on where the label stops.
    shown = long["label"].removesuffix("…") + " " + long["description"].removeprefix("…")
    assert shown == f"{LONG_CHECK} (1)"
    assert long["value"] == "1"  # values are never cut: they come back as the answer


def test_a_form_that_does_not_fit_a_modal_raises() -> None:
    render_form(review_form(fields=4))  # the intro and 4 fields: Discord's 5 components
    with pytest.raises(ValueError, match="holds 1 to 4 beside its intro"):
        render_form(review_form(fields=5))
    render_form(review_form(fields=5, intro=""))
    with pytest.raises(ValueError, match="holds 1 to 5"):
        render_form(review_form(fields=6, intro=""))
    many = FormField("checks", "What holds", FieldKind.MANY, tuple(Option(str(n), "x") for n in range(11)))
    with pytest.raises(ValueError, match="offers 11 options"):
        render_form(Form("t", "rate", (), (many,)))
    lonely = FormField("verdict", "Verdict", FieldKind.ONE, (Option("accept", "Accept"),))
    with pytest.raises(ValueError, match="offers 1 options"):
        render_form(Form("t", "rate", (), (lonely,)))
    long_value = FormField("v", "V", FieldKind.ONE, (Option("a" * 101, "A"), Option("b", "B")))
    with pytest.raises(ValueError, match="option values"):
        render_form(Form("t", "rate", (), (long_value,)))
    with pytest.raises(ValueError, match="custom_id"):
        render_form(review_form(thing="x" * 100))
    with pytest.raises(ValueError, match="1 to 4"):
        render_form(Form("t", "rate", (), (), "intro only"))


def test_hostile_text_is_escaped_in_the_intro_and_plain_in_labels() -> None:
    hostile = FormField("comment", verbatim("<@&1> @here"), FieldKind.TEXT, hint=verbatim(HOSTILE))
    form = Form(verbatim("@everyone **x**"), "rate", ("7",), (hostile,), "Submitted by " + verbatim(HOSTILE))
    data = render_form(form).to_dict()
    intro, label = data["components"]
    content = intro["content"]
    # The text display is markdown: nothing in it may format, link or mention.
    assert content.startswith("Submitted by ")
    assert "\\@everyone" in content and "\\<@&1>" in content and "\\*\\*bold\\*\\*" in content
    assert "https\\://evil.example" in content and "\\[Claim Nitro\\]" in content
    # Labels, descriptions and titles are plain text on Discord: shown as typed, markers gone.
    assert label["label"] == "<@&1> @here" and data["title"] == "@everyone **x**"
    assert label["description"] == HOSTILE
    assert all("\ue000" not in str(v) and "\ue001" not in str(v) for v in (data, content))


def test_a_proactive_reply_with_a_form_renders_its_text_only() -> None:
    message = render(Reply(text="Review the submission", cards=(Card("Rate 7"),), form=review_form()))
    assert message.content == "Review the submission" and message.embeds[0].title == "Rate 7"


def test_answers_are_read_from_discords_modal_submit_components() -> None:
    submitted = [
        {"type": 10, "id": 1},
        {"type": 18, "id": 2, "component": {"type": 21, "id": 3, "custom_id": "verdict", "value": "accept"}},
        {
            "type": 18,
            "id": 4,
            "component": {"type": 22, "id": 5, "custom_id": "checks", "values": ["1", "3"]},
        },
        {"type": 18, "id": 6, "component": {"type": 4, "id": 7, "custom_id": "comment", "value": "a\nb "}},
        {"type": 1, "components": [{"type": 4, "custom_id": "old", "value": "row"}]},
    ]
    assert form_answers(submitted) == (
        ("verdict", "accept"),
        ("checks", "1,3"),
        ("comment", "a\nb "),
        ("old", "row"),
    )
    unset = {"type": 18, "id": 8, "component": {"type": 21, "id": 9, "custom_id": "verdict", "value": None}}
    assert form_answers([unset]) == ()  # no option chosen: no answer
    assert form_answers({"not": "a list"}) == () and form_answers([{"type": 22, "custom_id": 5}]) == ()
    assert len(form_answers([submitted[3]] * 50)) == 5  # a forged flood is read only as far as a modal goes


# ---------------------------------------------------------------------------------------------- the contract


@needs_spec
def test_the_fake_accepts_studybots_modals_and_refuses_what_discord_refuses() -> None:
    contract = load_contract()
    assert contract is not None

    def problems(body: dict[str, Any]) -> list[str]:
        return [code for _, code, _ in contract.problems("POST", CALLBACK, body, has_body=True)]

    assert problems(modal_body(review_form(fields=4))) == []
    assert problems(modal_body(review_form(fields=5, intro=""))) == []
    six = modal_body(review_form(fields=4))
    six["data"]["components"].append(six["data"]["components"][1])  # 6 components, a custom_id twice
    assert "BASE_TYPE_BAD_LENGTH" in problems(six) and "COMPONENT_CUSTOM_ID_DUPLICATED" in problems(six)
    body = modal_body(review_form())
    body["data"]["components"][1]["label"] = "L" * 46
    assert problems(body) == ["BASE_TYPE_MAX_LENGTH"]
    body = modal_body(review_form())
    body["data"]["components"][2]["component"]["required"] = True  # with min_values 0
    assert problems(body) == ["BASE_TYPE_BAD_INT"]
    body = modal_body(review_form())
    body["data"]["components"][2]["component"]["options"][0]["label"] = "x" * 101
    assert problems(body) == ["BASE_TYPE_MAX_LENGTH"]
    body = modal_body(review_form())
    body["data"]["components"][1]["component"]["options"] *= 6  # 12 radio options
    assert "BASE_TYPE_MAX_LENGTH" in problems(body)
    body = modal_body(review_form())
    body["data"]["components"][1]["component"]["type"] = 99
    assert problems(body)


# ---------------------------------------------------------------------------------------------- end to end


class World:
    def __init__(self, fake: FakeDiscord, core: Core, client: discord.Client) -> None:
        self.fake, self.core, self.client = fake, core, client
        self.platform = DiscordPlatform(client, DEFAULT_TOKEN)
        self.member = fake.add_user("ada", display_name="Ada")


# What the test command saw: its parsed arguments and where it ran. Set per test by the fixture.
SEEN: list[tuple[dict[str, Any], ConversationRef]] = []
SLOW = {"form": 0.0, "answer": 0.0}
FIELDS = {"count": 3}


async def rate(ctx: Any, args: dict[str, Any]) -> Reply:
    """Without answers: the form (with its text and cards as the fallback); with them: an echo."""
    thing = args.get("thing", "")
    if "verdict" not in args:
        await asyncio.sleep(SLOW["form"])
        return Reply(
            text="Rate it: `/study rate verdict:accept`",
            cards=(Card("Rating " + verbatim(thing), "Say accept or needs-work."),),
            ephemeral=True,
            form=review_form(thing, fields=FIELDS["count"]),
        )
    await asyncio.sleep(SLOW["answer"])
    SEEN.append((args, ctx.conversation))
    if args.get("comment") == "again":  # a reply to a submitted form cannot open a form again
        return Reply(text="Once more, typed", form=review_form(thing), ephemeral=True)
    return Reply(text="Rated " + verbatim(args["verdict"]))


RATE = CommandSpec(
    "rate",
    "Rate something.",
    rate,
    (
        Arg("thing", ArgKind.WORD, required=False, hidden=True),
        Arg("verdict", ArgKind.CHOICE, required=False, choices=("accept", "needs-work")),
        Arg("checks", ArgKind.WORD, required=False, key="checks"),
        Arg("comment", ArgKind.REST, required=False),
    ),
)


@pytest.fixture
async def world(sqlite_store: SqlStore, catalog: Catalog) -> AsyncIterator[World]:
    SEEN.clear()
    SLOW.update(form=0.0, answer=0.0)
    FIELDS["count"] = 3
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    # Before the client is built: the slash commands come from the registry. /study has Discord's most, 25
    # subcommands, so `rate` takes the place of one this file does not use.
    del core.registry.commands["unlink"]
    core.registry.add(RATE)
    async with FakeDiscord() as fake:
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await fake.start_client(client)
        try:
            yield World(fake, core, client)
        finally:
            await fake.stop_client(client)


async def post_button(world: World, thing: str = "7") -> dict[str, Any]:
    conversation = ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID))
    await world.platform.send(
        conversation, Reply(text="A submission", buttons=(Button("Rate", "rate", (thing,)),))
    )
    return world.fake.channel_messages(CHANNEL_ID)[-1]


async def open_modal(world: World, message: dict[str, Any], user_id: int | None = None) -> FakeInteraction:
    [row] = message["components"]
    [button] = row["components"]
    clicked = await world.fake.click(int(message["id"]), button["custom_id"], user_id=user_id or world.member)
    callback = await world.fake.wait_for_callback(clicked)
    assert callback["type"] == 9, callback
    return clicked


def text_of(message: dict[str, Any]) -> str:
    parts = [message.get("content") or ""]
    for embed in message.get("embeds", []):
        parts += [embed.get("title", ""), embed.get("description", "")]
    return "\n".join(parts)


async def test_a_click_opens_the_form_and_its_answers_reach_the_command(world: World) -> None:
    clicked = await open_modal(world, await post_button(world))
    modal = clicked.callback["data"]  # type: ignore[index]
    assert modal["custom_id"] == "study\x1frate\x1f7" and modal["title"].startswith("Review: @everyone")
    assert [c["type"] for c in modal["components"]] == [10, 18, 18, 18]

    answers = {"verdict": "accept", "checks": ["1", "3"], "comment": "First line\n\nchecks=all x=y "}
    submitted = await world.fake.submit_modal(clicked, answers)
    callback = await world.fake.wait_for_callback(submitted)
    assert not [r for r in world.fake.requests if (r.status or 0) >= 400]  # all met Discord's contract
    assert callback["type"] == 4 and callback["data"]["flags"] & EPHEMERAL  # to the member only
    assert callback["data"]["content"] == "Rated accept"
    assert callback["data"]["allowed_mentions"] == {"parse": []}
    [(args, conversation)] = SEEN
    comment = "First line\n\nchecks=all x=y"  # whole, newlines kept (the core trims the ends)
    assert args == {"thing": "7", "verdict": "accept", "checks": "1,3", "comment": comment}
    assert conversation.workspace_id == str(GUILD_ID)


async def test_a_form_opened_before_a_restart_is_answered_after_it(world: World) -> None:
    clicked = await open_modal(world, await post_button(world))
    await world.fake.stop_client(world.client)
    client, _ = build_client(world.core, guild_ready_timeout=0.05)  # a new process: nothing in memory
    await world.fake.start_client(client)
    try:
        submitted = await world.fake.submit_modal(clicked, {"verdict": "accept"})
        callback = await world.fake.wait_for_callback(submitted)
    finally:
        await world.fake.stop_client(client)
    assert callback["data"]["content"] == "Rated accept" and callback["data"]["flags"] & EPHEMERAL
    assert SEEN[0][0] == {"thing": "7", "verdict": "accept"}


async def test_the_slash_command_opens_the_form_and_unticked_boxes_answer_nothing(world: World) -> None:
    asked = await world.fake.slash("study", "rate", {}, user_id=world.member)
    assert (await world.fake.wait_for_callback(asked))["type"] == 9
    with pytest.raises(ValueError, match="radio group 'verdict' is required"):
        await world.fake.submit_modal(asked, {})
    submitted = await world.fake.submit_modal(asked, {"verdict": "needs-work"})
    callback = await world.fake.wait_for_callback(submitted)
    assert callback["data"]["content"] == "Rated needs-work"
    [(args, _)] = SEEN
    assert args == {"verdict": "needs-work"}  # the hidden thing is never filled from a typed command


async def test_a_slow_core_falls_back_to_the_text_and_cards(
    world: World, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr("adapters.discord.commands.RESPOND_WITHIN", 0.05)
    SLOW["form"] = 0.3  # the form comes after Discord had to be told "thinking…"
    message = await post_button(world)
    [row] = message["components"]
    with caplog.at_level(logging.WARNING, logger="adapters.discord.commands"):
        clicked = await world.fake.click(
            int(message["id"]), row["components"][0]["custom_id"], user_id=world.member
        )
        assert (await world.fake.wait_for_callback(clicked))["type"] == 5
        followup = await world.fake.wait_for_followup(clicked)
    assert "Rate it" in text_of(followup) and "Rating 7" in text_of(followup)
    assert followup["flags"] & EPHEMERAL
    assert "could not open form" in caplog.text and "deferred" in caplog.text


async def test_a_slow_answer_to_a_form_is_deferred_and_followed_up(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    clicked = await open_modal(world, await post_button(world))
    monkeypatch.setattr("adapters.discord.commands.RESPOND_WITHIN", 0.05)
    SLOW["answer"] = 0.3
    submitted = await world.fake.submit_modal(clicked, {"verdict": "accept"})
    assert (await world.fake.wait_for_callback(submitted))["type"] == 5
    followup = await world.fake.wait_for_followup(submitted)
    assert followup["content"] == "Rated accept" and followup["flags"] & EPHEMERAL


async def test_a_form_that_cannot_be_a_modal_is_sent_as_its_text(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    FIELDS["count"] = 5  # the intro and 5 fields: more than a modal holds
    message = await post_button(world)
    [row] = message["components"]
    with caplog.at_level(logging.WARNING, logger="adapters.discord.commands"):
        clicked = await world.fake.click(
            int(message["id"]), row["components"][0]["custom_id"], user_id=world.member
        )
        callback = await world.fake.wait_for_callback(clicked)
    assert callback["type"] == 4 and "Rating 7" in text_of(callback["data"])
    assert "does not fit" in caplog.text


async def test_a_form_in_answer_to_a_submitted_form_is_sent_as_its_text(world: World) -> None:
    clicked = await open_modal(world, await post_button(world))
    submitted = await world.fake.submit_modal(clicked, {"verdict": "accept", "comment": "again"})
    callback = await world.fake.wait_for_callback(submitted)
    assert callback["type"] == 4 and callback["data"]["content"] == "Once more, typed"


async def test_a_forged_modal_gets_nothing_a_click_would_not(world: World) -> None:
    clicked = await open_modal(world, await post_button(world))
    forged = SEPARATOR.join(("study", "cohort create", "sneaky"))
    submitted = await world.fake.submit_modal(clicked, {"verdict": "accept"}, custom_id=forged)
    callback = await world.fake.wait_for_callback(submitted)
    # The core refuses it as it would the same command typed: the answers fit no argument of it.
    assert callback["data"]["flags"] & EPHEMERAL and "does not take" in callback["data"]["content"]
    assert await world.core.store.list_cohorts() == [] and SEEN == []
    forged = SEPARATOR.join(("study", "rate", "8"))  # another submission's id: what its button would give
    submitted = await world.fake.submit_modal(clicked, {"verdict": "accept"}, custom_id=forged)
    await world.fake.wait_for_callback(submitted)
    assert SEEN == [({"thing": "8", "verdict": "accept"}, SEEN[0][1])]


async def test_a_direct_message_keeps_its_buttons_and_a_click_there_opens_the_form(world: World) -> None:
    reply = Reply(text="Please review", buttons=(Button("Review", "rate", ("9",)),), form=review_form("9"))
    await world.platform.send_direct(str(world.member), reply)
    [dm] = world.fake.direct_messages(world.member)
    assert dm["content"] == "Please review"  # the form itself is not sent: a DM cannot open a modal
    assert dm["components"][0]["components"][0]["label"] == "Review"
    clicked = await open_modal(world, dm)
    assert clicked.guild_id is None
    submitted = await world.fake.submit_modal(clicked, {"verdict": "accept", "checks": ["2"]})
    callback = await world.fake.wait_for_callback(submitted)
    assert callback["data"]["content"] == "Rated accept" and callback["data"]["flags"] & EPHEMERAL
    [(args, conversation)] = SEEN
    assert args == {"thing": "9", "verdict": "accept", "checks": "2"}
    assert conversation.workspace_id == "dm"


async def test_a_proactive_post_with_a_form_shows_its_text(world: World) -> None:
    conversation = ConversationRef("discord", str(GUILD_ID), str(CHANNEL_ID))
    reply = Reply(text="Review " + verbatim("@everyone"), cards=(Card("Rating 7"),), form=review_form())
    await world.platform.send(conversation, reply)
    [post] = world.fake.channel_messages(CHANNEL_ID)
    assert post["content"] == "Review \\@everyone" and post["embeds"][0]["title"] == "Rating 7"

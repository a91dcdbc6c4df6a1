"""Forms as Slack modals end to end: the real slack-bolt and slack_sdk and the real core against the fake
Slack, which holds views.open, the modal and the view_submission answer to Slack's published contract.

A test-only command `rate` answers a button click without answers with a Form, and echoes what a submitted
form dispatched; `ask` opens the same form from /study."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from typing import Any

import pytest
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from adapters.slack import modals
from adapters.slack.app import build_app, make_client
from adapters.slack.render import decode_action, encode_action
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.dispatch.core import Core
from bot.kernel.clock import FakeClock
from bot.kernel.registry import Arg, ArgKind, CommandSpec
from bot.kernel.types import Button, FieldKind, Form, FormField, Option, Reply
from bot.kernel.untrusted import verbatim
from storage.sql_store import SqlStore
from tests.fakes.slack import (
    CHANNEL_ID,
    USER_ID,
    FakeSlack,
    block_actions_payload,
    view_block_actions_payload,
)

RATE = encode_action(Button("Rate", "rate", ("7",)))
ANSWERS: dict[str, Any] = {
    "verdict": "needs-work",
    "checks": ["1", "3"],
    "comment": "first line, with checks=all\nsecond <!channel> & *more*",
}
DISPATCHED = {"thing": "7", "verdict": "needs-work", "checks": "1,3", "comment": ANSWERS["comment"]}


class Rating:
    """The test command's handler: a form without answers, else an echo; `delay` makes it slow."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.delay = 0.0

    async def rate(self, ctx: Any, args: dict[str, Any]) -> Reply:
        await asyncio.sleep(self.delay)
        if not {"verdict", "checks", "comment"} & args.keys():
            return Reply(
                text="Rate it: `/study rate 7 accept`", form=self.form(args["thing"]), ephemeral=True
            )
        self.seen.append(args)
        if args.get("comment") == "refuse me":
            return Reply(text="⚠️ That comment " + verbatim("<!channel>") + " is not *allowed*.", error=True)
        echo = "Rated: " + verbatim(repr(sorted(args.items())))
        return Reply(text=echo, buttons=(Button("Rate again", "rate", (args["thing"],)),), ephemeral=True)

    async def ask(self, ctx: Any, args: dict[str, Any]) -> Reply:
        return Reply(text="Rate it by typing instead.", form=self.form("9"), ephemeral=True)

    @staticmethod
    def form(thing: str) -> Form:
        checks = tuple(
            Option(str(i), f"Check {i}: " + "does the notebook run end to end " * 6) for i in range(1, 4)
        )
        return Form(
            "Rate the submission of Ada Lovelace",
            "rate",
            (thing,),
            (
                FormField(
                    "verdict",
                    "Verdict",
                    FieldKind.ONE,
                    (Option("accept", "Accept"), Option("needs-work", "Needs work")),
                ),
                FormField("checks", "What holds", FieldKind.MANY, checks),
                FormField("comment", "Comment", FieldKind.TEXT, required=False, max_chars=500),
            ),
            intro="Rating " + verbatim("<!channel> *Ada's* notebook"),
        )


class Setup:
    def __init__(self, fake: FakeSlack, core: Core, rating: Rating, url: str) -> None:
        self.fake, self.core, self.rating, self.url = fake, core, rating, url

    async def click(self, action_id: str = RATE) -> str:
        response_url = self.fake.new_response_url()
        status, _ = await self.fake.send_interactive(
            self.url, block_actions_payload(action_id, action_id, response_url=response_url)
        )
        assert status == 200
        return response_url


def register(core: Core, rating: Rating) -> None:
    core.registry.add(
        CommandSpec(
            "rate",
            "Rate a submission.",
            rating.rate,
            (
                Arg("thing", ArgKind.WORD, hidden=True),
                Arg("verdict", ArgKind.CHOICE, required=False, choices=("accept", "needs-work")),
                Arg("checks", ArgKind.WORD, required=False, key="checks"),
                Arg("comment", ArgKind.REST, required=False),
            ),
        )
    )
    core.registry.add(CommandSpec("ask", "Open the rating form.", rating.ask, ()))


@pytest.fixture
async def setup(sqlite_store: SqlStore, catalog: Catalog) -> AsyncIterator[Setup]:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    rating = Rating()
    register(core, rating)  # before the app is built, as the composition root does
    async with FakeSlack() as fake:
        client = make_client("xoxb-fake", fake.api_url)
        app = build_app(core, client, signing_secret=fake.signing_secret)
        yield Setup(fake, core, rating, await fake.serve_app(app))
        await client.close()


async def opened(fake: FakeSlack, count: int = 1) -> dict[str, Any]:
    """The `count`th view views.open opened (handlers run after their ack)."""
    for _ in range(500):
        if len(fake.opened) >= count:
            return fake.opened[count - 1]
        await asyncio.sleep(0.01)
    raise AssertionError(f"no view opened; calls: {[c.method for c in fake.calls]}")


def shown(view: dict[str, Any]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in view["blocks"])


async def test_a_click_opens_the_form_and_the_answers_come_back_whole(setup: Setup) -> None:
    response_url = await setup.click()
    view = await opened(setup.fake)
    assert decode_action(view["callback_id"]) == ("rate", ("7",)) and view["private_metadata"] == CHANNEL_ID
    assert [b["block_id"] for b in view["blocks"][1:]] == ["verdict", "checks", "comment"]
    assert "&lt;!channel&gt;" in view["blocks"][0]["text"]["text"]
    answer = await setup.fake.submit_view(view["id"], ANSWERS, app_url=setup.url)
    assert setup.rating.seen == [DISPATCHED]  # radio value, checkboxes joined by ",", text whole
    # The echo is shown to the member only, in the modal they submitted.
    assert answer["response_action"] == "update"
    held = setup.fake.views[view["id"]]
    assert held["title"]["text"] == "studybot" and "Rated:" in shown(held)
    assert "second &lt;!channel&gt; &amp;" in shown(held) and "checks=all" in shown(held)
    assert setup.fake.responses_to(response_url) == []  # the form opened: no text went to the channel
    assert not setup.fake.calls_to("chat.postMessage")


async def test_a_button_in_the_answer_opens_the_form_again_in_the_same_modal(setup: Setup) -> None:
    await setup.click()
    view = await opened(setup.fake)
    await setup.fake.submit_view(view["id"], ANSWERS, app_url=setup.url)
    held = setup.fake.views[view["id"]]
    again = next(b for b in held["blocks"] if b["type"] == "actions")["elements"][0]["action_id"]
    status, _ = await setup.fake.send_interactive(setup.url, view_block_actions_payload(held, again, again))
    assert status == 200
    await setup.fake.wait_for_call("views.update")
    for _ in range(500):
        if setup.fake.views[view["id"]].get("callback_id"):
            break
        await asyncio.sleep(0.01)
    assert decode_action(setup.fake.views[view["id"]]["callback_id"]) == ("rate", ("7",))
    answer = await setup.fake.submit_view(view["id"], {"verdict": "accept"}, app_url=setup.url)
    assert answer["response_action"] == "update"
    assert setup.rating.seen[-1] == {"thing": "7", "verdict": "accept"}  # empty answers leave arguments out


async def test_study_opens_the_form_of_its_reply(setup: Setup) -> None:
    status, _, response_url = await setup.fake.send_slash_command(setup.url, "/study", "ask")
    assert status == 200
    view = await opened(setup.fake)
    assert decode_action(view["callback_id"]) == ("rate", ("9",))
    await setup.fake.submit_view(view["id"], {"verdict": "accept", "checks": ["2"]}, app_url=setup.url)
    assert setup.rating.seen == [{"thing": "9", "verdict": "accept", "checks": "2"}]
    assert setup.fake.responses_to(response_url) == []


async def test_an_error_is_shown_under_the_text_field_and_the_form_stays_open(setup: Setup) -> None:
    await setup.click()
    view = await opened(setup.fake)
    answer = await setup.fake.submit_view(
        view["id"], {"verdict": "accept", "comment": "refuse me"}, app_url=setup.url
    )
    assert answer == {
        "response_action": "errors",
        "errors": {"comment": "⚠️ That comment <!channel> is not *allowed*."},  # plain text, shown as written
    }
    assert view["id"] not in setup.fake.closed
    answer = await setup.fake.submit_view(
        view["id"], {"verdict": "accept", "comment": "fine"}, app_url=setup.url
    )
    assert answer["response_action"] == "update"


async def test_a_core_error_about_the_answers_is_shown_too(setup: Setup) -> None:
    await setup.click()
    view = await opened(setup.fake)
    answer = await setup.fake.submit_view(
        view["id"], {"verdict": "accept", "comment": "a\x00b"}, app_url=setup.url
    )
    assert answer["response_action"] == "errors" and "control characters" in answer["errors"]["comment"]
    assert setup.rating.seen == []


async def test_an_expired_trigger_sends_the_replys_text_instead(setup: Setup) -> None:
    setup.fake.trigger_seconds = 0.2
    setup.rating.delay = 0.4  # the core answers after the click's trigger expired
    response_url = await setup.click()
    sent = await setup.fake.wait_for_response(response_url)
    assert sent["response_type"] == "ephemeral" and "Rate it: `/study rate 7 accept`" in sent["text"]
    assert setup.fake.opened == [] and len(setup.fake.expired_triggers) == 1


async def test_a_slow_submission_closes_the_modal_and_answers_directly(
    setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    await setup.click()
    view = await opened(setup.fake)
    monkeypatch.setattr(modals, "SUBMIT_WAIT_SECONDS", 0.1)
    setup.rating.delay = 0.4
    answer = await setup.fake.submit_view(view["id"], ANSWERS, app_url=setup.url)
    assert answer == {} and view["id"] in setup.fake.closed  # a plain ack within the deadline
    dm = (await setup.fake.wait_for_call("chat.postMessage")).args
    assert dm["channel"] == "D0" + USER_ID and "Rated:" in dm["text"]
    assert setup.rating.seen == [DISPATCHED]


async def test_the_form_works_over_socket_mode(sqlite_store: SqlStore, catalog: Catalog) -> None:
    core = make_core(sqlite_store, catalog, FakeClock(dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)))
    rating = Rating()
    register(core, rating)
    async with FakeSlack() as fake:
        client = make_client("xoxb-fake", fake.api_url)
        handler = AsyncSocketModeHandler(build_app(core, client), app_token="xapp-x")
        await handler.connect_async()  # type: ignore[no-untyped-call]
        try:
            click = block_actions_payload(RATE, RATE, response_url=fake.new_response_url())
            await fake.wait_for_ack(await fake.socket_send("interactive", click))
            view = await opened(fake)
            answer = await fake.submit_view(view["id"], ANSWERS)
            assert answer["response_action"] == "update" and "Rated:" in shown(answer["view"])
        finally:
            await handler.close_async()  # type: ignore[no-untyped-call]
            await client.close()
    assert rating.seen == [DISPATCHED]

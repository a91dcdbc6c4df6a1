"""Slack among hostile members (issue 12), through the real core, slack-bolt and slack_sdk against the fake
Slack: member text is shown and never obeyed, typed text is stored as typed, one primary button, App Home
uploads reused and refreshes throttled, a demoted admin loses rights within a minute, malformed and replayed
signed requests change nothing, and no response_url token reaches the logs in any encoding."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import io
import json
import logging
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import HomeRefresher, InFlight, SlackPlatform, build_app, make_client
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.composition.logsafe import RedactSecrets, configure_logging
from bot.composition.settings import Settings
from bot.dispatch.core import Core
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore
from tests.fakes.slack import (
    USER_ID,
    FakeSlack,
    app_home_opened_event,
    block_actions_payload,
    event_callback_body,
    slash_command_body,
)

MEMBER = "U0MEMBER"
# A display name that tries every trick: a channel-wide ping, a link, an entity, and mrkdwn formatting.
HOSTILE_NAME = "<!channel> <https://evil.example|prize> &amp; *boss* _it_ ~x~ `c`"
# How Slack must get it in mrkdwn: escaped once, formatting characters as look-alikes.
HOSTILE_SHOWN = (
    "&lt;!channel&gt; &lt;https://evil.example|prize&gt; &amp;amp; \u2217boss\u2217 \u02cdit\u02cd "
    "\u223cx\u223c \u02cbc\u02cb"
)
START = dt.datetime(2026, 11, 24, 8, 0, tzinfo=dt.UTC)


@dataclass
class Slack:
    fake: FakeSlack
    core: Core
    clock: FakeClock
    url: str
    homes: HomeRefresher
    in_flight: InFlight
    settled: int = 0

    async def study(self, text: str, user: str = USER_ID) -> dict[str, Any]:
        """Send `/study text` as Slack would (the text escaped as Slack sends it) and return the reply."""
        status, _, response_url = await self.fake.send_slash_command(self.url, "/study", text, user_id=user)
        assert status == 200
        return await self.fake.wait_for_response(response_url)  # type: ignore[no-any-return]

    async def settle(self) -> None:
        """Wait until every command handler and App Home refresh started so far has finished."""
        self.settled += 1
        marker = f"U0MARK{self.settled}"  # a new member each time: the spam limit counts per member
        self.fake.set_user(marker, name="marker")
        await self.study("help", user=marker)  # handled after every request sent before it was acked
        await self.in_flight.finish(5)
        await self.homes.idle()


async def serve(
    fake: FakeSlack, core: Core, clock: FakeClock, homes: HomeRefresher | None = None
) -> AsyncIterator[Slack]:
    client = make_client("xoxb-fake", fake.api_url)
    homes = HomeRefresher(core, client) if homes is None else homes
    in_flight = InFlight()
    app = build_app(core, client, signing_secret=fake.signing_secret, homes=homes, in_flight=in_flight)
    yield Slack(fake, core, clock, await fake.serve_app(app), homes, in_flight)
    await homes.close()
    await client.close()


@pytest.fixture
def core(sqlite_store: SqlStore, catalog: Catalog) -> Core:
    return make_core(sqlite_store, catalog, FakeClock(START))


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        fake.set_user(USER_ID, is_admin=True, name="mia")
        fake.set_user(MEMBER, name="ada")
        yield fake


@pytest.fixture
async def slack(fake: FakeSlack, core: Core) -> AsyncIterator[Slack]:
    assert isinstance(core.clock, FakeClock)
    async for served in serve(fake, core, core.clock):
        yield served


def slack_escaped(text: str) -> str:
    """Text as Slack sends it in a slash command: &, < and > escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def texts(node: Any) -> list[str]:
    """Every "text" string in a message or view, the top-level fallback included."""
    if isinstance(node, dict):
        own = [node["text"]] if isinstance(node.get("text"), str) else []
        return own + [t for value in node.values() for t in texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in texts(value)]
    return []


def mrkdwn_texts(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["text"]] if node.get("type") == "mrkdwn" else []
        return own + [t for value in node.values() for t in mrkdwn_texts(value)]
    if isinstance(node, list):
        return [t for value in node for t in mrkdwn_texts(value)]
    return []


# ---------------------------------------------------------------- 1. escaped on the way out


async def test_a_hostile_display_name_is_shown_and_never_obeyed_in_blocks_or_fallback(slack: Slack) -> None:
    slack.fake.set_user(MEMBER, name=HOSTILE_NAME)
    await slack.study("cohort create ml tz=UTC days=daily")
    await slack.study("join ml", user=MEMBER)
    await slack.study("done", user=MEMBER)
    board = await slack.study("leaderboard", user=MEMBER)
    granted = await slack.study("cohort grant <@U0MEMBER|ada>")  # a public reply naming the member

    for reply in (board, granted):
        # The notification text is mrkdwn as well: no raw mention, link or entity, nothing formatted.
        assert HOSTILE_SHOWN in reply["text"], reply["text"]
        assert any(HOSTILE_SHOWN in t for t in mrkdwn_texts(reply["blocks"]))
        for text in texts(reply):
            assert "<!channel>" not in text and "<https://evil" not in text
            assert "*boss*" not in text and "_it_" not in text and "`c`" not in text
            assert "\ue000" not in text and "\ue001" not in text  # the core's marks never reach Slack
    assert granted["response_type"] == "in_channel"
    assert "*boss*" not in json.dumps(granted)  # nor anywhere else in what went over the wire


async def test_plain_text_objects_show_pack_text_literally(slack: Slack) -> None:
    await slack.study("cohort create ml tz=UTC days=daily")
    await slack.study("join ml", user=MEMBER)
    reply = await slack.study("roadmap", user=MEMBER)
    headers = [b["text"]["text"] for b in reply["blocks"] if b["type"] == "header"]
    assert headers and all("\ue000" not in h and "&amp;" not in h and "&lt;" not in h for h in headers)


# ---------------------------------------------------------------- 2. cleaned on the way in


async def test_typed_ampersands_and_brackets_are_stored_once_and_mentions_still_resolve(slack: Slack) -> None:
    await slack.study("cohort create ml tz=UTC days=daily")
    await slack.study("join ml", user=MEMBER)
    note = "pandas & numpy <3 (&lt; is how HTML writes <)"
    done = await slack.study(f"done {slack_escaped(note)}", user=MEMBER)
    shown = "pandas &amp; numpy &lt;3 (&amp;lt; is how HTML writes &lt;)"  # escaped once, for display
    assert shown in done["text"] and "&amp;amp;" not in done["text"], done["text"]
    # A mention arrives unescaped (it is Slack's own markup) and still names the member.
    granted = await slack.study("cohort grant <@U0MEMBER|ada>")
    assert "ada is now a moderator" in granted["text"], granted["text"]
    assert "is for moderators" not in (await slack.study("cohort list", user=MEMBER))["text"]


# ---------------------------------------------------------------- 3. one primary button


async def test_at_most_one_button_of_a_set_is_primary(slack: Slack) -> None:
    await slack.study("cohort create ml time=09:00 tz=UTC days=daily")
    client = make_client("xoxb-fake", slack.fake.api_url)
    platform = SlackPlatform(client)
    seen_quiz = False
    for _ in range(30):  # to the first quiz day
        slack.clock.set(slack.clock.now().replace(hour=9, minute=1))
        await Poster(slack.core, {"slack": platform}).sweep()
        post = slack.fake.calls_to("chat.postMessage")[-1].args
        buttons = [e for b in post["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert [e.get("style") for e in buttons].count("primary") <= 1
        if [e["text"]["text"] for e in buttons] == ["A", "B", "C", "D"]:
            seen_quiz = True
            assert all("style" not in e for e in buttons)  # equal choices: none highlighted as a hint
            break
        slack.clock.set(slack.clock.now() + dt.timedelta(days=1))
    await client.close()
    assert seen_quiz


# ---------------------------------------------------------------- 4. App Home: uploads reused, throttled


async def open_home(slack: Slack, user: str, event_id: str) -> None:
    status, _, _ = await slack.fake.send_event(
        slack.url, event_callback_body(app_home_opened_event(user), event_id=event_id)
    )
    assert status == 200


async def test_ten_home_opens_make_one_upload_and_one_refresh(slack: Slack) -> None:
    await slack.study("cohort create ml tz=UTC days=daily")
    await slack.study("join ml", user=MEMBER)
    await slack.study("done", user=MEMBER)  # refreshes the App Home: its heatmap is uploaded
    for i in range(10):
        await open_home(slack, MEMBER, f"EvOpen{i}")
    await slack.settle()
    [publish] = slack.fake.calls_to("views.publish")
    assert len(slack.fake.calls_to("files.completeUploadExternal")) == 1 and len(slack.fake.files) == 1
    [image] = [b for b in publish.args["view"]["blocks"] if b["type"] == "image"]
    assert image["slack_file"]["id"] in slack.fake.files


async def test_an_unchanged_heatmap_is_reused_and_a_replaced_one_deleted(fake: FakeSlack, core: Core) -> None:
    assert isinstance(core.clock, FakeClock)
    client = make_client("xoxb-fake", fake.api_url)
    unthrottled = HomeRefresher(core, client, interval=0)  # every open refreshes: only the hash reuses
    async for slack in serve(fake, core, core.clock, unthrottled):
        await slack.study("cohort create ml tz=UTC days=daily")
        await slack.study("join ml", user=MEMBER)
        await slack.study("done", user=MEMBER)
        await slack.settle()
        for i in range(10):
            await open_home(slack, MEMBER, f"EvOpen{i}")
            await slack.settle()
        publishes = fake.calls_to("views.publish")
        assert len(publishes) == 11
        images = {
            b["slack_file"]["id"] for p in publishes for b in p.args["view"]["blocks"] if b["type"] == "image"
        }
        assert len(images) == 1 and len(fake.calls_to("files.completeUploadExternal")) == 1
        assert fake.calls_to("files.delete") == []

        slack.clock.advance(dt.timedelta(days=1))  # another day's check-in: a new heatmap
        await slack.study("done", user=MEMBER)
        await slack.settle()
        assert len(fake.calls_to("files.completeUploadExternal")) == 2
        [deleted] = fake.calls_to("files.delete")  # the old one, which no home shows any more
        assert deleted.args["file"] in images
    await client.close()


async def test_a_change_within_the_interval_refreshes_once_at_its_end(fake: FakeSlack, core: Core) -> None:
    assert isinstance(core.clock, FakeClock)
    client = make_client("xoxb-fake", fake.api_url)
    homes = HomeRefresher(core, client, interval=0.2)  # short, so the test need not wait a minute
    async for slack in serve(fake, core, core.clock, homes):
        await slack.study("cohort create ml tz=UTC days=daily")
        await slack.study("join ml", user=MEMBER)
        await slack.study("done", user=MEMBER)  # refreshed at once
        for topic in ("role/what-mles-do", "role/mle-vs-data-scientist", "role/project-lifecycle"):
            await slack.study(f"learned {topic}", user=MEMBER)
        await slack.settle()
        # The first refresh at once, the three asks within the interval folded into one at its end.
        assert len(fake.calls_to("views.publish")) == 2
    await client.close()  # its shared session: left open, its finalizer runs at a random later moment


# ---------------------------------------------------------------- 5. a demoted admin


async def test_a_demoted_workspace_admin_loses_moderator_rights_within_a_minute(slack: Slack) -> None:
    assert "Cohort ml created" in (await slack.study("cohort create ml tz=UTC days=daily"))["text"]
    slack.fake.set_user(USER_ID, is_admin=False)  # a workspace owner demotes mia
    slack.clock.advance(dt.timedelta(seconds=61))
    refused = await slack.study("cohort list")
    assert "is for moderators" in refused["text"], refused["text"]


# ---------------------------------------------------------------- 6. the HTTP endpoint


def signed_with(body: str, secret: str, timestamp: str) -> dict[str, str]:
    """Headers signed over whatever `timestamp` says, as a sender holding the secret could make them."""
    base = f"v0:{timestamp}:{body}".encode()
    digest = hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }


@pytest.mark.parametrize("timestamp", ["abc", "1e9", "", "1700000000.5"])
async def test_a_malformed_timestamp_is_a_bad_signature(
    slack: Slack, caplog: pytest.LogCaptureFixture, timestamp: str
) -> None:
    body = urllib.parse.urlencode(
        slash_command_body("/study", "cohort create sneaky", response_url=slack.fake.new_response_url())
    )
    status, _, _ = await slack.fake.post_to(
        slack.url, body, signed_with(body, slack.fake.signing_secret, timestamp)
    )
    assert status == 401
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await slack.core.store.list_cohorts() == []


async def test_a_signed_request_sent_again_or_retried_by_slack_runs_once(slack: Slack) -> None:
    response_url = slack.fake.new_response_url()
    body = urllib.parse.urlencode(
        slash_command_body("/study", "done", response_url=response_url, user_id=MEMBER)
    )
    await slack.study("cohort create ml tz=UTC days=daily")
    await slack.study("join ml", user=MEMBER)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **slack.fake.sign(body)}
    for _ in range(3):  # the same signed bytes, three times
        assert (await slack.fake.post_to(slack.url, body, headers))[0] == 200
    # Slack's own retry: the same body, signed again with a later timestamp.
    retry = {**headers, **slack.fake.sign(body, timestamp=int(time.time()) + 1), "X-Slack-Retry-Num": "1"}
    assert (await slack.fake.post_to(slack.url, body, retry))[0] == 200
    await slack.settle()
    [reply] = slack.fake.responses_to(response_url)
    assert "Checked in" in json.dumps(reply, ensure_ascii=False), reply
    streak = await slack.study("streak", user=MEMBER)
    assert "1 day" in streak["text"], streak["text"]


# ---------------------------------------------------------------- 7. logs


@pytest.fixture
def log_stream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> Iterator[io.StringIO]:
    """studybot's own logging set-up, at INFO, writing to a string."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "fake-signing-secret")
    monkeypatch.setenv("STUDYBOT_LOG_LEVEL", "INFO")
    caplog.set_level(logging.INFO)
    stream = io.StringIO()
    handler = configure_logging(Settings(), stream)
    yield stream
    root = logging.getLogger()
    root.removeHandler(handler)
    for each in root.handlers:
        for f in [f for f in each.filters if isinstance(f, RedactSecrets)]:
            each.removeFilter(f)


async def test_no_response_url_token_reaches_the_logs_in_any_encoding(
    log_stream: io.StringIO, slack: Slack, caplog: pytest.LogCaptureFixture
) -> None:
    # log_stream first: bolt's loggers take the root logger's level when the app is built.
    tokens = ["HookTokenPlainForm1", "HookTokenJsonEvent2", "HookTokenInteractive3"]
    hook = "https://hooks.slack.com/{}/T0FAKE/1234/{}"
    form = urllib.parse.urlencode(
        slash_command_body("/study", "help", response_url=hook.format("commands", tokens[0]))
    )
    # Slack's JSON escapes slashes: `https:\/\/hooks.slack.com\/...`.
    event = json.dumps({"type": "event_callback", "response_url": hook.format("actions", tokens[1])}).replace(
        "/", "\\/"
    )
    payload = json.dumps(
        block_actions_payload("study\x1fhelp", response_url=hook.format("actions", tokens[2]))
    ).replace("/", "\\/")
    interactive = urllib.parse.urlencode({"payload": payload})
    for body, kind in (
        (form, "application/x-www-form-urlencoded"),
        (event, "application/json"),
        (interactive, "application/x-www-form-urlencoded"),
    ):
        headers = {"Content-Type": kind, **slack.fake.sign(body, "a-wrong-secret")}
        assert (await slack.fake.post_to(slack.url, body, headers))[0] == 401
    written = log_stream.getvalue()
    assert written.count("Invalid request signature detected") == 3  # bolt logged each body, at INFO
    assert "hooks.slack.com%2Fcommands%2FT0FAKE%2F1234%2F" in written  # the URL, but not its token
    everything = written + caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert [t for t in tokens if t in everything] == []

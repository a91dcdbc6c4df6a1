"""Secrets never reach the logs: full Discord and Slack runs against the fakes with DEBUG logging everywhere,
through the logging set-up `studybot` itself uses, write no token, signing secret or password."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import json
import logging
import os
import signal
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import discord
import pytest

from adapters.discord.client import DiscordPlatform, build_client
from adapters.github.verifier import GitHubVerifier
from adapters.slack.app import SlackPlatform, SlackService, build_app, make_client
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.composition.logsafe import REDACTED, RedactSecrets, configure_logging, hide_password
from bot.composition.settings import Settings
from bot.dispatch.core import Core
from bot.features.submissions import parse_evidence
from bot.jobs.posting import Poster
from bot.kernel.clock import FakeClock
from bot.kernel.types import Verified
from storage.sql_store import SqlStore
from tests.fakes.discord import CHANNEL_ID as DISCORD_CHANNEL
from tests.fakes.discord import FakeDiscord, FakeInteraction
from tests.fakes.github import FakeCommit, FakeGitHub
from tests.fakes.slack import CHANNEL_ID as SLACK_CHANNEL
from tests.fakes.slack import USER_ID, FakeSlack, block_actions_payload, slash_command_body

# Distinctive values, so that any appearance in a log is this test's secret and nothing else.
DISCORD_TOKEN = "MTE5NzQy.studybot-DiscordTokenSecret.x9Qz-LOGTEST"
SLACK_BOT_TOKEN = "xoxb-4242-studybot-BotTokenSecret"
SLACK_APP_TOKEN = "xapp-1-A0FAKE-4242-studybot-AppTokenSecret"
SIGNING_SECRET = "studybot-SigningSecret-8c1f3e"
DB_PASSWORD = "studybot-DbPassword-77"
GITHUB_TOKEN = "ghp_studybotGitHubTokenSecret0042"
# Slack's Socket Mode URL carries a one-time ticket: wss://wss-primary.slack.com/link/?ticket=...
TICKET = "studybot-SocketTicket-5150"
SECRETS = (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SIGNING_SECRET, DB_PASSWORD, TICKET, GITHUB_TOKEN)
LIBRARY_LOGGERS = ("slack_sdk", "slack_bolt", "discord", "aiohttp", "sqlalchemy", "asyncio")
MANAGE_GUILD = discord.Permissions(manage_guild=True)
MEMBER = "U0MEMBER"
NINE = dt.datetime(2026, 11, 24, 9, 1, tzinfo=dt.UTC)


def environment() -> dict[str, str]:
    """The process environment `studybot run` would get: every secret set."""
    return {
        "DISCORD_TOKEN": DISCORD_TOKEN,
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_APP_TOKEN": SLACK_APP_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "GITHUB_TOKEN": GITHUB_TOKEN,
        "STUDYBOT_DATABASE_URL": f"postgresql+asyncpg://studybot:{DB_PASSWORD}@db.invalid:5432/studybot",
        "STUDYBOT_LOG_LEVEL": "DEBUG",
    }


class TicketSlack(FakeSlack):
    """The fake Slack, handing out Socket Mode URLs with a ticket in them as Slack does."""

    def _m_apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"{self.socket_url}?ticket={TICKET}&app_id=A0FAKE"}


@dataclass
class Logs:
    caplog: pytest.LogCaptureFixture
    stream: io.StringIO  # what studybot's own handler wrote, as it would go to standard error

    def records(self) -> list[logging.LogRecord]:
        return self.caplog.get_records("setup") + self.caplog.records

    def everything(self) -> str:
        """Every record as text (message, raw msg and args, exception and stack), and the handler's output."""
        parts = [self.stream.getvalue(), self.caplog.text]
        for r in self.records():
            parts += [r.getMessage(), repr(r.msg), repr(r.args), r.exc_text or "", r.stack_info or ""]
            if r.exc_info:
                parts.append("".join(traceback.format_exception(*r.exc_info)))
        return "\n".join(parts)

    def assert_no_secret(self, *more: str) -> None:
        text = self.everything()
        assert [s for s in (*SECRETS, *more) if s in text] == []

    def loggers(self) -> set[str]:
        return {r.name.split(".")[0] for r in self.records()}


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Logs]:
    """DEBUG for everyone, with the logging set-up of `studybot` (composition.cli.main) and settings."""
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name, value in environment().items():
        monkeypatch.setenv(name, value)
    caplog.set_level(logging.DEBUG)
    for name in LIBRARY_LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    stream = io.StringIO()
    handler = configure_logging(Settings(), stream)
    root = logging.getLogger()
    assert root.level == logging.DEBUG
    yield Logs(caplog, stream)
    root.removeHandler(handler)
    for each in root.handlers:
        for f in [f for f in each.filters if isinstance(f, RedactSecrets)]:
            each.removeFilter(f)


@pytest.fixture
def core(sqlite_store: SqlStore, catalog: Catalog, clock: FakeClock) -> Core:
    return make_core(sqlite_store, catalog, clock)


async def test_a_discord_run_logs_no_token(logs: Logs, core: Core, clock: FakeClock) -> None:
    interactions: list[FakeInteraction] = []

    async def interact(made: Any) -> dict[str, Any]:
        interaction = await made
        interactions.append(interaction)
        return await fake.wait_for_callback(interaction)

    async with FakeDiscord(token=DISCORD_TOKEN) as fake:  # the fake takes no other token
        client, _ = build_client(core, guild_ready_timeout=0.05)
        await fake.start_client(client, DISCORD_TOKEN)  # login, gateway, and the command sync
        assert [c["name"] for c in fake.synced_commands() or []] == ["study", "cohort"]
        member = fake.add_user("ada", display_name="Ada")
        created = await interact(
            fake.slash(
                "cohort", "create", {"name": "ml", "time": "09:00", "tz": "UTC"}, permissions=MANAGE_GUILD
            )
        )
        assert "Cohort ml created" in json.dumps(created)
        await interact(fake.slash("study", "join", {"cohort": "ml"}, user_id=member))

        platform = DiscordPlatform(client, DISCORD_TOKEN)
        clock.set(NINE)
        await Poster(core, {"discord": platform}).sweep()  # the daily post
        [post] = fake.channel_messages(DISCORD_CHANNEL)
        button = post["components"][0]["components"][0]
        clicked = await interact(fake.click(int(post["id"]), button["custom_id"], user_id=member))
        assert clicked["type"] == 4

        # Errors: a 429 is waited out; a 401 on the next day's post is logged with its traceback.
        path = f"/channels/{DISCORD_CHANNEL}/messages"
        fake.fail_next("POST", path, status=429, retry_after=0.1)
        clock.set(NINE + dt.timedelta(days=1))
        await Poster(core, {"discord": platform}).sweep()
        fake.fail_next("POST", path, status=401, times=5)
        clock.set(NINE + dt.timedelta(days=2))
        await Poster(core, {"discord": platform}).sweep()
        await fake.stop_client(client)

        # A token Discord no longer accepts (the fake now wants another): the login fails.
        fake.token = "a-token-that-replaced-ours"
        refused = DiscordPlatform(build_client(core, guild_ready_timeout=0.05)[0], DISCORD_TOKEN)
        with pytest.raises(discord.LoginFailure):
            await refused.start()
        await refused.close()

    assert any(r.exc_text and "401 Unauthorized" in r.exc_text for r in logs.records())
    assert {"discord", "bot", "sqlalchemy"} <= logs.loggers()
    # discord.py logs each interaction's callback URL, token included, at DEBUG: redacted.
    assert f"/interactions/{interactions[0].id}/{REDACTED}/callback" in logs.everything()
    logs.assert_no_secret(*(i.token for i in interactions))


async def test_a_slack_run_over_http_logs_no_token_or_signing_secret(
    logs: Logs, core: Core, clock: FakeClock
) -> None:
    async with TicketSlack(signing_secret=SIGNING_SECRET) as fake:
        fake.set_user(USER_ID, is_admin=True, name="mia")
        fake.set_user(MEMBER, name="ada")
        client = make_client(SLACK_BOT_TOKEN, fake.api_url)
        url = await fake.serve_app(build_app(core, client, signing_secret=SIGNING_SECRET))

        async def study(text: str, user: str = USER_ID) -> dict[str, Any]:
            status, _, response_url = await fake.send_slash_command(url, "/study", text, user_id=user)
            assert status == 200
            return await fake.wait_for_response(response_url)  # type: ignore[no-any-return]

        assert "Cohort ml created" in json.dumps(await study("cohort create ml time=09:00 tz=UTC days=daily"))
        await study("join ml", user=MEMBER)
        platform = SlackPlatform(client)
        clock.set(NINE)
        await Poster(core, {"slack": platform}).sweep()  # the daily post
        post = fake.calls_to("chat.postMessage")[-1].args
        assert post["channel"] == SLACK_CHANNEL
        button = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]
        response_url = fake.new_response_url()
        payload = block_actions_payload(
            button["action_id"], button["value"], response_url=response_url, user_id=MEMBER
        )
        assert (await fake.send_interactive(url, payload))[0] == 200
        assert (await fake.wait_for_response(response_url))["response_type"] == "ephemeral"

        # Errors: a 429 is waited out; an invalid_auth is logged with its traceback; a forged request is
        # refused with 401.
        fake.fail_next("chat.postMessage", status=429, retry_after=0)
        clock.set(NINE + dt.timedelta(days=1))
        await Poster(core, {"slack": platform}).sweep()
        fake.fail_next("chat.postMessage", error="invalid_auth")
        clock.set(NINE + dt.timedelta(days=2))
        await Poster(core, {"slack": platform}).sweep()
        body = "command=%2Fstudy&text=cohort+list&team_id=T0FAKE&channel_id=C0GENERAL&user_id=U0USER"
        forged = {"Content-Type": "application/x-www-form-urlencoded", **fake.sign(body, "not-the-secret")}
        assert (await fake.post_to(url, body, forged))[0] == 401

    assert any(r.exc_text and "invalid_auth" in r.exc_text for r in logs.records())
    assert {"slack_sdk", "slack_bolt", "aiohttp", "bot"} <= logs.loggers()
    # slack_sdk logs every request at DEBUG; the Authorization header is the one place the token travels.
    assert "'Authorization': '(redacted)'" in logs.everything()
    logs.assert_no_secret()


async def test_a_slack_run_over_socket_mode_logs_no_token_or_ticket(
    logs: Logs, core: Core, clock: FakeClock
) -> None:
    async with TicketSlack(signing_secret=SIGNING_SECRET) as fake:
        fake.set_user(USER_ID, is_admin=True, name="mia")
        service = SlackService(core, make_client(SLACK_BOT_TOKEN, fake.api_url), app_token=SLACK_APP_TOKEN)
        await service.start()
        try:
            response_url = fake.new_response_url()
            await fake.socket_send(
                "slash_commands",
                slash_command_body("/study", "cohort create ml time=09:00 tz=UTC", response_url=response_url),
            )
            assert "Cohort ml created" in json.dumps(await fake.wait_for_response(response_url))
            fake.fail_next("chat.postMessage", status=429, retry_after=0)  # waited out
            clock.set(NINE)
            await Poster(core, {"slack": service}).sweep()  # the daily post
            post = fake.calls_to("chat.postMessage")[-1].args
            button = next(b for b in post["blocks"] if b["type"] == "actions")["elements"][0]
            click_url = fake.new_response_url()
            await fake.socket_send(
                "interactive",
                block_actions_payload(button["action_id"], button["value"], response_url=click_url),
            )
            assert (await fake.wait_for_response(click_url))["response_type"] == "ephemeral"
            # Slack drops the connection; the client asks apps.connections.open for a new URL.
            await fake.socket_disconnect()
            await fake.wait_for_connections(2)
            again = fake.new_response_url()
            await fake.socket_send(
                "slash_commands", slash_command_body("/study", "roadmap", response_url=again)
            )
            assert "ML-engineer roadmap" in json.dumps(await fake.wait_for_response(again))
        finally:
            await service.close()

    # The start-up check of the app token, the first connection, the reconnection.
    assert len(fake.calls_to("apps.connections.open")) == 3
    assert {"slack_sdk", "slack_bolt"} <= logs.loggers()
    # slack_sdk logs the response of apps.connections.open, the Socket Mode URL with its ticket: redacted.
    assert f"?ticket={REDACTED}&app_id=A0FAKE" in logs.everything()
    logs.assert_no_secret()


async def test_secrets_are_redacted_from_messages_arguments_and_tracebacks_of_every_logger(
    logs: Logs,
) -> None:
    database_url = environment()["STUDYBOT_DATABASE_URL"]
    logging.getLogger("slack_sdk.web.base_client").debug("headers: %s", {"X-Token": SLACK_BOT_TOKEN})
    logging.getLogger("slack_bolt.App").debug(f"signing with {SIGNING_SECRET}")  # already in the message
    logging.getLogger("discord.gateway").debug("IDENTIFY %r", {"op": 2, "d": {"session": DISCORD_TOKEN}})
    logging.getLogger("aiohttp.client").info(
        "%s opens wss://x.invalid/link/?ticket=%s", SLACK_APP_TOKEN, TICKET
    )
    try:
        raise ConnectionError(f"could not connect to {database_url}")
    except ConnectionError:
        logging.getLogger("sqlalchemy.pool").exception("the pool failed")
    logging.getLogger("asyncio").error("stack", stack_info=True, extra={})
    logging.getLogger("bot.composition.cli").warning("%(token)s", {"token": DISCORD_TOKEN})
    logs.assert_no_secret()
    written = logs.stream.getvalue()
    assert written.count(REDACTED) >= 7
    assert f"postgresql+asyncpg://studybot:{REDACTED}@db.invalid:5432/studybot" in written
    assert "ConnectionError: could not connect to" in written and "Traceback" in written
    # Every logger written to above reached the handler. Not "only those": aiosqlite's worker thread of the
    # previous test's store may still log its last "operation completed" line at DEBUG while this one runs.
    assert {r.name.split(".")[0] for r in logs.records()} >= {*LIBRARY_LOGGERS, "bot"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("GET wss://wss-primary.slack.com/link/?ticket=abc-123&app_id=A1", f"?ticket={REDACTED}&app_id=A1"),
        ("POST /api/v10/interactions/1234/aW50ZXJhY3Rpb24.x_y-z/callback", f"/1234/{REDACTED}/callback"),
        ("PATCH /api/v10/webhooks/99/aW50.tok-en/messages/@original", f"/webhooks/99/{REDACTED}/messages"),
        ("POST https://hooks.slack.com/commands/T01/4455/AbCdEf0123", f"/commands/T01/4455/{REDACTED}"),
        ("url postgresql://studybot:pa%40ss@db:5432/x", f"postgresql://studybot:{REDACTED}@db:5432/x"),
        ("{'Authorization': 'Bot MTAx.abc.def'}", f"'Authorization': 'Bot {REDACTED}'"),
        ("Authorization: Bearer xyzxyzxyz", f"Authorization: Bearer {REDACTED}"),
        ('{"token": "legacy-verification"}', f'"token": "{REDACTED}"'),
        ("token=legacy&team_id=T0", f"token={REDACTED}&team_id=T0"),
        ("another workspace's xoxb-1-2-abc and xoxp-9-8", f"another workspace's {REDACTED} and {REDACTED}"),
        ("http://127.0.0.1:8080/api/chat.postMessage", "http://127.0.0.1:8080/api/chat.postMessage"),
        ("Bot connected to the gateway", "Bot connected to the gateway"),
    ],
)
def test_credentials_studybot_was_not_given_are_redacted_by_shape(line: str, expected: str) -> None:
    assert expected in RedactSecrets().redact(line)


def test_settings_never_show_their_secrets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no developer's .env
    for name, value in environment().items():
        monkeypatch.setenv(name, value)
    settings = Settings()
    for shown in (repr(settings), str(settings)):
        assert [s for s in SECRETS if s in shown] == [], shown
    tokens = (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_APP_TOKEN, SIGNING_SECRET)
    assert [s for s in tokens if s in settings.model_dump_json()] == []
    assert settings.discord_token.get_secret_value() == DISCORD_TOKEN  # still there for who needs it
    assert hide_password(settings.database_url) == (
        f"postgresql+asyncpg://studybot:{REDACTED}@db.invalid:5432/studybot"
    )


async def _studybot_run(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DISCORD_", "SLACK_", "STUDYBOT_"))}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot.composition.cli",
        "run",
        env={**clean, **env},
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_studybot_run_at_debug_writes_no_secret(tmp_path: Path) -> None:
    """The real CLI on Slack's Socket Mode, with every secret configured and DEBUG logging."""
    env = {
        **environment(),
        "DISCORD_TOKEN": "",  # Slack only; the Discord token is in the next test
        "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/run.db",
    }
    async with TicketSlack(signing_secret=SIGNING_SECRET) as fake:
        fake.set_user(USER_ID, is_admin=True)
        proc = await _studybot_run({**env, "SLACK_API_URL": fake.api_url}, tmp_path)
        try:
            await fake.wait_for_socket(timeout=60)
            response_url = fake.new_response_url()
            await fake.socket_send(
                "slash_commands", slash_command_body("/study", "roadmap", response_url=response_url)
            )
            assert "ML-engineer roadmap" in json.dumps(await fake.wait_for_response(response_url, timeout=15))
        finally:
            if proc.returncode is None:
                proc.send_signal(signal.SIGTERM)
            out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode()
    assert proc.returncode == 0, stderr
    assert "DEBUG slack_sdk" in stderr and f"ticket={REDACTED}" in stderr  # it did log at DEBUG, redacted
    assert [s for s in SECRETS if s in stderr + out.decode()] == []


async def test_studybot_run_with_a_refused_discord_token_says_so_without_the_token(tmp_path: Path) -> None:
    env = {
        **environment(),
        "SLACK_BOT_TOKEN": "",
        "STUDYBOT_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/r.db",
    }
    async with FakeDiscord(token="a-token-that-replaced-ours") as fake:
        proc = await _studybot_run({**env, "DISCORD_API_BASE": fake.api_base}, tmp_path)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    stderr = err.decode()
    assert proc.returncode == 2, stderr
    assert "studybot run: Discord refused DISCORD_TOKEN; check the bot token." in stderr
    assert "has returned 401" in stderr  # discord.py's DEBUG line about the login
    assert [s for s in SECRETS if s in stderr + out.decode()] == []


async def test_checking_a_submitted_link_logs_no_github_token(logs: Logs) -> None:
    when = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    async with FakeGitHub() as github:
        github.add_repo("ada", "eda", commits=[FakeCommit("a" * 40, when)])
        verifier = GitHubVerifier(token=Settings().github_token.get_secret_value(), base_url=github.url)
        try:
            found = await verifier.verify(parse_evidence("https://github.com/ada/eda"), when)
            github.fail_with = 401  # the token refused: logged as a warning
            refused = await verifier.verify(parse_evidence("https://github.com/ada/eda"), when)
        finally:
            await verifier.close()
    assert found.status is Verified.YES and refused.status is Verified.UNCHECKED
    assert github.requests[0].authorization == f"token {GITHUB_TOKEN}"  # it was sent, to GitHub only
    logging.getLogger("aiohttp.client").debug("request headers: Authorization: token %s", GITHUB_TOKEN)
    assert any(r.name.startswith("adapters.github") and r.levelno == logging.WARNING for r in logs.records())
    assert f"Authorization: token {REDACTED}" in logs.stream.getvalue()
    logs.assert_no_secret()

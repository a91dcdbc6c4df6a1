"""The `studybot` command line: console, run, db upgrade, content check. Part of the composition root."""

from __future__ import annotations

import argparse
import asyncio
import gc
import getpass
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from bot.content import ContentError, load_catalog_keeping_good, shown_problems
from bot.logsafe import configure_logging, hide_password
from bot.ports import PlatformRefused
from bot.settings import Settings

log = logging.getLogger(__name__)


def _console_user() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = ""
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,31}", name or "") else "learner"


async def _console(settings: Settings, db: str, user: str) -> int:
    from adapters.console.session import CONVERSATION, ConsoleClock, ConsoleSession, is_tty
    from bot.app import ContentReloader, build_core
    from bot.demo import seed_demo

    clock = ConsoleClock()
    core = await build_core(settings, db, clock)
    interactive = is_tty(sys.stdin) and is_tty(sys.stdout)
    session = ConsoleSession(
        core,
        clock,
        user,
        sys.stdout,
        interactive=interactive,
        files_dir=Path(settings.files_dir),
        reload=ContentReloader(core, settings.community_packs()).reload,
    )
    try:
        demo = await seed_demo(core, CONVERSATION, session.user)
        session.say(
            f"studybot console · you are {user} in #{CONVERSATION.channel_id}"
            + (" · new database: demo cohort `demo` created and you joined it" if demo else "")
        )
        session.say("Type `help` for commands, `:help` for console commands, `:quit` to leave.")
        await session.poster.sweep()
        await session.run(sys.stdin)
    finally:
        await core.store.close()
    return 0


async def _db_upgrade(db: str) -> int:
    from storage.store import SqlStore

    store = SqlStore.from_url(db)
    try:
        await store.migrate()
    finally:
        await store.close()
    print(f"Database at {hide_password(db)} is up to date.")
    return 0


def _content_check(dirs: Sequence[str], settings: Settings) -> int:
    packs = [Path(d) for d in dirs] if dirs else settings.community_packs()
    try:
        catalog, refused = load_catalog_keeping_good(packs)
    except ContentError as exc:
        for problem in shown_problems(exc.problems):
            print(problem, file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found in the built-in content.", file=sys.stderr)
        return 1
    for pack, problems in refused.items():
        print(f"{pack}: this pack would be refused:", file=sys.stderr)
        for problem in shown_problems(problems):
            print(f"  {problem}", file=sys.stderr)
    for stage in catalog.stages:
        quizzes = sum(1 for c in catalog.challenges.values() if c.stage == stage.id and c.is_quiz)
        tasks = sum(1 for c in catalog.challenges.values() if c.stage == stage.id and not c.is_quiz)
        resources = sum(1 for r in catalog.resources.values() if r.stage == stage.id)
        print(f"{stage.id:<16} {quizzes:>3} quizzes  {tasks:>3} tasks  {resources:>3} resources")
    if refused:
        count = sum(len(problems) for problems in refused.values())
        print(
            f"{count} problem(s) found in {len(refused)} pack(s); studybot would serve the content above.",
            file=sys.stderr,
        )
        return 1
    print(
        f"OK: {len(catalog.stages)} stages, {len(catalog.resources)} resources, "
        f"{len(catalog.challenges)} challenges."
    )
    return 0


def _run(settings: Settings, slack_mode: str, port: int | None) -> int:
    if not (settings.discord_token.get_secret_value() or settings.slack_bot_token.get_secret_value()):
        print(
            "studybot run: no chat platform is configured. Set DISCORD_TOKEN or SLACK_BOT_TOKEN (see the "
            "README), or try studybot in the terminal with `studybot console`.",
            file=sys.stderr,
        )
        return 2
    if settings.slack_bot_token.get_secret_value() and slack_mode == "http" and port is None:
        print("studybot run: --slack-mode http needs --port N.", file=sys.stderr)
        return 2
    # Each platform's library (discord.py, slack-bolt: half a second each to import) only when configured.
    login_failure: tuple[type[Exception], ...] = ()
    if settings.discord_token.get_secret_value():
        from discord import LoginFailure

        login_failure = (LoginFailure,)
    try:
        gc.disable()  # until serve() has started everything: see bot.app.settle_memory
        return asyncio.run(_serve(settings, slack_mode, port))
    except ValueError as exc:
        print(f"studybot run: {exc}", file=sys.stderr)
        return 2
    except ContentError as exc:
        print(f"studybot run: the built-in content has problems.\n{exc}", file=sys.stderr)
        return 1
    except login_failure:
        print("studybot run: Discord refused DISCORD_TOKEN; check the bot token.", file=sys.stderr)
        return 2
    except PlatformRefused as exc:
        print(f"studybot run: {exc}", file=sys.stderr)
        return 2


async def _serve(settings: Settings, slack_mode: str, port: int | None) -> int:
    import signal

    from bot.app import ContentReloader, build_core, serve
    from bot.ports import ChatPlatform

    core = await build_core(settings)
    platforms: dict[str, ChatPlatform] = {}
    if settings.discord_token.get_secret_value():
        from adapters.discord.client import DiscordPlatform, build_client

        client, _ = build_client(
            core,
            sharded=settings.discord_sharded,
            guild_id=settings.discord_guild_id,
            api_base=settings.discord_api_base or None,
            shard=(
                (settings.discord_shard_id, settings.discord_shard_count)
                if settings.discord_shard_id is not None and settings.discord_shard_count
                else None
            ),
        )
        platforms["discord"] = DiscordPlatform(client, settings.discord_token.get_secret_value())
    if settings.slack_bot_token.get_secret_value():
        from adapters.slack.app import SlackService, make_client

        platforms["slack"] = SlackService(
            core,
            make_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url or None),
            app_token=settings.slack_app_token.get_secret_value(),
            signing_secret=settings.slack_signing_secret.get_secret_value(),
            http_port=port if slack_mode == "http" else None,
        )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    # SIGHUP re-reads the content packs; a set with problems is refused and the current content kept.
    loop.add_signal_handler(signal.SIGHUP, ContentReloader(core, settings.community_packs()).reload_soon)
    await serve(core, platforms, stop)
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studybot", description="A study-group bot for aspiring ML engineers.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    console = sub.add_parser("console", help="use studybot in the terminal (SQLite, demo data)")
    console.add_argument("--db", help="database URL (default: STUDYBOT_DATABASE_URL or sqlite studybot.db)")
    console.add_argument("--user", help="who you are (default: your login name)")
    run = sub.add_parser("run", help="run the configured chat platforms (Discord, Slack) and the scheduler")
    run.add_argument(
        "--slack-mode",
        choices=("socket", "http"),
        default="socket",
        help="how Slack reaches studybot: Socket Mode (default) or HTTP",
    )
    run.add_argument("--port", type=int, help="the port for Slack's HTTP mode")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = db_sub.add_parser("upgrade", help="apply the database migrations")
    upgrade.add_argument("--db", help="database URL (default: STUDYBOT_DATABASE_URL)")
    content = sub.add_parser("content", help="roadmap content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    check = content_sub.add_parser(
        "check", help="validate the built-in pack and community packs (default: STUDYBOT_CONTENT_DIRS)"
    )
    check.add_argument("dirs", nargs="*", metavar="DIR")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            variable = name if name.isupper() else f"STUDYBOT_{name.upper()}"
            print(f"studybot: {variable}: {error['msg']}; see the README's configuration.", file=sys.stderr)
        return 2
    configure_logging(settings)
    if args.command == "console":
        user = args.user or _console_user()
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,31}", user):
            print(
                f"--user {user!r}: use letters, digits, '.', '_' or '-', starting with a letter.",
                file=sys.stderr,
            )
            return 2
        try:
            return asyncio.run(_console(settings, args.db or settings.database_url, user))
        except ContentError as exc:
            print(
                f"studybot: the content has problems; run `studybot content check`.\n{exc}", file=sys.stderr
            )
            return 1
    if args.command == "db":
        return asyncio.run(_db_upgrade(args.db or settings.database_url))
    if args.command == "content":
        return _content_check(args.dirs, settings)
    return _run(settings, args.slack_mode, args.port)


if __name__ == "__main__":
    sys.exit(main())

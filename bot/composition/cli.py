"""The `studybot` command line: console, run, db upgrade, content check. Part of the composition root.

A start-up mistake (a setting studybot cannot use, a database or platform it cannot reach) is reported in
one line that names the setting and says what to do, with exit code 2; `--debug` adds the traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import gc
import getpass
import logging
import os
import re
import sys
import tempfile
import traceback
from collections.abc import Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from bot.catalog.content import ContentError, load_catalog_keeping_good, problem_report
from bot.catalog.model import Catalog
from bot.catalog.quality import CALIBRATION_MIN, calibration, measure, pack_part
from bot.composition.logsafe import RedactSecrets, configure_logging, hide_password, secrets_of
from bot.composition.settings import SettingError, Settings
from bot.kernel.clock import SystemClock
from bot.kernel.ports import PlatformRefused

if TYPE_CHECKING:
    from adapters.ops.server import Ops
    from bot.composition.app import PlatformUnreachable
    from bot.dispatch.core import Core
    from bot.jobs.scheduler import StudyScheduler
    from bot.kernel.ports import ChatPlatform

log = logging.getLogger(__name__)

# Where the platform libraries go when DISCORD_API_BASE and SLACK_API_URL are unset (their own defaults).
DISCORD_API = "https://discord.com/api/v10"
SLACK_API = "https://slack.com/api/"
# A Slack HTTP-mode port studybot could not listen on: taken, or privileged.
_PORT_ERRORS = (errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL)


def _console_user() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):
        name = ""
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,31}", name or "") else "learner"


async def _console(settings: Settings, db: str | None, user: str) -> int:
    from adapters.console.session import CONVERSATION, ConsoleClock, ConsoleSession, is_tty
    from bot.composition.app import ContentReloader, build_core, close_core, console_jobs
    from bot.composition.demo import seed_demo

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
        jobs=console_jobs(core),
    )
    try:
        demo = await seed_demo(core, CONVERSATION, session.user)
        session.say(
            f"studybot console · you are {user} in #{CONVERSATION.channel_id}"
            + (" · new database: demo cohort `demo` created and you joined it" if demo else "")
        )
        session.say("Type `help` for commands, `:help` for console commands, `:quit` to leave.")
        await session.run(sys.stdin)
    finally:
        await close_core(core)
    return 0


async def _db_upgrade(settings: Settings, db: str | None) -> int:
    from bot.composition.app import open_store

    url = db or settings.database_url
    store = await open_store(
        url, setting="--db" if db else "STUDYBOT_DATABASE_URL", pool_size=settings.db_pool_size
    )
    await store.close()
    print(f"Database at {hide_password(url)} is up to date.")
    return 0


async def _content_stats(settings: Settings, db: str | None, minimum: int) -> int:
    """Each answered quiz's share of right first answers across cohorts, and the ratings to look at again."""
    from bot.composition.app import open_store

    catalog, _ = load_catalog_keeping_good(settings.community_packs())
    url = db or settings.database_url
    store = await open_store(
        url, setting="--db" if db else "STUDYBOT_DATABASE_URL", pool_size=settings.db_pool_size
    )
    try:
        rows = calibration(catalog, await store.quiz_tallies())
    finally:
        await store.close()
    if not rows:
        print("No quiz has been answered yet: the figures come once cohorts answer daily quizzes.")
        return 0
    print(f"{'quiz':<42} {'rated':>5} {'answered':>8} {'right':>6}")
    for row in rows:
        print(f"{row.challenge.id:<42} {row.challenge.difficulty:>5} {row.answered:>8} {row.share:>6.0%}")
    print(f"\nBy rating (quizzes with at least {minimum} answers):")
    for rating, name in ((1, "easy"), (2, "medium"), (3, "hard")):
        rated = [r for r in rows if r.challenge.difficulty == rating and r.answered >= minimum]
        right = sum(r.correct for r in rated) / max(1, sum(r.answered for r in rated))
        print(
            f"  {rating} {name:<7} {len(rated):>4} quizzes, {right:.0%} right"
            if rated
            else f"  {rating} {name}: none"
        )
    off = [r for r in rows if r.answered >= minimum and r.suggested != r.challenge.difficulty]
    bands = "at least 75% right: 1, 45-75%: 2, below 45%: 3"
    print(f"\nTo re-rate ({bands}; at least {minimum} answers): {len(off)}")
    for row in off:
        print(
            f"  {row.challenge.id}: rated {row.challenge.difficulty}, {row.share:.0%} right of "
            f"{row.answered}: looks like {row.suggested}"
        )
    return 0


def _check_files_dir(path: Path) -> None:
    """Refuse to start the console where it could not save the images and exports members ask for."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise SettingError(
            f"STUDYBOT_FILES_DIR: cannot write to {path} ({exc.strerror}); set it to a directory studybot "
            "may write to."
        ) from exc


def _item_quality(catalog: Catalog, packs: Sequence[Path], warn_only: bool) -> int:
    """Print each pack's item-quality figures and failures; how many packs fail the bar."""
    today = SystemClock().now().date()
    poor = 0
    named = [("built-in pack", pack_part(catalog, None))] + [
        (str(p), pack_part(catalog, p.name)) for p in packs
    ]
    for name, part in named:
        quality = measure(part, today)
        print(f"item quality, {name}:")
        print("\n".join(f"  {line}" for line in quality.figures()))
        for line in quality.warnings():
            print(f"  warning: {line}", file=sys.stderr)
        failures = quality.failures()
        if failures:
            poor += 1
            label = "warning" if warn_only else "problem"
            print(problem_report([f"{label}: {f}" for f in failures], "  "), file=sys.stderr)
    return poor


def _content_check(dirs: Sequence[str], settings: Settings, warn_only: bool = False) -> int:
    packs = [Path(d) for d in dirs] if dirs else settings.community_packs()
    try:
        catalog, refused = load_catalog_keeping_good(packs)
    except ContentError as exc:
        print(problem_report(exc.problems), file=sys.stderr)
        print(f"{len(exc.problems)} problem(s) found in the built-in content.", file=sys.stderr)
        return 1
    for pack, problems in refused.items():
        print(f"{pack}: this pack would be refused:", file=sys.stderr)
        print(problem_report(problems, "  "), file=sys.stderr)
    for stage in catalog.stages:
        quizzes = sum(1 for c in catalog.challenges.values() if c.stage == stage.id and c.is_quiz)
        tasks = sum(1 for c in catalog.challenges.values() if c.stage == stage.id and not c.is_quiz)
        resources = sum(1 for r in catalog.resources.values() if r.stage == stage.id)
        print(f"{stage.id:<16} {quizzes:>3} quizzes  {tasks:>3} tasks  {resources:>3} resources")
    poor = _item_quality(catalog, [p for p in packs if p not in refused], warn_only)
    if refused:
        count = sum(len(problems) for problems in refused.values())
        print(
            f"{count} problem(s) found in {len(refused)} pack(s); studybot would serve the content above.",
            file=sys.stderr,
        )
        return 1
    if poor and not warn_only:
        print(
            f"item quality: {poor} pack(s) below the bar; fix them, or pass --warn-only to accept them.",
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
        raise SettingError(
            "no chat platform is configured. Set DISCORD_TOKEN or SLACK_BOT_TOKEN (see the README), or try "
            "studybot in the terminal with `studybot console`."
        )
    if settings.slack_bot_token.get_secret_value() and slack_mode == "http" and port is None:
        raise SettingError("--slack-mode http needs --port N.")
    if port is not None and slack_mode != "http":
        raise SettingError(
            "--port is the port of Slack's HTTP mode: add --slack-mode http (Socket Mode needs no port)."
        )
    if port is not None and not 1 <= port <= 65535:
        raise SettingError(f"--port {port} is not a port: give one from 1 to 65535.")
    from bot.composition.app import PlatformUnreachable
    from bot.jobs.scheduler import SchedulerRefused

    # Each platform's library (discord.py, slack-bolt: half a second each to import) only when configured.
    login_failure: tuple[type[Exception], ...] = ()
    if settings.discord_token.get_secret_value():
        from discord import LoginFailure

        login_failure = (LoginFailure,)
    try:
        gc.disable()  # until serve() has started everything: see bot.composition.app.settle_memory
        return asyncio.run(_serve(settings, slack_mode, port))
    except ContentError as exc:
        print(f"studybot run: the built-in content has problems.\n{exc}", file=sys.stderr)
        return 1
    except login_failure as exc:
        raise SettingError("Discord refused DISCORD_TOKEN; check the bot token.") from exc
    except PlatformUnreachable as exc:
        raise SettingError(_unreachable(exc, settings, port if slack_mode == "http" else None)) from exc
    except (PlatformRefused, SchedulerRefused, ValueError) as exc:
        # ValueError: a setting an adapter refuses (DISCORD_SHARD_ID out of range, HTTP mode without
        # SLACK_SIGNING_SECRET); its message names the setting.
        raise SettingError(str(exc)) from exc


def _unreachable(exc: PlatformUnreachable, settings: Settings, port: int | None) -> str:
    """The line for a platform studybot could not reach at start, naming the setting to check."""
    error = exc.error
    if exc.platform == "slack" and port is not None and error.errno in _PORT_ERRORS:
        # asyncio's own strerror repeats the address: the system's words for the errno are enough.
        return f"--port {port}: cannot listen there ({os.strerror(error.errno)}); choose another port."
    reason = error.strerror or str(error) or "timed out"
    if exc.platform == "discord":
        return (
            "DISCORD_TOKEN is set, but Discord cannot be reached at "
            f"{settings.discord_api_base or DISCORD_API} ({reason}); check the network connection and "
            "DISCORD_API_BASE."
        )
    return (
        f"SLACK_BOT_TOKEN is set, but Slack cannot be reached at {settings.slack_api_url or SLACK_API} "
        f"({reason}); check the network connection and SLACK_API_URL."
    )


async def _serve(settings: Settings, slack_mode: str, port: int | None) -> int:
    import signal

    from bot.composition.app import ContentReloader, build_core, quiet_unactionable_warnings, serve

    quiet_unactionable_warnings()
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
    from bot.jobs.scheduler import StudyScheduler

    scheduler = StudyScheduler(core, platforms)
    ops = await _start_ops(settings, core, platforms, scheduler, port if slack_mode == "http" else None)
    try:
        await serve(core, platforms, stop, scheduler)
    finally:
        if ops is not None:
            await ops.close()
    return 0


async def _start_ops(
    settings: Settings,
    core: Core,
    platforms: Mapping[str, ChatPlatform],
    scheduler: StudyScheduler,
    slack_port: int | None,
) -> Ops | None:
    """The health, readiness and metrics server on STUDYBOT_HTTP_PORT, when set (Slack's own server when it is
    also Slack's --port); the core reports to it."""
    if settings.http_port is None:
        return None
    from adapters.ops.server import Ops

    ops = Ops(core, platforms, leading=lambda: scheduler.leading)
    if settings.http_port == slack_port:  # Slack's HTTP server serves them beside /slack/events
        from adapters.slack.app import SlackService

        slack = platforms.get("slack")
        if isinstance(slack, SlackService):
            slack.serve_also(ops.routes())
            try:
                await slack.listen()  # now, so the endpoints answer while the platforms start
            except OSError as exc:
                raise SettingError(
                    f"--port {slack_port}: cannot listen there ({exc.strerror}); choose another port."
                ) from exc
            ops.watch()
            core.telemetry = ops
            return ops
    try:
        await ops.start(settings.http_port)
    except OSError as exc:
        raise SettingError(
            f"STUDYBOT_HTTP_PORT {settings.http_port}: cannot listen there ({exc.strerror}); "
            "choose another port."
        ) from exc
    core.telemetry = ops
    return ops


def _version() -> str:
    try:
        return metadata.version("studybot")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "(not installed)"


def _variables_help() -> str:
    """The environment variables studybot reads, one a line, for `studybot run --help`."""
    rows = Settings.variables()
    width = max(len(name) for name, _ in rows)
    return "environment variables (also read from a .env file in the working directory):\n" + "\n".join(
        f"  {name:<{width}}  {what}" for name, what in rows
    )


def _debug_option(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Accept --debug here: before or after the command (`studybot --debug run`, `studybot run --debug`)."""
    p.add_argument(
        "--debug",
        action="store_true",
        # Unset unless given: a subcommand's parser would otherwise reset what the main one saw.
        default=argparse.SUPPRESS,
        help="on a start-up mistake, print the full traceback after the one-line explanation",
    )
    return p


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="studybot", description="A study-group bot for aspiring ML engineers.")
    _debug_option(p)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    console = _debug_option(
        sub.add_parser("console", help="use studybot in the terminal (SQLite, demo data)")
    )
    console.add_argument("--db", help="database URL (default: STUDYBOT_DATABASE_URL or sqlite studybot.db)")
    console.add_argument("--user", help="who you are (default: your login name)")
    run = _debug_option(
        sub.add_parser(
            "run",
            help="run the configured chat platforms (Discord, Slack) and the scheduler",
            description="Run Discord when DISCORD_TOKEN is set and Slack when SLACK_BOT_TOKEN is, and the "
            "scheduler, in one process.",
            epilog=_variables_help(),
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
    )
    run.add_argument(
        "--slack-mode",
        choices=("socket", "http"),
        default="socket",
        help="how Slack reaches studybot: Socket Mode (default) or HTTP",
    )
    run.add_argument("--port", type=int, help="the port for Slack's HTTP mode")
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    upgrade = _debug_option(db_sub.add_parser("upgrade", help="apply the database migrations"))
    upgrade.add_argument("--db", help="database URL (default: STUDYBOT_DATABASE_URL)")
    content = sub.add_parser("content", help="roadmap content tools")
    content_sub = content.add_subparsers(dest="content_command", required=True, metavar="ACTION")
    check = _debug_option(
        content_sub.add_parser(
            "check", help="validate the built-in pack and community packs (default: STUDYBOT_CONTENT_DIRS)"
        )
    )
    check.add_argument("dirs", nargs="*", metavar="DIR")
    stats = _debug_option(
        content_sub.add_parser(
            "stats", help="each answered quiz's share of right answers across cohorts, to re-rate difficulty"
        )
    )
    stats.add_argument("--db", help="database URL (default: STUDYBOT_DATABASE_URL)")
    stats.add_argument(
        "--min",
        type=int,
        default=CALIBRATION_MIN,
        metavar="N",
        help=f"answers a quiz needs before a re-rating is suggested (default {CALIBRATION_MIN})",
    )
    check.add_argument(
        "--warn-only",
        action="store_true",
        help="report item-quality problems (giveaway options, near-duplicates, tasks without a checklist) "
        "without failing",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    settings: Settings | None = None
    try:
        settings = _settings()
        return _command(args, settings)
    except SettingError as exc:
        if getattr(args, "debug", False):
            # Printed past the logging set-up, so redacted here: a message may quote a URL or a token.
            redactor = RedactSecrets(secrets_of(settings) if settings is not None else ())
            print(redactor.redact("".join(traceback.format_exception(exc))), end="", file=sys.stderr)
        # A mistake in `run` itself says so; one in the variables is everyone's.
        who = "studybot run" if args.command == "run" and settings is not None else "studybot"
        for line in str(exc).splitlines():
            print(f"{who}: {line}", file=sys.stderr)
        return 2


def _settings() -> Settings:
    """The settings from the environment; SettingError with one line per variable that is wrong."""
    try:
        return Settings()
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            name = str(error["loc"][0]) if error["loc"] else "?"
            variable = name if name.isupper() else f"STUDYBOT_{name.upper()}"
            message = error["msg"].removeprefix("Value error, ")
            lines.append(f"{variable}: {message}; see the README's configuration.")
        raise SettingError("\n".join(lines)) from exc


def _command(args: argparse.Namespace, settings: Settings) -> int:
    configure_logging(settings)
    if args.command == "console":
        user = args.user or _console_user()
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_.-]{0,31}", user):
            raise SettingError(
                f"--user {user!r}: use letters, digits, '.', '_' or '-', starting with a letter."
            )
        _check_files_dir(Path(settings.files_dir))
        try:
            return asyncio.run(_console(settings, args.db, user))
        except ContentError as exc:
            print(
                f"studybot: the content has problems; run `studybot content check`.\n{exc}", file=sys.stderr
            )
            return 1
    if args.command == "db":
        return asyncio.run(_db_upgrade(settings, args.db))
    if args.command == "content":
        if args.content_command == "stats":
            return asyncio.run(_content_stats(settings, args.db, max(1, args.min)))
        return _content_check(args.dirs, settings, args.warn_only)
    return _run(settings, args.slack_mode, args.port)


if __name__ == "__main__":
    sys.exit(main())

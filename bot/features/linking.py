"""One learner across platforms: `link` gives a one-time code or takes one typed on another platform's
account; `unlink` takes this account out again."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.milestones import learning_milestones
from bot.kernel.ports import LinkRefused
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.replies import plural
from bot.kernel.types import Card, Field, Member, Reply, Style
from bot.kernel.untrusted import verbatim

COMMANDS = Registry()

# How long a code works, and its letters: no 0/O, 1/I/L, so one read aloud or copied by eye still works.
CODE_MINUTES = 10
CODE_LIFETIME = dt.timedelta(minutes=CODE_MINUTES)
ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8  # 31**8, about 8.5e11 codes: guessing one in its ten minutes at the rate limit is hopeless
PLATFORM_NAMES = {"discord": "Discord", "slack": "Slack", "console": "console"}
SHARED = (
    "your streaks count the days you were active on either account, and your roadmap progress and "
    "review cards are one set"
)


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


def new_code() -> tuple[str, str]:
    """A fresh code as a member reads it (two groups of four, like `K7QM-4XPD`) and the hash kept of it."""
    letters = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    return f"{letters[:4]}-{letters[4:]}", _digest(letters)


def code_hash(typed: str) -> str | None:
    """The hash of a code as typed (any case, spaces or dashes), or None when it cannot be one."""
    letters = "".join(ch for ch in typed.upper() if ch not in " -\t")
    if len(letters) != CODE_LENGTH or any(ch not in ALPHABET for ch in letters):
        return None
    return _digest(letters)


def _digest(letters: str) -> str:
    """What the store keeps of a code: a memory-hard hash (scrypt, 16 MiB and some 50 ms each), so a copy of
    the database does not give its live codes away: trying all 8.5e11 within their ten minutes is out of
    reach, where a plain SHA-256 of so few letters falls to one graphics card."""
    return hashlib.scrypt(letters.encode(), salt=b"studybot link code", n=2**14, r=8, p=1, dklen=32).hex()


def _account(member: Member) -> str:
    return f"{platform_name(member.platform)} ({verbatim(member.name)})"


def _accounts_field(accounts: list[tuple[Member, int]], me: Member) -> Field:
    lines = [
        f"{'▸ ' if m.id == me.id else ''}{_account(m)}: {plural(points, 'point')}" for m, points in accounts
    ]
    total = sum(points for _, points in accounts)
    return Field(f"Your accounts ({plural(total, 'point')} together)", "\n".join(lines))


@COMMANDS.command(
    "link",
    "Link your accounts on Discord and Slack: without a code, get one; with it, link this account.",
    Arg("code", ArgKind.REST, required=False, help="the code /study link gave your other account"),
    example="/study link",
)
async def link(ctx: Context, args: dict[str, Any]) -> Reply:
    typed: str | None = args.get("code")
    if typed is None:
        return await _give_code(ctx)
    hashed = await asyncio.to_thread(code_hash, typed)  # some 50 ms of hashing: off the event loop
    if hashed is None:
        raise UserError(
            "That is not a link code: codes are 8 letters and digits, like `K7QM-4XPD`. "
            "Run `/study link` on your other account to get one."
        )
    try:
        await ctx.core.links.redeem_link_code(ctx.member.id, hashed, ctx.now)
    except LinkRefused as refused:
        raise UserError(_refusal(refused)) from None
    accounts = await ctx.core.links.linked_accounts(ctx.member.id)
    await learning_milestones(ctx.core, [m for m, _ in accounts])  # merged progress may complete a stage
    others = " and ".join(_account(m) for m, _ in accounts if m.id != ctx.member.id)
    card = Card(
        "🔗 Accounts linked",
        f"This account and {others} are one learner now: {SHARED}.",
        (_accounts_field(accounts, ctx.member),),
        footer="Points stay on the leaderboard of the cohort that gave them · /study unlink undoes this",
        style=Style.SUCCESS,
    )
    return Reply(cards=(card,), ephemeral=True)


async def _give_code(ctx: Context) -> Reply:
    code, hashed = await asyncio.to_thread(new_code)
    await ctx.core.links.issue_link_code(ctx.member.id, hashed, ctx.now + CODE_LIFETIME, ctx.now)
    accounts = await ctx.core.links.linked_accounts(ctx.member.id)
    body = (
        f"On your account on the other platform, type `/study link {code}` within {CODE_MINUTES} minutes; "
        f"the code works once. Then {SHARED}."
    )
    fields = (_accounts_field(accounts, ctx.member),) if len(accounts) > 1 else ()
    card = Card(f"🔗 Your link code: {code}", body, fields, footer="Keep it to yourself: it links to you")
    return Reply(cards=(card,), ephemeral=True)


def _refusal(refused: LinkRefused) -> str:
    if refused.reason == "own":
        return "That is this account's own code: type `/study link <code>` on your other platform's account."
    if refused.reason == "already":
        return "This account is already linked with that one: nothing to do."
    if refused.reason == "platform" and refused.clash is not None and refused.ours is not None:
        platform = platform_name(refused.clash.platform)
        return (
            f"Linking would give one learner two {platform} accounts: {_account(refused.clash)} on the "
            f"code's side and {_account(refused.ours)} on yours. One account per platform: `/study unlink` "
            "one of them first."
        )
    return (
        f"That code is not valid: it may be mistyped, used already or older than {CODE_MINUTES} minutes. "
        "Run `/study link` on your other account for a new one."
    )


@COMMANDS.command(
    "unlink",
    "Take this account out of your linked accounts: from now on its days and progress are its own.",
    example="/study unlink",
)
async def unlink(ctx: Context, args: dict[str, Any]) -> Reply:
    others = await ctx.core.links.unlink(ctx.member.id)
    if not others:
        text = "This account is not linked with another one: nothing to undo. `/study link` gives you a code."
        return Reply(text=text, ephemeral=True)
    names = " and ".join(_account(m) for m in others)
    text = (
        f"🔓 Unlinked from {names}. From now on this account's days, progress and review cards are its own; "
        "it keeps a copy of the progress and cards you had. Days either account was active while linked "
        "still count for both; the days copied from each other's history when you linked no longer do."
    )
    return Reply(text=text, ephemeral=True)

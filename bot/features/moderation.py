"""Moderator commands about members: excuse a missed day, export the records, grant or revoke moderators."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from contextlib import aclosing
from typing import Any

from bot.dispatch.context import Context
from bot.dispatch.members import find_member
from bot.kernel.clock import local_date
from bot.kernel.ports import Conflict
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.types import (
    Activity,
    Attachment,
    Cohort,
    Excusal,
    Member,
    PeerReview,
    Reply,
    ScoreRow,
    Submission,
)
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.streaks import summarize

# The audit trail keeps a sentence, not an essay (and the column is sized for it).
MAX_REASON_CHARS = 500
# A spreadsheet reads a cell starting with one of these as a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _csv_cell(value: object) -> object:
    """`value` safe to open in a spreadsheet: text that would start a formula gets a leading `'`."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


MEMBERS_HEADER: list[object] = [
    "member",
    "user_id",
    "timezone",
    "current_streak",
    "longest_streak",
    "freezes",
    "points",
    "answers",
    "correct",
    "checkins",
]
LEDGER_HEADER: list[object] = [
    "local_date",
    "member",
    "user_id",
    "kind",
    "challenge_post",
    "choice",
    "correct",
    "points",
    "note",
]
SUBMISSIONS_HEADER: list[object] = [
    "submitted_at",
    "member",
    "user_id",
    "task",
    "kind",
    "url",
    "note",
    "state",
    "verified",
    "check",
    "updated_at",
    "submission",
    "round",
    "accepted_at",
]
# One row per review and per moderator's action on a submission: who, in which role, what and why.
REVIEWS_HEADER: list[object] = [
    "at",
    "submission",
    "task",
    "author",
    "by",
    "role",
    "round",
    "state",
    "verdict",
    "checks",
    "comment",
]
# Ledger entries per page of an export: a page's rows cost a few milliseconds to write (on a thread) and a
# megabyte or so of objects, so a year of a thousand members never sits in memory whole.
EXPORT_PAGE = 2_000
_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


def _csv_row(values: list[object]) -> list[object]:
    return [_csv_cell(v) for v in values]


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "cohort fix",
    "Excuse a member's missed day (recorded with who and why).",
    Arg("name", help="the cohort"),
    Arg("member", help="a mention, user id or name"),
    Arg("date", ArgKind.DATE, help="the missed day, YYYY-MM-DD"),
    Arg("reason", ArgKind.REST, help="why it is excused"),
    example="/study cohort fix ml-2026 @ada 2026-11-20 server outage",
    moderator=True,
)
async def fix(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    member = await find_member(ctx.core.members, ctx.conversation, args["member"], cohort.id)
    day: dt.date = args["date"]
    reason: str = args["reason"]
    name = verbatim(member.name)
    if len(reason) > MAX_REASON_CHARS:
        raise UserError(f"Keep the reason under {MAX_REASON_CHARS} characters (yours has {len(reason)}).")
    # Every bound is checked before anything is stored: a day in the future, before the cohort began, or
    # in year 1 (a typo of 2026) has nothing to excuse and would make every streak fold walk centuries.
    if day > ctx.member_today(cohort, member):
        raise UserError(f"{day.isoformat()} is in the future for {name}; only past days can be excused.")
    if day < cohort.start_date:
        raise UserError(
            f"{day.isoformat()} is before cohort `{cohort.name}` started ({cohort.start_date:%Y-%m-%d}); "
            "only days since its start can be excused."
        )
    active, _ = await ctx.core.activity.member_days(cohort.id, member.id)
    if day in active:
        raise UserError(f"{name} was active on {day:%Y-%m-%d}; there is nothing to excuse.")
    joined = await ctx.core.cohorts.joined_at(cohort.id, member.id)
    since = [*active, local_date(joined, ctx.member_timezone(cohort, member))] if joined else [*active]
    first = min(since, default=day)
    # Before a member joined there is nothing to excuse; history from an earlier membership still counts.
    if day < first:
        raise UserError(
            f"{day.isoformat()} is before {name} joined `{cohort.name}` ({first:%Y-%m-%d}); "
            "only days since then can be excused."
        )
    excusal = Excusal(member.id, cohort.id, day, reason, ctx.user.id, ctx.now)
    try:
        await ctx.core.activity.add_excusal(excusal)
    except Conflict:
        raise UserError(f"{day:%Y-%m-%d} is already excused for {name}.") from None
    return Reply(
        text=f"✔️ Excused {day:%a %d %b %Y} for {name}: {verbatim(reason)} (by {verbatim(ctx.user.name)})."
    )


@COMMANDS.command(
    "cohort export",
    "Download CSVs of members (streaks, points), every answer and check-in, submitted work and its reviews.",
    Arg("name", help="the cohort"),
    example="/study cohort export ml-2026",
    moderator=True,
    heavy=True,
)
async def export(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.named_cohort(args["name"])
    members = await ctx.core.cohorts.cohort_members(cohort.id)
    scores = await ctx.core.activity.scores(cohort.id)
    days = await ctx.core.activity.cohort_days(cohort.id)
    # A thousand members' streak folds and their rows are CPU work: on a thread, not the event loop.
    people = await asyncio.to_thread(_members_csv, cohort, members, scores, days, ctx.now)
    del days  # a year of a thousand members' days: not held while the ledger is written
    ledger = _CsvBytes()
    await asyncio.to_thread(ledger.write, [LEDGER_HEADER])
    async with aclosing(ctx.core.activity.ledger_pages(cohort.id, EXPORT_PAGE)) as pages:
        async for page in pages:
            await asyncio.to_thread(ledger.write, map(_ledger_row, page))
    submitted = await ctx.core.submissions.cohort_submissions(cohort.id)
    who: dict[int, Member | None] = {m.id: m for m in members}
    for gone in {s.member_id for s in submitted} - who.keys():  # left the cohort: looked up once each
        who[gone] = await ctx.core.members.get_member(gone)
    reviews = await ctx.core.peer_reviews.cohort_reviews(cohort.id)
    for gone in {r.reviewer_id for r in reviews} - who.keys():
        who[gone] = await ctx.core.members.get_member(gone)
    actions = await ctx.core.peer_reviews.review_actions(cohort.id)
    work = await asyncio.to_thread(_submissions_csv, submitted, who)
    reviewed = await asyncio.to_thread(_reviews_csv, submitted, reviews, actions, who)
    files = (
        Attachment(f"{cohort.name}-members.csv", people, "text/csv"),
        Attachment(f"{cohort.name}-activity.csv", await asyncio.to_thread(ledger.close), "text/csv"),
        Attachment(f"{cohort.name}-submissions.csv", work, "text/csv"),
        Attachment(f"{cohort.name}-reviews.csv", reviewed, "text/csv"),
    )
    return Reply(
        text=f"📦 Export of `{cohort.name}`: {len(members)} members.", attachments=files, ephemeral=True
    )


class _CsvBytes:
    """CSV rows written straight into UTF-8 bytes: no intermediate text of the whole file to copy."""

    def __init__(self) -> None:
        self._bytes = io.BytesIO()
        # newline="": the csv module writes its own \r\n line ends, which must reach the bytes unchanged.
        self._text = io.TextIOWrapper(self._bytes, encoding="utf-8", newline="")
        self._csv = csv.writer(self._text)

    def write(self, rows: Iterable[list[object]]) -> None:
        self._csv.writerows(_csv_row(r) for r in rows)

    def close(self) -> bytes:
        """The file's bytes; nothing more can be written."""
        self._text.flush()
        self._text.detach()  # else closing the text layer (when it is collected) would close the bytes
        return self._bytes.getvalue()


def _submissions_csv(submitted: list[Submission], who: Mapping[int, Member | None]) -> bytes:
    """The submissions file: each member's link for each task, with its state and what the check found."""
    out = _CsvBytes()
    out.write([SUBMISSIONS_HEADER])
    out.write(
        [
            f"{s.submitted_at:%Y-%m-%d %H:%M}",
            member.name if (member := who.get(s.member_id)) else "",
            member.user_id if member else "",
            s.challenge_id,
            s.kind.value,
            s.url,
            s.note,
            s.state.value,
            s.verification.status.value,
            s.verification.detail,
            f"{s.updated_at:%Y-%m-%d %H:%M}",
            s.id,
            s.round,
            f"{s.accepted_at:%Y-%m-%d %H:%M}" if s.accepted_at else "",
        ]
        for s in submitted
    )
    return out.close()


def _reviews_csv(
    submitted: list[Submission],
    reviews: list[PeerReview],
    actions: list[tuple[int, str, int | None, str, str, dt.datetime]],
    who: Mapping[int, Member | None],
) -> bytes:
    """The reviews file: every review given, pending or ended, and every moderator's action, by time."""
    subs = {s.id: s for s in submitted}

    def name(member_id: int | None) -> str:
        member = who.get(member_id) if member_id is not None else None
        return member.name if member else ""

    rows: list[tuple[dt.datetime, list[object]]] = []
    for r in reviews:
        sub = subs.get(r.submission_id)
        at = r.done_at or r.assigned_at
        verdict = r.verdict.value if r.verdict else ""
        checks = ",".join(map(str, r.checks))
        rows.append(
            (
                at,
                [
                    f"{at:%Y-%m-%d %H:%M}",
                    r.submission_id,
                    sub.challenge_id if sub else "",
                    name(sub.member_id) if sub else "",
                    name(r.reviewer_id),
                    "reviewer",
                    r.round,
                    r.state.value,
                    verdict,
                    checks,
                    r.comment,
                ],
            )
        )
    for submission_id, action, member_id, moderator, reason, at in actions:
        sub = subs.get(submission_id)
        on = f" ({name(member_id)})" if member_id is not None else ""
        rows.append(
            (
                at,
                [
                    f"{at:%Y-%m-%d %H:%M}",
                    submission_id,
                    sub.challenge_id if sub else "",
                    name(sub.member_id) if sub else "",
                    moderator,
                    "moderator",
                    sub.round if sub else "",
                    action + on,
                    "",
                    "",
                    reason,
                ],
            )
        )
    out = _CsvBytes()
    out.write([REVIEWS_HEADER])
    out.write(row for _, row in sorted(rows, key=lambda r: r[0]))
    return out.close()


def _members_csv(
    cohort: Cohort,
    members: list[Member],
    rows: Sequence[ScoreRow],
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    now: dt.datetime,
) -> bytes:
    """The members file: each member's streak (as of their own today) and points, by name."""
    scores = {s.member_id: s for s in rows}
    out = _CsvBytes()
    out.write([MEMBERS_HEADER])
    calendar = Calendar.of(cohort)
    for m in sorted(members, key=lambda m: m.name.casefold()):
        active, excused = days.get(m.id, _NO_DAYS)
        today = local_date(now, m.timezone or cohort.timezone)
        s = summarize(active, excused, today, calendar.with_breaks(m.breaks))
        sc = scores.get(m.id)
        out.write(
            [
                [
                    m.name,
                    m.user_id,
                    m.timezone or cohort.timezone,
                    s.current,
                    s.longest,
                    s.freezes,
                    sc.points if sc else 0,
                    sc.answers if sc else 0,
                    sc.correct if sc else 0,
                    sc.checkins if sc else 0,
                ]
            ]
        )
    return out.close()


def _ledger_row(entry: tuple[Activity, str | None, str | None]) -> list[object]:
    a, name, user_id = entry
    return [
        a.local_date.isoformat(),
        name if name is not None else a.member_id,
        user_id if user_id is not None else "",
        a.kind.value,
        a.post_id or "",
        a.choice or "",
        "" if a.correct is None else a.correct,
        a.points,
        a.note,
    ]


@COMMANDS.command(
    "cohort grant",
    "Make a member a moderator of this server or workspace.",
    Arg("member", help="a mention, user id or name"),
    example="/study cohort grant @ada",
    moderator=True,
)
async def grant(ctx: Context, args: dict[str, Any]) -> Reply:
    member = await _known_member(ctx, args["member"])
    conv = ctx.conversation
    if not await ctx.core.members.grant_moderator(
        conv.platform, conv.workspace_id, member.user_id, ctx.user.id, ctx.now
    ):
        return Reply(text=f"{verbatim(member.name)} is already a moderator.", ephemeral=True)
    return Reply(text=f"🛡️ {verbatim(member.name)} is now a moderator (granted by {verbatim(ctx.user.name)}).")


@COMMANDS.command(
    "cohort revoke",
    "Take granted moderator rights away again.",
    Arg("member", help="a mention, user id or name"),
    example="/study cohort revoke @ada",
    moderator=True,
)
async def revoke(ctx: Context, args: dict[str, Any]) -> Reply:
    member = await _known_member(ctx, args["member"])
    conv = ctx.conversation
    await ctx.core.cohorts.stop_health_notes(conv.platform, conv.workspace_id, member.user_id)
    if not await ctx.core.members.revoke_moderator(conv.platform, conv.workspace_id, member.user_id):
        raise UserError(f"{verbatim(member.name)} has no granted moderator rights here.")
    return Reply(text=f"{verbatim(member.name)} is no longer a moderator.")


async def _known_member(ctx: Context, query: str) -> Member:
    """A member of any cohort in this workspace, named by mention, id or name."""
    conv = ctx.conversation
    return await find_member(ctx.core.members, conv, query)

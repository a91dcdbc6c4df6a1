"""Peer review: a reviewer's form and review, a member's reviews to give and the state of their own work,
their portfolio of accepted work, and a moderator's override, reassignment or excusal."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from typing import Any

from bot.catalog.model import Catalog
from bot.dispatch.context import Context
from bot.dispatch.members import find_member
from bot.dispatch.milestones import describe
from bot.dispatch.reviewing import (
    FEEDBACK,
    REVIEW_WINDOW,
    checklist,
    chooser,
    member_day,
    numbered,
    review_button,
    task_title,
)
from bot.images.certificate import certificate_png
from bot.kernel.clock import local_date
from bot.kernel.ports import Conflict, Superseded
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.types import (
    Card,
    Cohort,
    Field,
    FieldKind,
    Form,
    FormField,
    Image,
    Member,
    Milestone,
    Option,
    PeerReview,
    PeerReviewState,
    Reply,
    ReviewVerdict,
    Style,
    Submission,
    SubmissionState,
)
from bot.kernel.untrusted import verbatim
from bot.rules.milestones import GRADUATED
from bot.rules.points import POINTS_ACCEPTED, POINTS_PEER_REVIEW
from bot.rules.streaks import summarize

MAX_COMMENT_CHARS = 1000
MIN_COMMENT_CHARS = 10  # a sentence: a review without one tells the author nothing
MAX_REASON_CHARS = 500
SHOWN = 10  # reviews and submissions listed at once
MILESTONES_SHOWN = 10  # the latest, in a portfolio
BUTTONS = 5  # Review buttons on one listing
VERDICTS = tuple(v.value for v in ReviewVerdict)
STATE_LABELS = {
    SubmissionState.SUBMITTED: "⏳ waiting for review",
    SubmissionState.IN_REVIEW: "🔎 in review",
    SubmissionState.ACCEPTED: "✅ accepted",
    SubmissionState.NEEDS_WORK: "🛠 needs work",
}

COMMANDS = Registry()


_NUMBER = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() takes ² and ①, which int() refuses
# Characters that show nothing (zero-width spaces and joiners, format marks): not part of a comment's length.
_INVISIBLE = re.compile("[\u200b-\u200f\u2060-\u2064\ufeff\u00ad\\s]+")


def _number(raw: str) -> int:
    text = raw.strip().lstrip("#")
    if not _NUMBER.fullmatch(text):
        raise UserError(
            f"`{verbatim(raw)}` is not a submission number: use the number shown with it, as in "
            f"`/study {FEEDBACK} 12`; `/study reviews` lists yours."
        )
    return int(text)


def _checks(raw: str | None, items: int) -> tuple[int, ...]:
    """The checklist items a reviewer ticked: "1,3", "all" or "none"."""
    if raw is None or raw.lower() == "none":
        return ()
    if raw.lower() == "all":
        return tuple(range(1, items + 1))
    parts = [p.strip() for p in raw.split(",") if p.strip()]
    valid = len(parts) <= 10 * max(items, 1) and all(
        _NUMBER.fullmatch(p) and 1 <= int(p) <= items for p in parts
    )
    if not valid:
        raise UserError(
            f"`checks={verbatim(raw)}` should name checklist items from 1 to {items}, as in checks=1,3, "
            "or be checks=all or checks=none."
        )
    return tuple(sorted({int(p) for p in parts}))


@COMMANDS.command(
    FEEDBACK,
    "Review a submission you were asked to: alone, open the form; or accept / needs-work with a comment.",
    Arg("submission", ArgKind.WORD, help="the submission's number, from /study reviews"),
    # The round the review form showed (filled by the form, never typed): a review of work since replaced
    # by a resubmission is refused rather than filed against work the reviewer never saw.
    Arg("round", ArgKind.WORD, required=False, hidden=True),
    Arg("verdict", ArgKind.CHOICE, required=False, choices=VERDICTS, help="accept or needs-work"),
    Arg("checks", ArgKind.WORD, required=False, key="checks", help="checklist items met: 1,3 or all or none"),
    Arg(
        "comment",
        ArgKind.REST,
        required=False,
        help="what works and what to improve (up to 1,000 characters)",
    ),
    example=f"/study {FEEDBACK} 1 accept checks=all Clear notebook; the plots answer the question.",
)
async def feedback(ctx: Context, args: dict[str, Any]) -> Reply:
    number = _number(args["submission"])
    sub = await ctx.core.peer_reviews.get_submission(number)
    cohort = await ctx.core.cohorts.get_cohort(sub.cohort_id) if sub else None
    not_yours = UserError(
        f"You are not a reviewer of submission #{number}. "
        "`/study reviews` lists the reviews you were asked for."
    )
    if sub is None or cohort is None or cohort.platform != ctx.user.platform:
        raise not_yours
    if await ctx.core.cohorts.joined_at(cohort.id, ctx.member.id) is None:
        reviews = await ctx.core.peer_reviews.peer_reviews(sub.id)
        if not any(r.reviewer_id == ctx.member.id for r in reviews):
            raise not_yours  # the same answer as for any other number: nothing about another's cohort
        raise UserError(
            f"You are no longer in cohort {cohort.name}, so your reviews there go to its members. "
            f"Join again with `/study join {cohort.name}` to review."
        )
    verdict = args.get("verdict")
    if verdict is None:
        review = await ctx.core.peer_reviews.start_review(sub.id, ctx.member.id)
        if review is None:
            raise not_yours
        if review.state is not PeerReviewState.OPEN:
            raise UserError(_already(review))
        return _form(ctx.core.catalog, cohort, sub)
    items = checklist(ctx.core.catalog, sub.challenge_id)
    ticks = _checks(args.get("checks"), len(items))
    comment: str = args.get("comment", "").strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise UserError(
            f"Keep the comment under {MAX_COMMENT_CHARS:,} characters (yours has {len(comment):,})."
        )
    if len(_INVISIBLE.sub(" ", comment).strip()) < MIN_COMMENT_CHARS:
        raise UserError(
            "Add a comment of a sentence or more: what works, and what the author should improve. "
            f"Example: `/study {FEEDBACK} {sub.id} {verdict} checks=1,2 The plots are clear; label the axes.`"
        )
    try:
        settled = await ctx.core.peer_reviews.give_review(
            sub.id,
            ctx.member.id,
            ReviewVerdict(verdict),
            ticks,
            comment,
            ctx.now,
            await member_day(ctx.core, ctx.member.id, cohort),
            await member_day(ctx.core, sub.member_id, cohort),
            seen_round=_round(args.get("round")),
        )
    except Superseded:
        raise UserError(
            f"The author sent new work for #{sub.id} since you opened this form, so this review was not "
            f"saved. Open it again to see the new link: `/study {FEEDBACK} {sub.id}`."
        ) from None
    except Conflict:
        mine = [r for r in await ctx.core.peer_reviews.peer_reviews(sub.id) if r.reviewer_id == ctx.member.id]
        raise UserError(_already(mine[-1]) if mine else "That review is closed.") from None
    if settled.review is None:
        raise not_yours
    points = (
        f"+{POINTS_PEER_REVIEW} points for your review."
        if settled.reviewer_points
        else "You were given points for reviewing this submission before, so none this time."
    )
    state = settled.submission.state
    outcome = ""
    if settled.decided and state is SubmissionState.ACCEPTED:
        outcome = f" The submission is now accepted (+{POINTS_ACCEPTED} points to its author)."
    elif settled.decided and state is SubmissionState.NEEDS_WORK:
        outcome = " Its author is asked for more work and can resubmit."
    fields = (
        Field("Verdict", verdict, inline=True),
        Field("Checklist", f"{len(ticks)} of {len(items)} met", inline=True),
        Field("Comment", verbatim(comment)),
    )
    body = f"Thank you: your review of #{sub.id} is saved and its author will read it. {points}{outcome}"
    return Reply(cards=(Card("📝 Review saved", body, fields, style=Style.SUCCESS),), ephemeral=True)


def _round(raw: str | None) -> int | None:
    return int(raw) if raw is not None and _NUMBER.fullmatch(raw) else None


def _already(review: PeerReview) -> str:
    if review.state is PeerReviewState.DONE and review.done_at:
        verdict = review.verdict.value if review.verdict else "given"
        return (
            f"You already reviewed submission #{review.submission_id} ({verdict}, {review.done_at:%a %d %b})."
        )
    return (
        f"Your review of submission #{review.submission_id} is closed ({review.state.value}); nothing is due."
    )


def _form(catalog: Catalog, cohort: Cohort, sub: Submission) -> Reply:
    """The review form, and the same in words for where no form opens (the console)."""
    items = checklist(catalog, sub.challenge_id)
    title = task_title(catalog, sub.challenge_id)
    intro = f"Submission #{sub.id} for `{sub.challenge_id}` ({verbatim(title)})\n{verbatim(sub.url)}" + (
        f"\nThe author's note: {verbatim(sub.note)}" if sub.note else ""
    )
    fields = [
        FormField(
            "verdict",
            "Verdict",
            FieldKind.ONE,
            (Option("accept", "Accept: it does what the task asks"), Option("needs-work", "Needs work")),
        )
    ]
    if items:
        options = tuple(Option(str(i), item) for i, item in enumerate(items, 1))
        fields.append(FormField("checks", "What it meets", FieldKind.MANY, options, required=False))
    fields.append(
        FormField(
            "comment",
            "Comment for the author",
            FieldKind.TEXT,
            max_chars=MAX_COMMENT_CHARS,
            hint="What works, and what to improve",
        )
    )
    form = Form(f"Review #{sub.id}", FEEDBACK, (str(sub.id), str(sub.round)), tuple(fields), intro)
    card = Card(
        f"📝 Review #{sub.id}: {verbatim(title)}",
        f"{intro}\n\nWhat to look for:\n{numbered(items)}",
        footer=(
            f"Type: /study {FEEDBACK} {sub.id} accept|needs-work checks=1,2 <your comment> "
            f"(checks=all or none; the comment up to {MAX_COMMENT_CHARS:,} characters)"
        ),
        style=Style.PRIMARY,
    )
    return Reply(cards=(card,), ephemeral=True, form=form)


@COMMANDS.command(
    "reviews",
    "The reviews you were asked to give, and how review of your own work stands.",
    example="/study reviews",
)
async def reviews(ctx: Context, args: dict[str, Any]) -> Reply:
    cohort = await ctx.my_cohort()
    store = ctx.core.peer_reviews
    given = await store.reviews_by(ctx.member.id, cohort.id)
    to_do = [(r, s) for r, s in given if r.state is PeerReviewState.OPEN]
    done = sum(1 for r, _ in given if r.state is PeerReviewState.DONE)
    catalog = ctx.core.catalog
    lines = [
        f"#{s.id} · `{s.challenge_id}` · due {r.due_at:%a %d %b %H:%M} UTC\n{verbatim(s.url)}"
        for r, s in to_do[:SHOWN]
    ]
    todo = "\n".join(lines) if lines else "Nothing to review right now."
    cards = [
        Card(
            f"📝 Reviews to give in {cohort.name}",
            todo + f"\n\nReviews you have given: {done}.",
            footer=f"Review one: the button, or /study {FEEDBACK} <number>",
            style=Style.PRIMARY if to_do else Style.NEUTRAL,
        )
    ]
    mine = await ctx.core.submissions.member_submissions(cohort.id, ctx.member.id)
    if mine:
        rows = []
        for sub in mine[:SHOWN]:
            round_reviews = [r for r in await store.peer_reviews(sub.id) if r.round == sub.round]
            given_here = sum(1 for r in round_reviews if r.state is PeerReviewState.DONE)
            waiting = sum(1 for r in round_reviews if r.state is PeerReviewState.OPEN)
            who = (
                f"{given_here} review(s) in, {waiting} awaited"
                if round_reviews
                else "reviewers not assigned yet"
            )
            rows.append(
                f"#{sub.id} · `{sub.challenge_id}` ({verbatim(task_title(catalog, sub.challenge_id))}) · "
                f"{STATE_LABELS[sub.state]} · {who}"
            )
        cards.append(Card("📎 Your submissions", "\n".join(rows), style=Style.NEUTRAL))
    buttons = tuple(review_button(s.id, f"📝 Review #{s.id}") for _, s in to_do[:BUTTONS])
    return Reply(cards=tuple(cards), buttons=buttons, ephemeral=True)


@COMMANDS.command(
    "portfolio",
    "Accepted work by roadmap stage: yours, or a member's; something to put on a CV.",
    Arg("member", ArgKind.REST, required=False, help="a member's name or mention; yours when left out"),
    example="/study portfolio",
)
async def portfolio(ctx: Context, args: dict[str, Any]) -> Reply:
    who = ctx.member
    if args.get("member"):
        who = await find_member(ctx.core.members, ctx.conversation, args["member"])
    cohorts = [c for c in await ctx.core.cohorts.member_cohorts(who.id) if ctx.in_this_workspace(c)]
    if not cohorts:
        cohorts = [await ctx.my_cohort()]  # says how to join; a named member is found only in a cohort
    accepted: list[Submission] = []
    for cohort in cohorts:
        accepted += [
            s
            for s in await ctx.core.submissions.member_submissions(cohort.id, who.id)
            if s.state is SubmissionState.ACCEPTED
        ]
    name = verbatim(who.name)
    catalog = ctx.core.catalog
    here = {c.id for c in cohorts}
    reached = [m for m in await ctx.core.notices.member_milestones(who.id) if m.cohort_id in here]
    milestones = (
        (
            Field(
                "Milestones",
                "\n".join(
                    f"{m.local_date:%d %b %Y}: {describe(catalog, m.kind)}"
                    for m in reached[-MILESTONES_SHOWN:]
                ),
            ),
        )
        if reached
        else ()
    )
    graduated = next((m for m in reached if m.kind == GRADUATED), None)
    images = (await _certificate(ctx, who, graduated, len(accepted)),) if graduated else ()
    if not accepted:
        hint = " Submit work for a task with `/study submit <link>`." if who.id == ctx.member.id else ""
        text = f"{name} has no accepted work yet.{hint}"
        cards = (Card(f"🗂 Portfolio of {name}", text, milestones, style=Style.NEUTRAL),) if milestones else ()
        return Reply(text="" if cards else text, cards=cards, images=images, ephemeral=True)
    by_stage: dict[str, list[Submission]] = {}
    for sub in sorted(accepted, key=lambda s: s.accepted_at or s.submitted_at):
        challenge = catalog.challenges.get(sub.challenge_id)
        by_stage.setdefault(challenge.stage if challenge else "", []).append(sub)
    order = [s.id for s in catalog.stages]
    fields = []
    for stage_id in sorted(by_stage, key=lambda s: order.index(s) if s in order else len(order)):
        stage = catalog.stage(stage_id)
        lines = [
            f"{verbatim(task_title(catalog, s.challenge_id))} ({_day(s.accepted_at)}): {verbatim(s.url)}"
            for s in by_stage[stage_id]
        ]
        fields.append(Field(verbatim(stage.title) if stage else "Other", "\n".join(lines)))
    body = f"{len(accepted)} piece(s) of work accepted by peer review."
    card = Card(f"🗂 Portfolio of {name}", body, (*fields[:24], *milestones), style=Style.SUCCESS)
    return Reply(cards=(card,), images=images, ephemeral=True)


async def _certificate(ctx: Context, who: Member, graduated: Milestone, accepted: int) -> Image:
    """The graduate's certificate: their name, cohort, dates, points, longest streak and accepted work."""
    cohort = await ctx.core.cohorts.get_cohort(graduated.cohort_id)
    if cohort is None:
        raise UserError("That cohort is gone; its certificate with it.")
    joined_at = await ctx.core.cohorts.joined_at(cohort.id, who.id)
    joined = local_date(joined_at, cohort.timezone) if joined_at else cohort.start_date
    points = next((r.points for r in await ctx.core.activity.scores(cohort.id) if r.member_id == who.id), 0)
    active, excused = await ctx.core.activity.member_days(cohort.id, who.id)
    longest = summarize(active, excused, ctx.member_today(cohort, who), ctx.calendar(cohort, who)).longest
    figures = [
        ("points", f"{points:,}"),
        ("longest streak", f"{longest} days"),
        ("work accepted", str(accepted)),
    ]
    png = await asyncio.to_thread(
        certificate_png, who.name, cohort.name, joined, graduated.local_date, figures
    )
    return Image(f"certificate-{cohort.name}.png", png, f"Certificate of completion of {who.name}")


def _day(at: dt.datetime | None) -> str:
    return f"{at:%d %b %Y}" if at else "accepted"


@COMMANDS.command(
    "cohort review",
    "Override a submission's review, or reassign or excuse a reviewer; recorded with who and why.",
    Arg("submission", ArgKind.WORD, help="the submission's number"),
    Arg("action", ArgKind.CHOICE, choices=("accept", "needs-work", "reassign", "excuse")),
    Arg("reviewer", ArgKind.WORD, required=False, key="reviewer", help="the reviewer to reassign or excuse"),
    Arg("reason", ArgKind.REST, help="why, for the record"),
    moderator=True,
    example="/study cohort review 2 reassign reviewer=alan Alan is away this week",
)
async def cohort_review(ctx: Context, args: dict[str, Any]) -> Reply:
    number = _number(args["submission"])
    sub = await ctx.core.peer_reviews.get_submission(number)
    cohort = await ctx.core.cohorts.get_cohort(sub.cohort_id) if sub else None
    if sub is None or cohort is None or not ctx.in_this_workspace(cohort):
        raise UserError(f"There is no submission #{number} in this workspace's cohorts. Nothing was changed.")
    reason: str = args["reason"]
    if len(reason) > MAX_REASON_CHARS:
        raise UserError(f"Keep the reason under {MAX_REASON_CHARS} characters. Nothing was changed.")
    by = (ctx.user.id, reason)
    author_day = await member_day(ctx.core, sub.member_id, cohort)
    action = args["action"]
    if action in VERDICTS:
        if sub.member_id == ctx.member.id:
            raise UserError(
                f"Submission #{sub.id} is your own work: another moderator decides it. Nothing was changed."
            )
        state = SubmissionState.ACCEPTED if action == "accept" else SubmissionState.NEEDS_WORK
        try:
            decided = await ctx.core.peer_reviews.decide_submission(sub.id, state, ctx.now, author_day, by)
        except Conflict:
            raise UserError(f"Submission #{sub.id} is already {state.value}. Nothing was changed.") from None
        now_is = decided.submission.state.value
        return Reply(
            text=f"Submission #{sub.id} is now {now_is}; its author will be told. Recorded.", ephemeral=True
        )
    if not args.get("reviewer"):
        raise UserError(f"Say whom to {action}: add reviewer=<member>. Nothing was changed.")
    reviewer = await find_member(ctx.core.members, ctx.conversation, args["reviewer"], cohort.id)
    open_ = [
        r
        for r in await ctx.core.peer_reviews.peer_reviews(sub.id)
        if r.reviewer_id == reviewer.id and r.round == sub.round and r.state is PeerReviewState.OPEN
    ]
    if not open_:
        raise UserError(f"{verbatim(reviewer.name)} holds no open review of #{sub.id}. Nothing was changed.")
    reassign = action == "reassign"
    settled = await ctx.core.peer_reviews.end_review(
        open_[0].id,
        PeerReviewState.REASSIGNED if reassign else PeerReviewState.EXCUSED,
        ctx.now,
        author_day,
        due=ctx.now + REVIEW_WINDOW if reassign else None,
        choose=chooser(ctx.core.catalog) if reassign else None,
        by=by,
    )
    if settled is None:
        raise UserError("That review was closed meanwhile. Nothing was changed.")
    if reassign:
        added = len(settled.added)
        what = (
            "a new reviewer was assigned"
            if added
            else "nobody else can review it yet; the sweep keeps looking"
        )
    else:
        what = "no replacement"
    label = STATE_LABELS[settled.submission.state]
    off = f"{verbatim(reviewer.name)} is off review #{sub.id} ({action}: {what})."
    return Reply(text=f"{off} The submission: {label}. Recorded.", ephemeral=True)

"""Submissions: a link as evidence for a practical task, recognised by its shape, checked with GitHub where
GitHub allows it, and counted as the day's check-in."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import urlparse

from bot.catalog.checks import URL_MAX, url_problem
from bot.catalog.model import Challenge
from bot.catalog.names import topic_title
from bot.dispatch.context import Context
from bot.dispatch.milestones import after_activity
from bot.dispatch.ratelimit import LINK_CHECKS, Verdict
from bot.dispatch.reviewing import after_submit
from bot.kernel.ports import Conflict
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.replies import plural
from bot.kernel.types import (
    Card,
    Cohort,
    Evidence,
    EvidenceKind,
    Field,
    PeerReview,
    Post,
    Reply,
    Style,
    Submission,
    Verification,
    Verified,
)
from bot.kernel.untrusted import verbatim
from bot.rules.points import POINTS_CHECKIN

MAX_NOTE_CHARS = 500
SHOWN = 10  # submissions listed at once

GITHUB_KINDS = frozenset(
    {EvidenceKind.GITHUB_REPO, EvidenceKind.GITHUB_COMMIT, EvidenceKind.GITHUB_PULL, EvidenceKind.GIST}
)
KIND_LABELS = {
    EvidenceKind.GITHUB_REPO: "GitHub repository",
    EvidenceKind.GITHUB_COMMIT: "GitHub commit",
    EvidenceKind.GITHUB_PULL: "GitHub pull request",
    EvidenceKind.GIST: "GitHub gist",
    EvidenceKind.KAGGLE: "Kaggle notebook",
    EvidenceKind.HF_MODEL: "Hugging Face model",
    EvidenceKind.HF_DATASET: "Hugging Face dataset",
    EvidenceKind.HF_SPACE: "Hugging Face Space",
    EvidenceKind.COLAB: "Colab notebook",
    EvidenceKind.OTHER: "web page",
}
VERIFIED_MARKS = {
    Verified.YES: "✅ verified",
    Verified.NO: "⚠️ not confirmed",
    Verified.UNCHECKED: "➖ unverified",
}

_OWNER = r"(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))"
_REPO = r"(?P<repo>[A-Za-z0-9._-]{1,100}?)(?:\.git)?"
_GITHUB = [
    (EvidenceKind.GITHUB_COMMIT, re.compile(rf"^/{_OWNER}/{_REPO}/commit/(?P<ref>[0-9a-fA-F]{{7,40}})/?$")),
    (
        EvidenceKind.GITHUB_PULL,
        re.compile(rf"^/{_OWNER}/{_REPO}/pull/(?P<ref>[1-9][0-9]{{0,9}})(?:/[a-z]*)?/?$"),
    ),
    (EvidenceKind.GITHUB_REPO, re.compile(rf"^/{_OWNER}/{_REPO}(?:/(?:tree|blob)/.*)?/?$")),
]
_GIST = re.compile(r"^/(?:[A-Za-z0-9-]{1,39}/)?(?P<repo>[0-9a-f]{20,40})/?$")
_HUGGING_FACE = {"datasets": EvidenceKind.HF_DATASET, "spaces": EvidenceKind.HF_SPACE}


def parse_evidence(text: str) -> Evidence:
    """The evidence a link is, by its shape; UserError saying what to send instead when it is no link."""
    url = text.strip().strip("<>")
    problem = url_problem(url) if len(url) <= URL_MAX else f"is longer than {URL_MAX} characters"
    if problem or not url.lower().startswith("https://"):
        reason = problem or "is not an https:// link"
        raise UserError(
            f"That link {reason}. Send one https:// link to your work, for example "
            "https://github.com/you/project or a Kaggle, Hugging Face or Colab notebook."
        )
    parsed = urlparse(url)
    host = (parsed.hostname or "").lower().removeprefix("www.")
    path = parsed.path
    if host == "github.com":
        for kind, pattern in _GITHUB:
            if m := pattern.match(path):
                found = m.groupdict()
                return Evidence(url, kind, found["owner"], found["repo"], found.get("ref") or "")
    if host == "gist.github.com" and (m := _GIST.match(path)):
        return Evidence(url, EvidenceKind.GIST, repo=m["repo"])
    if host == "kaggle.com" and path.startswith("/code/"):
        return Evidence(url, EvidenceKind.KAGGLE)
    if host in ("huggingface.co", "hf.co"):
        parts = [p for p in path.split("/") if p]
        if parts and parts[0] in _HUGGING_FACE and len(parts) >= 3:
            return Evidence(url, _HUGGING_FACE[parts[0]])
        if len(parts) >= 2 and parts[0] not in ("docs", "learn", "blog", "papers", "models"):
            return Evidence(url, EvidenceKind.HF_MODEL)
    if host == "colab.research.google.com":
        return Evidence(url, EvidenceKind.COLAB)
    return Evidence(url, EvidenceKind.OTHER)


COMMANDS = Registry()


@COMMANDS.command(
    "submit",
    "Submit a link to your work for today's task (task= for an earlier one); alone, list yours.",
    Arg("link", ArgKind.WORD, required=False, help="an https link: GitHub, Kaggle, Hugging Face, Colab..."),
    Arg("task", ArgKind.WORD, required=False, key="task", help="an earlier task of your cohort"),
    Arg("note", ArgKind.REST, required=False, help="a line for your reviewers"),
    example="/study submit https://github.com/ada/ml-job-skills task=role-what-mles-do-task-1 "
    "two postings compared",
)
async def submit(ctx: Context, args: dict[str, Any]) -> Reply:
    link: str = args.get("link", "")
    note: str = args.get("note", "")
    cohort = await ctx.my_cohort()
    if not link:
        return await _listing(ctx, cohort)
    if len(note) > MAX_NOTE_CHARS:
        raise UserError(f"Keep the note under {MAX_NOTE_CHARS} characters (yours has {len(note)}).")
    evidence = parse_evidence(link)
    day = await ctx.activity_day(cohort)
    task, post, posted_at = await _task(ctx, cohort, args.get("task"), day)
    before = await ctx.core.submissions.submission(cohort.id, ctx.member.id, task.id)
    if before and before.url == evidence.url and before.verification.status is not Verified.UNCHECKED:
        verification = before.verification  # the same link again: GitHub already told us
    else:
        verification = await _verify(ctx, evidence, posted_at)
    try:
        saved, replaced = await ctx.core.submissions.save_submission(
            cohort.id, ctx.member.id, task.id, evidence, note, verification, ctx.now
        )
    except Conflict:
        raise UserError(
            f"Review of your submission for `{task.id}` has started, so its link can no longer change."
        ) from None
    points = (
        "" if replaced else await _check_in(ctx, cohort, day, post if post.local_date == day else None, saved)
    )
    assigned = await after_submit(ctx.core, saved, before.round if before else None)
    return Reply(
        cards=(_card(ctx, task, saved, replaced, points, _reviewers(saved, assigned)),), ephemeral=True
    )


def _reviewers(saved: Submission, assigned: list[PeerReview]) -> str:
    """What the author hears about review: who is on it, or why nobody is yet."""
    if assigned:
        return (
            f"{plural(len(assigned), 'reviewer')} from your cohort will look at it and are told privately "
            f"within a minute; `/study reviews` shows how it goes (submission #{saved.id})."
        )
    return (
        f"Reviewers are members who did this task or are further along; they are assigned as they come "
        f"(submission #{saved.id}, see `/study reviews`)."
    )


async def _task(
    ctx: Context, cohort: Cohort, task_id: str | None, day: dt.date
) -> tuple[Challenge, Post, dt.datetime]:
    """The task a submission is for, its first post in the cohort and when that was."""
    catalog = ctx.core.catalog
    if task_id:
        challenge = catalog.challenges.get(task_id)
        if challenge is None or challenge.is_quiz:
            what = "a quiz, answered with /study answer" if challenge else "no task of the roadmap"
            raise UserError(f"`{verbatim(task_id)}` is {what}. {await _recent_tasks(ctx, cohort)}")
        first = await ctx.core.posts.first_post_of(cohort.id, challenge.id)
        if first is None:
            instead = await _recent_tasks(ctx, cohort)
            raise UserError(f"Cohort {cohort.name} has not had task `{challenge.id}` yet. {instead}")
        return challenge, *first
    post = await ctx.core.posts.post_for_day(cohort.id, day)
    challenge = catalog.challenges.get(post.challenge_id) if post else None
    if post is None or challenge is None or challenge.is_quiz:
        today = "Today's challenge is a quiz" if post else "There is no challenge today"
        raise UserError(f"{today}. {await _recent_tasks(ctx, cohort)}")
    first = await ctx.core.posts.first_post_of(cohort.id, challenge.id)
    return challenge, post, first[1] if first else ctx.now


async def _recent_tasks(ctx: Context, cohort: Cohort) -> str:
    """Where to turn instead: the cohort's latest tasks, for `task=`."""
    catalog = ctx.core.catalog
    used = await ctx.core.posts.used_challenges(cohort.id)
    tasks = [
        cid for cid in dict.fromkeys(reversed(used)) if (c := catalog.challenges.get(cid)) and not c.is_quiz
    ]
    if not tasks:
        return "Your cohort has had no practical task yet; submit once one is posted."
    names = ", ".join(f"`{t}`" for t in tasks[:3])
    return f"To submit for an earlier task, add task=<id>: your cohort's latest are {names}."


async def _verify(ctx: Context, evidence: Evidence, since: dt.datetime) -> Verification:
    verifier = ctx.core.verifier
    if verifier is None:
        return Verification(Verified.UNCHECKED, "link checks are off on this bot")
    if evidence.kind in GITHUB_KINDS:
        key = (ctx.user.platform, ctx.user.id)
        if ctx.core.link_checks.check(key, ctx.now) is not Verdict.ALLOW:
            return Verification(
                Verified.UNCHECKED, f"you sent more than {LINK_CHECKS} GitHub links in the last hour"
            )
    return await verifier.verify(evidence, since)


async def _check_in(ctx: Context, cohort: Cohort, day: dt.date, post: Post | None, saved: Submission) -> str:
    """A first submission is the day's check-in: its points, unless the member already checked in."""
    activity = ctx.check_in(cohort, day, post, saved.url)
    try:
        recorded = await ctx.core.activity.record_activity(activity)
    except Conflict:
        return f"You had already checked in on {day:%a %d %b}, so no extra points."
    await after_activity(ctx.core, cohort, ctx.member.id, recorded, day, ctx.calendar(cohort))
    return f"+{POINTS_CHECKIN} points: it counts as your check-in for {day:%a %d %b}."


def _card(ctx: Context, task: Challenge, saved: Submission, replaced: bool, points: str, review: str) -> Card:
    verification = saved.verification
    fields = [
        Field("Link", verbatim(saved.url)),
        Field("Kind", KIND_LABELS[saved.kind], inline=True),
        Field(
            "Check", f"{VERIFIED_MARKS[verification.status]}: {verbatim(verification.detail)}", inline=True
        ),
    ]
    if saved.note:
        fields.append(Field("Note", verbatim(saved.note)))
    title = "🔁 Link replaced" if replaced else "📎 Submitted"
    topic = verbatim(topic_title(ctx.core.catalog, task.stage, task.topic))
    body = f"Your work for `{task.id}` ({topic}) is in. " + (
        points or "Points were given for the first link."
    )
    body += f"\n{review}"
    footer = (
        "Send another link the same way to replace it until a reviewer starts · /study submit lists yours"
    )
    return Card(f"{title}: {topic}", body, tuple(fields), footer=footer, style=Style.SUCCESS)


async def _listing(ctx: Context, cohort: Cohort) -> Reply:
    mine = await ctx.core.submissions.member_submissions(cohort.id, ctx.member.id)
    if not mine:
        return Reply(
            text="You have submitted nothing yet: `/study submit <link>` on a task day sends your work.",
            ephemeral=True,
        )
    lines = [
        f"`{s.challenge_id}` · {KIND_LABELS[s.kind]} · {s.state.value} · "
        f"{VERIFIED_MARKS[s.verification.status]}\n{verbatim(s.url)}"
        for s in mine[:SHOWN]
    ]
    more = f"\n… and {len(mine) - SHOWN} more" if len(mine) > SHOWN else ""
    card = Card(f"📎 Your submissions in {cohort.name}", "\n".join(lines) + more, style=Style.NEUTRAL)
    return Reply(cards=(card,), ephemeral=True)

"""Submitting work for a task: the link's kind, the check-in it counts as, replacing it, what is refused."""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pytest
from sqlalchemy import update

from adapters.github.verifier import GitHubVerifier
from bot.composition.app import build_core, close_core
from bot.composition.settings import Settings
from bot.dispatch.ratelimit import LINK_CHECKS
from bot.features.submissions import parse_evidence
from bot.kernel.registry import UserError
from bot.kernel.types import EvidenceKind, Reply, SubmissionState
from bot.rules.points import POINTS_CHECKIN
from storage.base import submission_t
from tests.conftest import Bot, snapshot, text_of
from tests.fakes.github import FakeCommit, FakeGitHub

DAY = dt.timedelta(days=1)


@pytest.mark.parametrize(
    ("link", "kind", "owner", "repo", "ref"),
    [
        ("https://github.com/ada/titanic-eda", EvidenceKind.GITHUB_REPO, "ada", "titanic-eda", ""),
        ("https://github.com/ada/titanic-eda.git", EvidenceKind.GITHUB_REPO, "ada", "titanic-eda", ""),
        ("https://www.github.com/ada/eda/tree/main/notebooks", EvidenceKind.GITHUB_REPO, "ada", "eda", ""),
        ("https://github.com/ada/eda/commit/9fceb02d0ae598e95dc970b74767f19372d61af8",
         EvidenceKind.GITHUB_COMMIT, "ada", "eda", "9fceb02d0ae598e95dc970b74767f19372d61af8"),
        ("https://github.com/ada/eda/pull/12/files", EvidenceKind.GITHUB_PULL, "ada", "eda", "12"),
        ("https://gist.github.com/ada/0123456789abcdef0123", EvidenceKind.GIST, "",
         "0123456789abcdef0123", ""),
        ("https://www.kaggle.com/code/ada/titanic-first-look", EvidenceKind.KAGGLE, "", "", ""),
        ("https://huggingface.co/ada/distilbert-reviews", EvidenceKind.HF_MODEL, "", "", ""),
        ("https://huggingface.co/datasets/ada/reviews", EvidenceKind.HF_DATASET, "", "", ""),
        ("https://huggingface.co/spaces/ada/demo", EvidenceKind.HF_SPACE, "", "", ""),
        ("https://colab.research.google.com/drive/1AbCdEf", EvidenceKind.COLAB, "", "", ""),
        ("https://ada.dev/posts/titanic", EvidenceKind.OTHER, "", "", ""),
        ("https://huggingface.co/docs/transformers", EvidenceKind.OTHER, "", "", ""),
    ],
)  # fmt: skip
def test_a_link_is_recognised_by_its_shape(
    link: str, kind: EvidenceKind, owner: str, repo: str, ref: str
) -> None:
    evidence = parse_evidence(link)
    assert (evidence.kind, evidence.owner, evidence.repo, evidence.ref) == (kind, owner, repo, ref)
    assert evidence.url == link


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("http://github.com/ada/eda", "is not an https:// link"),
        ("github.com/ada/eda", "is not a well-formed http(s) URL"),
        ("javascript:alert(1)", "is not a well-formed http(s) URL"),
        ("[my repo](https://github.com/ada/eda)", "is not a well-formed http(s) URL"),
        ("https://github.com/ada/eda)[Claim](https://evil.example", "percent-encode them"),
        ("https://ada@evil.example/x", "hides where the link goes"),
        ("https://example.com/" + "a" * 300, "is longer than 300 characters"),
    ],
)
def test_anything_but_one_plain_https_link_is_refused_saying_why(text: str, reason: str) -> None:
    with pytest.raises(UserError) as err:
        parse_evidence(text)
    assert reason in str(err.value) and "Send one https:// link" in str(err.value)


async def start(bot: Bot) -> None:
    reply = await bot.say("Mia", "/study cohort create ml time=09:00 tz=UTC days=daily")
    assert not reply.error, reply.text
    assert not (await bot.say("Ada", "join ml")).error
    bot.clock.set(dt.datetime(2026, 11, 23, 9, 5, tzinfo=dt.UTC))


async def until(bot: Bot, command: str) -> Reply:
    """Post day by day until the day's challenge is a task ("done") or a quiz ("answer")."""
    for _ in range(60):
        posts = await bot.post()
        if posts and posts[0].buttons and posts[0].buttons[0].command == command:
            return posts[0]
        bot.clock.advance(DAY)
    raise AssertionError(f"no {command} challenge in 60 days")


def task_of(bot: Bot, post: Reply) -> str:
    return next(
        c.id
        for c in bot.core.catalog.challenges.values()
        if not c.is_quiz and c.instructions in post.cards[0].body
    )


async def test_a_first_link_is_the_days_check_in_and_a_second_replaces_it_without_points(bot: Bot) -> None:
    await start(bot)
    task = task_of(bot, await until(bot, "done"))
    first = await bot.say("Ada", "submit https://github.com/ada/eda six findings, see README")
    shown = text_of(first)
    assert not first.error and first.ephemeral
    assert "📎 Submitted" in shown and f"`{task}`" in shown
    assert "Kind: GitHub repository" in shown and "Link: https://github.com/ada/eda" in shown
    assert "➖ unverified: link checks are off on this bot" in shown  # no verifier in the core here
    assert f"+{POINTS_CHECKIN} points: it counts as your check-in" in shown
    again = await bot.say("Ada", "submit https://www.kaggle.com/code/ada/eda")
    assert "🔁 Link replaced" in text_of(again) and "Kind: Kaggle notebook" in text_of(again)
    assert "+5 points" not in text_of(again)
    [cohort] = await bot.core.store.list_cohorts()
    ada = await bot.core.store.upsert_member("console", "ada", "Ada")
    [saved] = await bot.core.store.member_submissions(cohort.id, ada.id)
    assert (saved.challenge_id, saved.url, saved.kind, saved.state) == (
        task, "https://www.kaggle.com/code/ada/eda", EvidenceKind.KAGGLE, SubmissionState.SUBMITTED
    )  # fmt: skip
    assert saved.note == ""  # the second link came without one
    rows = await bot.core.store.activities(cohort.id)
    assert [(a.kind.value, a.points, a.note) for a in rows] == [("checkin", 5, "https://github.com/ada/eda")]
    done = await bot.say("Ada", "done")
    assert done.error and "already checked in" in done.text


async def test_after_a_check_in_a_submission_is_saved_but_earns_nothing_more(bot: Bot) -> None:
    await start(bot)
    await until(bot, "done")
    assert not (await bot.say("Ada", "done")).error
    reply = await bot.say("Ada", "submit https://github.com/ada/eda")
    assert "📎 Submitted" in text_of(reply) and "already checked in" in text_of(reply)


async def test_an_earlier_task_takes_task_and_a_quiz_day_says_which_tasks_there_were(bot: Bot) -> None:
    await start(bot)
    task = task_of(bot, await until(bot, "done"))
    bot.clock.advance(DAY)
    await until(bot, "answer")
    on_quiz_day = await bot.say("Ada", "submit https://github.com/ada/eda")
    assert on_quiz_day.error and "Today's challenge is a quiz" in on_quiz_day.text
    assert f"add task=<id>: your cohort's latest are `{task}`" in on_quiz_day.text
    earlier = await bot.say("Ada", f"submit https://github.com/ada/eda task={task} late but done")
    assert "📎 Submitted" in text_of(earlier) and "Note: late but done" in text_of(earlier)


async def test_a_task_never_posted_a_quiz_or_an_unknown_id_is_refused_and_changes_nothing(bot: Bot) -> None:
    await start(bot)
    await until(bot, "done")
    catalog = bot.core.catalog
    quiz = next(c.id for c in catalog.challenges.values() if c.is_quiz)
    later = next(c.id for c in catalog.challenges.values() if not c.is_quiz and c.stage == "career")
    before = await snapshot(bot.core.store)
    for line, says in [
        (f"submit https://github.com/ada/eda task={quiz}", "is a quiz, answered with /study answer"),
        (f"submit https://github.com/ada/eda task={later}", f"has not had task `{later}` yet"),
        ("submit https://github.com/ada/eda task=no-such-task", "is no task of the roadmap"),
        ("submit http://github.com/ada/eda", "is not an https:// link"),
        ("submit https://github.com/ada/eda " + "x" * 501, "Keep the note under 500 characters"),
    ]:
        reply = await bot.say("Ada", line)
        assert reply.error and says in reply.text, (line, reply.text)
    assert await snapshot(bot.core.store) == before


async def test_once_review_has_started_the_link_stays_as_it_was(bot: Bot) -> None:
    await start(bot)
    await until(bot, "done")
    assert not (await bot.say("Ada", "submit https://github.com/ada/eda")).error
    async with bot.core.store.engine.begin() as conn:
        await conn.execute(update(submission_t).values(state=SubmissionState.IN_REVIEW.value))
    before = await snapshot(bot.core.store)
    reply = await bot.say("Ada", "submit https://github.com/ada/other")
    assert reply.error and "has started, so its link can no longer change" in reply.text
    assert await snapshot(bot.core.store) == before


async def test_submit_alone_lists_my_submissions(bot: Bot) -> None:
    await start(bot)
    empty = await bot.say("Ada", "submit")
    assert "You have submitted nothing yet" in empty.text
    task = task_of(bot, await until(bot, "done"))
    await bot.say("Ada", "submit https://huggingface.co/spaces/ada/demo")
    listing = text_of(await bot.say("Ada", "submit"))
    assert f"`{task}` · Hugging Face Space · submitted · ➖ unverified" in listing
    assert "https://huggingface.co/spaces/ada/demo" in listing


async def test_github_links_are_checked_through_the_github_api_and_the_reply_says_what_it_found(
    bot: Bot,
) -> None:
    await start(bot)
    await until(bot, "done")
    posted = bot.clock.now()
    async with FakeGitHub() as github:
        github.add_repo("ada", "eda", commits=[FakeCommit("a" * 40, posted + dt.timedelta(minutes=30))])
        github.add_repo("ada", "old", commits=[FakeCommit("b" * 40, posted - dt.timedelta(days=40))])
        verifier = GitHubVerifier(base_url=github.url, timeout=1.0)
        bot.core.verifier = verifier
        try:
            bot.clock.advance(dt.timedelta(hours=1))
            old = text_of(await bot.say("Ada", "submit https://github.com/ada/old"))
            assert "⚠️ not confirmed: no commit since the task was posted" in old
            fresh = text_of(await bot.say("Ada", "submit https://github.com/ada/eda"))
            assert "✅ verified: public repository with a commit after the task was posted" in fresh
            missing = text_of(await bot.say("Ada", "submit https://github.com/ada/nothing-here"))
            assert "⚠️ not confirmed" in missing and "private or does not exist" in missing
            github.remaining = 0  # GitHub's hourly limit is spent: the link still stands, unverified
            limited = await bot.say("Ada", "submit https://github.com/ada/eda")
            assert "🔁 Link replaced" in text_of(limited) and "➖ unverified" in text_of(limited)
            assert "GITHUB_TOKEN" in text_of(limited)
            kaggle = text_of(await bot.say("Ada", "submit https://www.kaggle.com/code/ada/eda"))
            assert "➖ unverified: studybot can only check GitHub links" in kaggle
        finally:
            await verifier.close()
    paths = [r.path for r in github.requests]
    assert "/repos/ada/old" in paths and "/repos/ada/eda/commits" in paths
    assert not any("kaggle" in p for p in paths)


async def test_the_bot_checks_github_links_unless_told_not_to(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/s.db"
    on = await build_core(Settings(github_api_url="http://127.0.0.1:9"), url)
    try:
        assert isinstance(on.verifier, GitHubVerifier)
    finally:
        await close_core(on)
    off = await build_core(Settings(github_checks=False), url)
    try:
        assert off.verifier is None
    finally:
        await close_core(off)


async def test_cohort_export_lists_submitted_work_with_formulas_made_inert(bot: Bot) -> None:
    await start(bot)
    task = task_of(bot, await until(bot, "done"))
    await bot.say("Ada", 'submit https://github.com/ada/eda =HYPERLINK("https://evil.example")')
    export = await bot.say("Mia", "cohort export ml")
    work = export.attachments[2]
    assert work.filename == "ml-submissions.csv"
    [row] = list(csv.DictReader(io.StringIO(work.data.decode())))
    assert (row["member"], row["task"], row["kind"], row["url"], row["state"], row["verified"]) == (
        "Ada", task, "github-repo", "https://github.com/ada/eda", "submitted", "unverified"
    )  # fmt: skip
    assert row["note"] == '\'=HYPERLINK("https://evil.example")'


async def test_one_member_cannot_spend_githubs_hourly_limit_for_everyone(bot: Bot) -> None:
    await start(bot)
    await until(bot, "done")
    async with FakeGitHub() as github:
        github.add_repo("ada", "eda", commits=[FakeCommit("a" * 40, bot.clock.now())])
        verifier = GitHubVerifier(base_url=github.url, timeout=1.0)
        bot.core.verifier = verifier
        try:
            first = text_of(await bot.say("Ada", "submit https://github.com/ada/eda"))
            same = text_of(await bot.say("Ada", "submit https://github.com/ada/eda"))  # asked once only
            assert "✅ verified" in first and "✅ verified" in same and len(github.requests) == 2
            for i in range(
                LINK_CHECKS
            ):  # other links, each checked, until the member's hourly share is spent
                await bot.say("Ada", f"submit https://github.com/ada/try-{i}")
            over = text_of(await bot.say("Ada", "submit https://github.com/ada/one-more"))
            assert f"➖ unverified: you sent more than {LINK_CHECKS} GitHub links in the last hour" in over
            assert not any("one-more" in r.path for r in github.requests)
            assert not (await bot.say("Mia", "join ml")).error
            others = text_of(await bot.say("Mia", "submit https://github.com/ada/eda"))
            assert "✅ verified" in others  # someone else still gets their check
            bot.clock.advance(dt.timedelta(hours=1))
            later = text_of(await bot.say("Ada", "submit https://github.com/ada/eda"))
            assert "✅ verified" in later
        finally:
            await verifier.close()

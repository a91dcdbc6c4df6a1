"""Peer review through the core as members use it: reviewers assigned and told privately, the form and the
typed review, decisions and points once, timeouts replaced once, moderators' overrides, the portfolio."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
from collections import Counter

from bot.jobs.recap import build_recap
from bot.kernel.types import FieldKind, Invocation, PeerReviewState, Reply, SubmissionState
from bot.kernel.untrusted import plain
from bot.rules.assignment import OPEN_MAX
from bot.rules.points import POINTS_ACCEPTED, POINTS_CHECKIN, POINTS_PEER_REVIEW
from tests.bot.features.test_submissions import DAY, start, task_of, until
from tests.conftest import CHANNEL, Bot, snapshot, text_of

MEMBERS = ("Ada", "Bob", "Cy", "Dee")


async def cohort_with_a_task(bot: Bot) -> str:
    await start(bot)
    for name in MEMBERS[1:]:
        assert not (await bot.say(name, "join ml")).error
    return task_of(bot, await until(bot, "done"))


async def submit(bot: Bot, name: str, link: str | None = None) -> Reply:
    reply = await bot.say(name, f"submit {link or f'https://github.com/{name.lower()}/work'}")
    assert not reply.error, reply.text
    return reply


async def reviewers_of(bot: Bot, author: str) -> list[str]:
    [cohort] = await bot.core.store.list_cohorts()
    member = await bot.core.store.upsert_member("console", author.lower(), author)
    [sub] = await bot.core.store.member_submissions(cohort.id, member.id)
    names = []
    for review in await bot.core.store.peer_reviews(sub.id):
        if review.state in (PeerReviewState.OPEN, PeerReviewState.DONE):
            who = await bot.core.store.get_member(review.reviewer_id)
            assert who is not None
            names.append(who.name)
    return sorted(names)


async def number_of(bot: Bot, author: str) -> int:
    [cohort] = await bot.core.store.list_cohorts()
    member = await bot.core.store.upsert_member("console", author.lower(), author)
    return (await bot.core.store.member_submissions(cohort.id, member.id))[0].id


async def test_reviewers_are_who_did_the_task_never_the_author_and_are_told_privately(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    first = await submit(bot, "Ada")
    assert "assigned as they come" in text_of(first)  # nobody else has done the task yet
    await submit(bot, "Bob")
    await submit(bot, "Cy")
    assert await reviewers_of(bot, "Ada") == ["Bob", "Cy"]  # topped up as they submitted
    assert "Ada" in await reviewers_of(bot, "Cy") or "Bob" in await reviewers_of(bot, "Cy")
    await bot.post()  # the sweep tells reviewers
    ada = await number_of(bot, "Ada")
    about_ada = [(u, r) for u, r in bot.platform.direct if f"submission #{ada} " in text_of(r)]
    assert sorted(u for u, _ in about_ada) == ["bob", "cy"]  # never the author
    notice = next(r for u, r in about_ada if u == "bob")
    shown = text_of(notice)
    assert "https://github.com/ada/work" in shown and "What to look for: 1." in shown
    assert notice.buttons[0].command == "feedback"
    direct = len(bot.platform.direct)
    await bot.post()
    assert len(bot.platform.direct) == direct  # each reviewer is told once


async def test_the_review_button_opens_a_form_and_a_filled_form_decides_with_points_once(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    form_reply = await bot.say("Bob", f"feedback {ada}")
    assert form_reply.form is not None and form_reply.ephemeral
    kinds = [f.kind for f in form_reply.form.fields]
    assert kinds == [FieldKind.ONE, FieldKind.MANY, FieldKind.TEXT]
    assert "Type: /study feedback" in text_of(form_reply)  # the console's way in words
    listing = text_of(await bot.say("Ada", "submit"))
    assert "in-review" in listing  # the link is fixed once a reviewer opened it
    refused = await bot.say("Ada", "submit https://github.com/ada/changed")
    assert refused.error
    answers = (("verdict", "accept"), ("checks", "1,2"), ("comment", "Clear and complete.\nNice plots."))
    inv = Invocation("feedback", (str(ada),), bot.user("Bob"), CHANNEL, fields=answers)
    saved = await bot.core.dispatch(inv)
    assert not saved.error and f"+{POINTS_PEER_REVIEW} points" in text_of(saved)
    again = await bot.say("Bob", f"feedback {ada} accept checks=all Still good, really.")
    assert again.error and "already reviewed" in again.text
    done = await bot.say("Cy", f"feedback {ada} accept checks=all Works; the README explains it.")
    assert "now accepted" in text_of(done)
    [cohort] = await bot.core.store.list_cohorts()
    ada_id = (await bot.core.store.upsert_member("console", "ada", "Ada")).id
    [sub] = await bot.core.store.member_submissions(cohort.id, ada_id)
    assert sub.state is SubmissionState.ACCEPTED
    board = {row.name: row.points for row in await bot.core.store.scores(cohort.id)}
    assert board["Ada"] == POINTS_CHECKIN + POINTS_ACCEPTED  # Ada reviewed nothing
    assert board["Bob"] >= POINTS_CHECKIN + POINTS_PEER_REVIEW
    await bot.post()
    decision = [r for u, r in bot.platform.direct if u == "ada" and "Accepted" in text_of(r)]
    assert len(decision) == 1 and "Clear and complete." in text_of(decision[0])
    portfolio = text_of(await bot.say("Bob", "portfolio Ada"))
    assert "https://github.com/ada/work" in portfolio and "1 piece(s) of work" in portfolio


async def test_needs_work_lets_the_author_resubmit_and_the_same_reviewers_look_again(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    first = await reviewers_of(bot, "Ada")
    reviewer = first[0]
    asked = await bot.say(
        reviewer, f"feedback {ada} needs-work checks=1 The notebook does not run: add data."
    )
    assert "asked for more work" in text_of(asked)
    again = await bot.say("Ada", "submit https://github.com/ada/work-v2")
    assert not again.error and "🔁 Link replaced" in text_of(again)
    assert reviewer in await reviewers_of(bot, "Ada")
    [cohort] = await bot.core.store.list_cohorts()
    ada_id = (await bot.core.store.upsert_member("console", "ada", "Ada")).id
    [sub] = await bot.core.store.member_submissions(cohort.id, ada_id)
    assert (sub.round, sub.state) == (2, SubmissionState.SUBMITTED)
    second = await bot.say(reviewer, f"feedback {ada} accept checks=all Runs now, thanks for the fix.")
    assert not second.error and "points for reviewing this submission before" in text_of(second)


async def test_bad_reviews_are_refused_and_change_nothing(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    outsider = "Dee"
    before = await snapshot(bot.core.store)
    cases = {
        f"feedback {ada} accept Fine": "a sentence or more",
        f"feedback {ada} accept checks=9 Good enough work here": "checklist items from 1 to",
        f"feedback {ada} accept checks=1,x Good enough work here": "checklist items from 1 to",
        f"feedback {ada} accept {'x' * 1001}": "under 1,000 characters",
        f"feedback {ada} maybe": "is not one of accept, needs-work",
        "feedback twelve": "is not a submission number",
        "feedback 99999": "not a reviewer of submission #99999",
    }
    reviewer = (await reviewers_of(bot, "Ada"))[0]
    for line, says in cases.items():
        reply = await bot.say(reviewer, line)
        assert reply.error and says in reply.text, (line, reply.text)
    mine = await bot.say("Ada", f"feedback {ada} accept checks=all My own work is great!")
    assert mine.error and "not a reviewer" in mine.text
    other = await bot.say(outsider, f"feedback {ada}")
    assert other.error and "not a reviewer" in other.text
    assert await snapshot(bot.core.store) == before
    stranger = await bot.say("Zed", f"feedback {ada}")  # in no cohort at all: learns nothing of this one
    assert stranger.error and "not a reviewer" in stranger.text and "ml" not in stranger.text


async def test_a_silent_reviewer_is_replaced_once_then_one_accept_is_enough(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in MEMBERS:
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    active, silent = await reviewers_of(bot, "Ada")
    assert not (await bot.say(active, f"feedback {ada} accept checks=all Solid work, well explained.")).error
    bot.clock.advance(dt.timedelta(hours=73))
    await bot.post()
    now = await reviewers_of(bot, "Ada")
    assert silent not in now and len(now) == 2  # replaced once
    bot.clock.advance(dt.timedelta(hours=73))
    await bot.post()
    [cohort] = await bot.core.store.list_cohorts()
    ada_id = (await bot.core.store.upsert_member("console", "ada", "Ada")).id
    [sub] = await bot.core.store.member_submissions(cohort.id, ada_id)
    assert sub.state is SubmissionState.ACCEPTED  # the replacement was silent too: one accept stands
    states = [r.state for r in await bot.core.store.peer_reviews(sub.id)]
    assert states.count(PeerReviewState.TIMED_OUT) == 2 and states.count(PeerReviewState.DONE) == 1


async def test_moderators_override_reassign_and_excuse_with_who_and_why(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in MEMBERS:
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    first, second = await reviewers_of(bot, "Ada")
    refused = await bot.say("Bob", f"cohort review {ada} accept because")
    assert refused.error and "for moderators" in refused.text
    moved = await bot.say("Mia", f"cohort review {ada} reassign reviewer={first.lower()} Away this week")
    assert not moved.error and "a new reviewer was assigned" in moved.text, moved.text
    assert first not in await reviewers_of(bot, "Ada")
    excused = await bot.say(
        "Mia", f"cohort review {ada} excuse reviewer={second.lower()} Conflict of interest"
    )
    assert not excused.error, excused.text
    nobody = await bot.say("Mia", f"cohort review {ada} excuse reviewer={second.lower()} again")
    assert nobody.error and "holds no open review" in nobody.text
    accepted = await bot.say("Mia", f"cohort review {ada} accept Reviewed in the live session")
    assert "is now accepted" in accepted.text
    [cohort] = await bot.core.store.list_cohorts()
    actions = await bot.core.store.review_actions(cohort.id)
    assert [(a[1], a[3], a[4]) for a in actions] == [
        ("reassigned", "mia", "Away this week"),
        ("excused", "mia", "Conflict of interest"),
        ("accepted", "mia", "Reviewed in the live session"),
    ]
    twice = await bot.say("Mia", f"cohort review {ada} accept again")
    assert twice.error and "already accepted" in twice.text


async def test_reviews_lists_what_to_review_and_my_own_work(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    reviewer = (await reviewers_of(bot, "Ada"))[0]
    listing = await bot.say(reviewer, "reviews")
    shown = text_of(listing)
    assert f"#{ada} " in shown and "https://github.com/ada/work" in shown
    assert any(b.args == (str(ada),) for b in listing.buttons)
    mine = text_of(await bot.say("Ada", "reviews"))
    assert "waiting for review" in mine and "0 review(s) in, 2 awaited" in mine
    clicked = await bot.click(reviewer, listing, f"📝 Review #{ada}")
    assert clicked.form is not None
    bot.clock.advance(DAY)


async def test_accepted_work_is_built_this_week_in_the_recap_and_reviews_are_exported(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name, f"https://github.com/{name.lower()}/__work__")
    ada = await number_of(bot, "Ada")
    for reviewer in await reviewers_of(bot, "Ada"):
        said = await bot.say(
            reviewer, f'feedback {ada} accept checks=all =HYPERLINK("https://evil.example") ok'
        )
        assert not said.error, said.text
    [cohort] = await bot.core.store.list_cohorts()
    today = bot.clock.now().date()
    monday = today + dt.timedelta(days=7 - today.weekday())
    recap = await build_recap(bot.core, cohort, monday)
    assert recap is not None
    fields = {f.name: f.value for f in recap.cards[0].fields}
    built = plain(fields["🛠 Built this week"])
    assert built.startswith("Ada: ") and "https://github.com/ada/__work__" in built
    assert "Bob" not in built  # only accepted work
    board = plain(recap.cards[0].body)
    assert f"{POINTS_CHECKIN + POINTS_ACCEPTED}" in board  # Ada's week: check-in and acceptance
    export = await bot.say("Mia", "cohort export ml")
    reviews = export.attachments[3]
    assert reviews.filename == "ml-reviews.csv"
    rows = list(csv.DictReader(io.StringIO(reviews.data.decode())))
    given = [r for r in rows if r["submission"] == str(ada) and r["state"] == "done"]
    assert len(given) == 2 and {r["verdict"] for r in given} == {"accept"}
    assert all(r["comment"].startswith("'=HYPERLINK") for r in given)  # inert in a spreadsheet
    assert all(r["author"] == "Ada" and r["role"] == "reviewer" for r in given)


# ---- what a careless or hostile member, reviewer or moderator tries ----


async def sub_of(bot: Bot, author: str):  # type: ignore[no-untyped-def]
    [cohort] = await bot.core.store.list_cohorts()
    member = await bot.core.store.upsert_member("console", author.lower(), author)
    return (await bot.core.store.member_submissions(cohort.id, member.id))[0]


async def test_a_new_link_before_review_is_sent_to_the_reviewers_again(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    await bot.post()
    ada = await number_of(bot, "Ada")
    await submit(bot, "Ada", "https://github.com/ada/other-work")
    before = len(bot.platform.direct)
    await bot.post()
    again = [r for _, r in bot.platform.direct[before:] if f"submission #{ada} " in text_of(r)]
    assert len(again) == 2 and all("https://github.com/ada/other-work" in text_of(r) for r in again)


async def test_a_form_opened_before_a_resubmission_cannot_review_the_new_work(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    first, second = await reviewers_of(bot, "Ada")
    form = (await bot.say(second, f"feedback {ada}")).form
    assert form is not None and form.args == (str(ada), "1")
    await bot.say(first, f"feedback {ada} needs-work checks=1 The notebook does not run at all.")
    await submit(bot, "Ada", "https://github.com/ada/v2")
    answers = (("verdict", "accept"), ("comment", "The first version looked fine to me."))
    stale = await bot.core.dispatch(
        Invocation("feedback", form.args, bot.user(second), CHANNEL, fields=answers)
    )
    assert stale.error and "sent new work" in stale.text
    fresh = await bot.say(second, f"feedback {ada}")
    assert fresh.form is not None and fresh.form.args == (str(ada), "2")


async def test_nobody_silent_or_excused_leaves_work_undecided_for_ever(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    more = ("Eve", "Fay", "Gus", "Hal", "Ida", "Jo", "Kai", "Lu")  # enough untried reviewers for each round
    for name in more:
        assert not (await bot.say(name, "join ml")).error
    for name in MEMBERS + more:
        await submit(bot, name)
    for _ in range(2):  # everyone stays silent: each 72 hours, reviewers not asked yet are
        bot.clock.advance(dt.timedelta(hours=73))
        await bot.post()
    sub = await sub_of(bot, "Ada")
    assert any(r.state is PeerReviewState.OPEN for r in await bot.core.store.peer_reviews(sub.id))
    for reviewer in await reviewers_of(bot, "Ada"):
        said = await bot.say("Mia", f"cohort review {sub.id} excuse reviewer={reviewer.lower()} away")
        assert not said.error, said.text
    await bot.post()
    assert await reviewers_of(bot, "Ada")  # with no review in, excused places are filled again


async def test_a_needs_work_closes_the_other_review_and_an_override_takes_points_back(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    first, second = await reviewers_of(bot, "Ada")
    await bot.say(first, f"feedback {ada} needs-work checks=1 The notebook does not run at all.")
    late = await bot.say(second, f"feedback {ada} accept checks=all Looks great to me, well done.")
    assert late.error and "closed" in late.text  # not "saved, the author will read it"
    assert not (await bot.say("Mia", f"cohort review {ada} accept Checked it in the live session")).error
    [cohort] = await bot.core.store.list_cohorts()
    points = {r.name: r.points for r in await bot.core.store.scores(cohort.id)}
    assert points["Ada"] == POINTS_CHECKIN + POINTS_ACCEPTED
    back = await bot.say("Mia", f"cohort review {ada} needs-work It was copied from a tutorial")
    assert not back.error
    points = {r.name: r.points for r in await bot.core.store.scores(cohort.id)}
    assert points["Ada"] == POINTS_CHECKIN  # the acceptance's points left with it
    standing = await bot.core.store.standing(cohort.id, "all", bot.clock.now().date(), 0, 10)
    assert {r.name: r.points for r in standing.top}["Ada"] == POINTS_CHECKIN


async def test_two_moderators_deciding_at_once_decide_once(bot: Bot) -> None:
    bot.admins.add("Max")
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    replies = await asyncio.gather(
        bot.say("Mia", f"cohort review {ada} accept live demo"),
        bot.say("Max", f"cohort review {ada} accept ok"),
    )
    assert sorted(r.error for r in replies) == [False, True]
    await bot.post()
    assert len([r for u, r in bot.platform.direct if u == "ada" and "Accepted" in text_of(r)]) == 1


async def test_a_moderator_cannot_decide_their_own_work_nor_a_leaver_keep_reviewing(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    assert not (await bot.say("Mia", "join ml")).error
    for name in ("Mia", "Ada", "Bob", "Cy"):
        await submit(bot, name)
    mine = await number_of(bot, "Mia")
    refused = await bot.say("Mia", f"cohort review {mine} accept I say so")
    assert refused.error and "your own work" in refused.text
    ada = await number_of(bot, "Ada")
    leaver = (await reviewers_of(bot, "Ada"))[0]
    assert not (await bot.say(leaver, "leave ml")).error
    gone = await bot.say(leaver, f"feedback {ada} accept checks=all Fine work, all good here.")
    assert gone.error and "no longer in cohort ml" in gone.text
    await bot.post()
    assert leaver not in await reviewers_of(bot, "Ada")  # handed on by the sweep, not in 72 hours


async def test_a_reassignment_with_nobody_to_take_it_does_not_decide(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    first, second = await reviewers_of(bot, "Ada")
    await bot.say(first, f"feedback {ada} accept checks=all Works end to end, nice.")
    moved = await bot.say("Mia", f"cohort review {ada} reassign reviewer={second.lower()} second opinion")
    assert "nobody else can review it yet" in moved.text and "accepted" not in moved.text
    assert (await sub_of(bot, "Ada")).state is SubmissionState.IN_REVIEW


async def test_odd_numbers_and_invisible_comments_are_refused_plainly(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    for name in ("Ada", "Bob", "Cy"):
        await submit(bot, name)
    ada = await number_of(bot, "Ada")
    reviewer = (await reviewers_of(bot, "Ada"))[0]
    for line, says in {
        "feedback ²": "is not a submission number",
        f"feedback {ada} accept checks=² A fine piece of work here.": "checklist items from 1 to",
        f"feedback {ada} accept {chr(0x200B) * 12}": "a sentence or more",
        "cohort review ① accept x": "is not a submission number",
    }.items():
        reply = await bot.say("Mia" if line.startswith("cohort") else reviewer, line)
        assert reply.error and says in reply.text and "went wrong" not in reply.text, (line, reply.text)


async def test_many_submitting_at_once_never_give_anyone_more_than_three_open_reviews(bot: Bot) -> None:
    await cohort_with_a_task(bot)
    await submit(bot, "Bob")
    await submit(bot, "Cy")
    crowd = [f"P{i}" for i in range(12)]
    for name in crowd:
        assert not (await bot.say(name, "join ml")).error
    replies = await asyncio.gather(*(bot.say(n, f"submit https://github.com/{n.lower()}/eda") for n in crowd))
    assert not any(r.error for r in replies), [r.text for r in replies if r.error]
    [cohort] = await bot.core.store.list_cohorts()
    held: Counter[int] = Counter()
    for sub in await bot.core.store.cohort_submissions(cohort.id):
        for review in await bot.core.store.peer_reviews(sub.id):
            if review.state is PeerReviewState.OPEN:
                held[review.reviewer_id] += 1
    assert held and max(held.values()) <= OPEN_MAX

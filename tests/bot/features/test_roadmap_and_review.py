"""Roadmap progress and spaced review through the core, on both databases, with a fake clock."""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from pathlib import Path

from bot.rules.points import POINTS_REVIEW
from bot.rules.review import reschedule
from tests.conftest import Bot, snapshot, text_of

DAY = dt.timedelta(days=1)
MORNING = dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC)  # a Monday, after 09:00 UTC


async def cohort_with(bot: Bot, *members: str, extra: str = "") -> None:
    assert not (await bot.say("Mia", f"cohort create ml tz=UTC days=daily start=2026-11-23 {extra}")).error
    for name in members:
        await bot.say(name, "join ml")


async def test_learned_topics_fill_the_progress_bars(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    stage = bot.core.catalog.stages[1]
    first, second = stage.topics[0], stage.topics[1]
    reply = await bot.say("Ada", f"learned {stage.id}/{first.id}")
    assert f"✅ {first.title} is learned" in reply.text and f" 1/{len(stage.topics)}" in reply.text
    by_title = await bot.say("Ada", f"learned {second.title}")
    assert f" 2/{len(stage.topics)}" in by_title.text
    again = await bot.say("Ada", f"learned {stage.id}/{first.id}")
    assert "already learned" in again.text
    overview = (await bot.say("Ada", "roadmap")).cards[0].body
    line = next(x for x in overview.splitlines() if stage.title in x)
    assert line.endswith(f" 2/{len(stage.topics)}")
    detail = text_of(await bot.say("Ada", f"roadmap {stage.id}"))
    assert f"✅ {first.title}" in detail and f"▫️ {stage.topics[2].title}" in detail
    assert "Your progress: ▰▰" in detail
    await bot.say("Ada", f"unlearn {stage.id}/{first.id}")
    assert f" 1/{len(stage.topics)}" in (await bot.say("Ada", f"learned {stage.id}/{second.id}")).text


async def test_topic_mistakes_are_explained_and_change_nothing(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    before = await snapshot(bot.core.store)
    unknown = await bot.say("Ada", "learned numpyy")
    assert (
        unknown.error and "I don't know the topic `numpyy`" in unknown.text and "python/numpy" in unknown.text
    )
    assert (await bot.say("Ada", "unlearn python/numpy")).error
    bad_stage = await bot.say("Ada", "roadmap pythn")
    assert bad_stage.error and "Did you mean `python`?" in bad_stage.text
    assert await snapshot(bot.core.store) == before


async def test_next_recommends_the_first_open_topic_of_the_cohorts_stage_with_two_resources(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    bot.clock.set(MORNING)
    stage = bot.core.catalog.stages[0]
    reply = await bot.say("Ada", "next")
    assert reply.cards[0].title == f"👉 Next: {stage.topics[0].title}"
    assert len(reply.cards[0].fields) == 2 and all("https://" in f.value for f in reply.cards[0].fields)
    clicked = await bot.click("Ada", reply, "I learned it ✅")
    assert f"{stage.topics[0].title} is learned" in clicked.text
    assert (await bot.say("Ada", "next")).cards[0].title == f"👉 Next: {stage.topics[1].title}"


async def test_the_cohort_follows_its_pace_and_a_moderator_can_set_the_stage(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    catalog = bot.core.catalog
    first, second = catalog.stages[0], catalog.stages[1]
    bot.clock.set(MORNING)
    [post] = await bot.post()
    assert f"Stage: {first.title}" in text_of(post)
    bot.clock.set(MORNING + dt.timedelta(weeks=first.weeks))
    [post] = await bot.post()
    assert f"Stage: {second.title}" in text_of(post)
    assert f"📍 2. {second.title}" in (await bot.say("Ada", "roadmap")).cards[0].body
    target = catalog.stages[6]
    moved = await bot.say("Mia", f"cohort set ml stage {target.id}")
    assert f"Stage: {target.title}, week 1 of {target.weeks} (set by hand)" in text_of(moved)
    bot.clock.advance(DAY)
    [post] = await bot.post()
    assert f"Stage: {target.title}" in text_of(post)
    back = await bot.say("Mia", "cohort set ml stage auto")
    assert "(by pace)" in text_of(back)
    bad = await bot.say("Mia", "cohort set ml stage nowhere")
    assert bad.error and "There is no stage `nowhere`" in bad.text


async def answer_todays_quiz(bot: Bot, name: str, right: bool) -> str:
    """Advance day by day until a quiz is posted, answer it, and return its challenge id."""
    for _ in range(30):
        posts = await bot.post()
        if posts and posts[0].buttons[0].command == "answer":
            post = posts[0]
            quiz = next(
                c
                for c in bot.core.catalog.challenges.values()
                if c.is_quiz and c.question in post.cards[0].body
            )
            letter = quiz.answer if right else next(x for x in "ABCD" if x != quiz.answer)
            reply = await bot.click(name, post, letter)
            assert "back in your /study review on" in reply.cards[0].footer
            return quiz.id
        bot.clock.advance(DAY)
    raise AssertionError("no quiz in 30 days")


async def test_a_missed_question_comes_back_the_next_day_and_then_later(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    bot.clock.set(MORNING)
    assert "Nothing to review yet" in (await bot.say("Ada", "review")).text
    quiz_id = await answer_todays_quiz(bot, "Ada", right=False)
    quiz = bot.core.catalog.challenges[quiz_id]
    answered_on = bot.clock.now().date()
    early = await bot.say("Ada", "review")
    assert f"Your next review is on {answered_on + DAY:%a %d %b}" in early.text
    bot.clock.advance(DAY)
    shown = await bot.say("Ada", "review")
    assert shown.cards[0].title == "🔁 Review · new to your review" and quiz.question in shown.cards[0].body
    assert shown.cards[0].footer.startswith("1 question due")
    graded = await bot.click("Ada", shown, quiz.answer)
    [ada] = [m for m in await bot.core.store.find_members("console", "ws1", "Ada") if m.name == "Ada"]
    [card] = await bot.core.store.review_cards(ada.id)
    gap = (card.due - (answered_on + DAY)).days
    assert "✅ Right!" in graded.cards[0].title and gap >= 2  # right after a miss: more than a day
    back = f"Back on {card.due:%a %d %b} (in {gap} days)"
    assert graded.cards[0].footer == f"{back} · +{POINTS_REVIEW} review points · nothing else due today"
    twice = await bot.click("Ada", shown, quiz.answer)
    assert twice.error and "already reviewed" in twice.text
    board = (await bot.say("Ada", "leaderboard all")).cards[0].body
    assert f"Ada: {2 + POINTS_REVIEW} pts" in board  # a wrong daily answer, then a review
    assert "Current: 2 days" in text_of(await bot.say("Ada", "streak"))  # the review kept the streak going


async def test_over_months_right_answers_space_a_question_out_and_a_miss_brings_it_back(bot: Bot) -> None:
    """Four months of a member reviewing every day something is due, with the fake clock."""
    await cohort_with(bot, "Ada")
    bot.clock.set(MORNING)
    quiz_id = await answer_todays_quiz(bot, "Ada", right=False)
    quiz = bot.core.catalog.challenges[quiz_id]
    reviewed: list[dt.date] = []
    for _ in range(120):
        bot.clock.advance(DAY)
        shown = await bot.say("Ada", "review")
        if not shown.cards or quiz.question not in shown.cards[0].body:
            continue
        today = bot.clock.now().date()
        wrong = next(x for x in "ABCD" if x != quiz.answer)
        miss = len(reviewed) == 4  # the fifth review is missed
        graded = await bot.click("Ada", shown, wrong if miss else quiz.answer)
        assert ("Not quite" if miss else "Right!") in graded.cards[0].title
        reviewed.append(today)
    gaps = [(b - a).days for a, b in itertools.pairwise(reviewed)]
    assert len(reviewed) >= 6, reviewed
    assert gaps[:3] == sorted(gaps[:3]) and gaps[2] > gaps[0]  # right answers: each gap longer
    assert gaps[4] == 1  # the miss: back the next day
    assert max(gaps) >= 14  # months in, a well-known question comes back after weeks


async def test_review_points_count_once_a_day(bot: Bot) -> None:
    await cohort_with(bot, "Ada")
    bot.clock.set(MORNING)
    for _ in range(2):
        await answer_todays_quiz(bot, "Ada", right=False)
        bot.clock.advance(DAY)
    bot.clock.advance(DAY)
    first = await bot.say("Ada", "review")
    assert "2 questions due" in first.cards[0].footer
    reply = await bot.click("Ada", first, "A")
    assert reply.buttons and reply.buttons[0].command == "review"
    second = await bot.click("Ada", reply, "Next review ➡️")
    again = await bot.click("Ada", second, "A")
    assert "review points count once a day" in again.cards[0].footer


def test_fsrs_schedules_by_whole_days_the_same_way_every_time() -> None:
    today = dt.date(2026, 11, 1)
    new_wrong = reschedule(None, 1, "q", False, today)
    new_right = reschedule(None, 1, "q", True, today)
    assert new_wrong.due == today + dt.timedelta(days=1) and new_wrong.reviews == 1
    assert new_right.due > new_wrong.due and new_right.stability > new_wrong.stability
    again = reschedule(new_right, 1, "q", True, new_right.due)
    assert (again.due - new_right.due) > (new_right.due - today) and again.reviews == 2
    missed = reschedule(again, 1, "q", False, again.due)
    assert missed.due == again.due + dt.timedelta(days=1) and missed.stability < again.stability
    assert reschedule(again, 1, "q", True, again.due) == reschedule(again, 1, "q", True, again.due)  # no fuzz
    # A card answered on a later local day than today (its member moved west) still schedules from today.
    assert reschedule(again, 1, "q", True, again.last_review - dt.timedelta(days=1)).due > again.last_review
    # A stored card without a memory (written before FSRS by hand, say) starts afresh instead of failing.
    blank = dataclasses.replace(again, stability=0.0)
    assert reschedule(blank, 1, "q", False, today).due == today + dt.timedelta(days=1)


def test_the_review_gaps_the_readme_quotes_are_the_schedulers() -> None:
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    start = dt.date(2026, 11, 2)
    for first, count in ((False, 6), (True, 4)):
        card = reschedule(None, 1, "q", first, start)
        gaps = [(card.due - start).days]
        while len(gaps) < count:
            after = reschedule(card, 1, "q", True, card.due)
            gaps.append((after.due - card.due).days)
            card = after
        quoted = ", ".join(map(str, gaps[:-1])) + f" and {gaps[-1]}"
        assert f"after {quoted}" in " ".join(readme.split()), quoted

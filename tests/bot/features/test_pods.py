"""Buddy pods as members use them: opt in, grouped on the cohort's first posting day of the week (once),
told privately who their pod is, `/study pod` shows who is still to go and the pod's streak."""

from __future__ import annotations

import datetime as dt

from bot.dispatch.pods import week_pods
from tests.conftest import Bot, text_of

MONDAY = dt.datetime(2026, 11, 30, 9, 5, tzinfo=dt.UTC)


async def cohort(bot: Bot, *names: str) -> None:
    reply = await bot.say("Mia", "/study cohort create ml time=09:00 tz=UTC days=daily start=2026-11-23")
    assert not reply.error, reply.text
    for name in names:
        assert not (await bot.say(name, "join ml")).error


def pod_notes(bot: Bot) -> list[tuple[str, str]]:
    """(member, text) of each pod note: one message a pod, to its members together."""
    return [
        (u, text_of(r))
        for users, r in bot.platform.groups
        if "Your buddy pod this week" in text_of(r)
        for u in users
    ]


async def test_members_who_opt_in_are_podded_once_a_week_and_see_their_pod(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob", "Cy", "Dee")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob", "Cy"):
        assert "You are in the buddy pods of ml" in (await bot.say(name, "pods on")).text
    assert "already in" in (await bot.say("Ada", "pods on")).text
    assert not (await bot.say("Bob", "learned python/numpy")).error
    waiting = await bot.say("Ada", "pod")
    assert "comes then" in waiting.text
    bot.clock.set(MONDAY)
    await bot.post()
    await bot.post()  # a second sweep makes no second set of pods
    notes = pod_notes(bot)
    assert sorted(u for u, _ in notes) == ["ada", "bob", "cy"]  # one pod of three, each told once
    assert len(bot.platform.groups) == 1  # in one message to the three
    assert all("Ada" in t and "Bob" in t and "Cy" in t and "Dee" not in t for _, t in notes)
    # Each is introduced with their streak and roadmap stage.
    assert all("Bob · 🔥 0 · at Python and the core ML libraries" in t for _, t in notes), notes[0]
    assert all("Ada · 🔥 0 · just starting" in t for _, t in notes), notes[0]
    dee = await bot.say("Dee", "pod")
    assert "no buddy pod" in dee.text and "/study pods on" in dee.text
    assert not (await bot.say("Ada", "done")).error
    mine = text_of(await bot.say("Ada", "pod"))
    assert "Ada (you): ✅ done today" in mine and "Bob: ⏳ still to go" in mine
    assert "Pod streak: 0 posting day(s)" in mine
    for name in ("Bob", "Cy"):
        assert not (await bot.say(name, "done")).error
    assert "Pod streak: 1 posting day(s)" in text_of(await bot.say("Cy", "pod"))
    [ml] = await bot.core.store.list_cohorts()
    assert await week_pods(bot.core, ml, MONDAY.date()) is None  # the week's pods exist: never made twice


async def test_leaving_the_pods_takes_effect_the_next_week(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob", "Cy")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob", "Cy"):
        await bot.say(name, "pods on")
    assert "You left the buddy pods" in (await bot.say("Cy", "pods off")).text
    assert "were not in" in (await bot.say("Cy", "pods off")).text
    bot.clock.set(MONDAY)
    await bot.post()
    assert sorted(u for u, _ in pod_notes(bot)) == ["ada", "bob"]


async def test_alone_in_the_pods_means_no_pod(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    await bot.say("Ada", "pods on")
    bot.clock.set(MONDAY)
    await bot.post()
    assert pod_notes(bot) == []
    assert "comes then" in (await bot.say("Ada", "pod")).text


async def test_a_reminder_says_when_the_rest_of_the_pod_is_done(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob"):
        await bot.say(name, "pods on")
        assert not (await bot.say(name, "done")).error  # a streak of one day, to put at risk
    assert not (await bot.say("Ada", "remind on 20:00")).error
    bot.clock.set(MONDAY)
    await bot.post()
    assert not (await bot.say("Bob", "done")).error
    bot.clock.set(MONDAY.replace(hour=20, minute=1))
    await bot.post()
    [reminder] = [
        text_of(r) for u, r in bot.platform.direct if u == "ada" and "streak is at risk" in text_of(r)
    ]
    assert "🤝 Your pod: Bob did today's work; you are the last one." in reminder


async def test_a_member_far_from_the_cohorts_timezone_sees_the_pod_of_the_cohorts_week(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob"):
        await bot.say(name, "pods on")
    assert not (await bot.say("Ada", "timezone Pacific/Honolulu")).error  # still Sunday there at 09:05 UTC
    bot.clock.set(MONDAY)
    await bot.post()
    assert "Your pod in ml" in text_of(await bot.say("Ada", "pod"))


async def test_a_leaver_neither_breaks_the_pod_streak_nor_is_podded_after_rejoining(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob", "Cy")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob"):
        await bot.say(name, "pods on")
    bot.clock.set(MONDAY)
    await bot.post()
    assert not (await bot.say("Bob", "leave ml")).error
    assert not (await bot.say("Ada", "done")).error
    mine = text_of(await bot.say("Ada", "pod"))
    assert "Bob" not in mine and "Pod streak: 1 posting day(s)" in mine
    assert not (await bot.say("Bob", "join ml")).error  # back, but not opted in again without asking
    [ml] = await bot.core.store.list_cohorts()
    assert await bot.core.store.pod_optins(ml.id) == [
        (await bot.core.store.upsert_member("console", "ada", "Ada")).id
    ]


async def test_a_holiday_on_monday_moves_the_weeks_pods_to_tuesday(bot: Bot) -> None:
    await cohort(bot, "Ada", "Bob")
    bot.clock.set(MONDAY - dt.timedelta(days=1))
    for name in ("Ada", "Bob"):
        await bot.say(name, "pods on")
    assert not (await bot.say("Mia", "cohort holiday ml 2026-11-30")).error
    bot.clock.set(MONDAY)
    await bot.post()
    assert pod_notes(bot) == []
    bot.clock.set(MONDAY + dt.timedelta(days=1))
    await bot.post()
    assert sorted(u for u, _ in pod_notes(bot)) == ["ada", "bob"]

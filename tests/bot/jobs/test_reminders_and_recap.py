"""Streak reminders and weekly recaps, through the core and the sweep, with a fake clock."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from bot.jobs.posting import Poster
from tests.conftest import Bot, text_of

DAY = dt.timedelta(days=1)


async def sweep(bot: Bot) -> int:
    return (await Poster(bot.core, {"console": bot.platform}).sweep()).reminded


async def test_a_member_at_risk_gets_one_reminder_at_their_time(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC days=daily start=2026-11-01")
    for name in ("Ada", "Alan", "Grace"):
        await bot.say(name, "join ml")
    bot.clock.set(dt.datetime(2026, 11, 23, 12, 0, tzinfo=dt.UTC))
    for name in ("Ada", "Alan"):
        await bot.say(name, "done")  # streaks of one day
    on = await bot.say("Ada", "remind on 21:30")
    assert "at 21:30" in on.text
    await bot.say("Alan", "remind on")  # default 20:00
    await bot.say("Grace", "remind on 08:00")  # no streak: never reminded
    bot.clock.set(dt.datetime(2026, 11, 24, 19, 59, tzinfo=dt.UTC))
    assert await sweep(bot) == 0
    bot.clock.set(dt.datetime(2026, 11, 24, 20, 0, tzinfo=dt.UTC))
    assert await sweep(bot) == 1
    [(user, reply)] = bot.platform.direct
    assert user == "alan" and "Your streak is at risk" in text_of(reply) and "1 day in `ml`" in text_of(reply)
    await bot.say("Ada", "done")  # Ada is safe before her time
    bot.clock.set(dt.datetime(2026, 11, 24, 21, 45, tzinfo=dt.UTC))
    assert await sweep(bot) == 0
    assert await sweep(bot) == 0  # never twice a day
    assert [u for u, _ in bot.platform.direct] == ["alan"]
    off = await bot.say("Alan", "remind off")
    assert "Reminders are off" in off.text
    bot.clock.set(dt.datetime(2026, 11, 25, 21, 45, tzinfo=dt.UTC))
    await sweep(bot)
    assert [u for u, _ in bot.platform.direct] == [
        "alan",
        "ada",
    ]  # Ada's streak is at risk now; Alan opted out


async def test_reminder_time_follows_the_members_timezone(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml tz=UTC days=daily start=2026-11-01")
    await bot.say("Ada", "join ml")
    await bot.say("Ada", "timezone Asia/Tokyo")
    bot.clock.set(dt.datetime(2026, 11, 23, 1, 0, tzinfo=dt.UTC))  # 10:00 in Tokyo
    await bot.say("Ada", "done")
    await bot.say("Ada", "remind on 20:00")
    bot.clock.set(dt.datetime(2026, 11, 24, 10, 59, tzinfo=dt.UTC))  # 19:59 in Tokyo
    assert await sweep(bot) == 0
    bot.clock.set(dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.UTC))  # 20:00 in Tokyo
    assert await sweep(bot) == 1


async def test_remind_mistakes_are_explained(bot: Bot) -> None:
    bad = await bot.say("Ada", "remind on 8pm")
    assert bad.error and "`8pm` is not a time" in bad.text
    assert (await bot.say("Ada", "remind off 20:00")).error
    assert (await bot.say("Ada", "remind sometimes")).error


async def test_the_weekly_recap_opens_the_first_posting_day_of_the_week(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml time=09:00 tz=UTC days=daily start=2026-11-09")
    for name in ("Ada", "Alan"):
        await bot.say(name, "join ml")
    bot.clock.set(dt.datetime(2026, 11, 16, 12, 0, tzinfo=dt.UTC))  # Monday
    for offset in range(7):
        await bot.say("Ada", "done")
        if offset % 2 == 0:
            await bot.say("Alan", "done")
        bot.clock.advance(DAY)
    bot.clock.set(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))  # the next Monday, post time
    [daily] = await bot.post()
    recap = next(
        r
        for r, k in zip((r for _, r in bot.platform.sent), bot.platform.keys, strict=True)
        if k and k.startswith("studybot-recap-")
    )
    assert bot.platform.keys[0].startswith("studybot-recap-")  # the recap comes first, then the challenge
    card = recap.cards[0]
    assert card.title == "📊 Week in review: 16 Nov–22 Nov"
    assert card.body.splitlines() == ["🥇 Ada: 35 pts", "🥈 Alan: 20 pts"]
    shown = text_of(recap)
    assert "Longest streaks: Ada 🔥7, Alan 🔥1" in shown  # Alan's last active day was Sunday
    assert "Active each day: Mon 100% · Tue 50% · Wed 100% · Thu 50% · Fri 100% · Sat 50% · Sun 100%" in shown
    chart = Image.open(io.BytesIO(recap.images[0].data))
    assert chart.format == "PNG"
    await bot.post()
    bot.clock.advance(DAY)
    await bot.post()
    assert sum(1 for k in bot.platform.keys if k and k.startswith("studybot-recap-")) == 1  # once a week
    assert daily.buttons


async def test_no_recap_for_a_cohort_younger_than_a_week(bot: Bot) -> None:
    await bot.say("Mia", "cohort create ml time=09:00 tz=UTC days=mon-fri start=2026-11-20")
    await bot.say("Ada", "join ml")
    bot.clock.set(dt.datetime(2026, 11, 23, 9, 0, tzinfo=dt.UTC))
    await bot.post()
    assert not any(k and k.startswith("studybot-recap-") for k in bot.platform.keys)

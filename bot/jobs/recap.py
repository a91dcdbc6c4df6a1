"""The weekly recap, posted on a cohort's first posting day of the week with its daily challenge: the week's
top ten by points (placed as the leaderboard places them, rules/ranking.py), the longest running streaks, the
share of members active each day, and a chart."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter, defaultdict
from collections.abc import Mapping
from collections.abc import Set as AbstractSet

from bot.catalog.names import topic_title
from bot.dispatch.core import Core
from bot.images.chart import chart
from bot.kernel.clock import midnight
from bot.kernel.ports import ChatPlatform
from bot.kernel.types import Card, Cohort, Field, Image, Member, Reply, ScoreRow, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.ranking import placings
from bot.rules.streaks import summarize

log = logging.getLogger(__name__)

TOP = 10
STREAKS_SHOWN = 5
BUILT_SHOWN = 8  # accepted pieces of work listed; a field holds about a thousand characters
_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


def recap_day(cohort: Cohort, day: dt.date) -> bool:
    """Whether `day` is the cohort's first posting day of its week."""
    return bool(cohort.weekdays) and day.weekday() == min(cohort.weekdays)


async def build_recap(core: Core, cohort: Cohort, day: dt.date) -> Reply | None:
    """The recap of the seven days before `day`, or None when the cohort is younger than that week."""
    start = day - dt.timedelta(days=7)
    members = await core.cohorts.cohort_members(cohort.id)
    if cohort.start_date > start or not members:
        return None
    week = [start + dt.timedelta(days=i) for i in range(7)]
    names = {m.id: m.name for m in members}
    ledger = [a for a in await core.activity.activities(cohort.id, since=start) if a.local_date < day]
    points: Counter[int] = Counter()
    active_on: dict[dt.date, set[int]] = defaultdict(set)
    for a in ledger:
        if a.member_id in names:
            points[a.member_id] += a.points
            active_on[a.local_date].add(a.member_id)
    # Peer review's points count on the week's board (as on the leaderboard), not as a day's activity.
    for member_id, on, earned in await core.peer_reviews.awards_since(cohort.id, start):
        if member_id in names and on < day:
            points[member_id] += earned
    scores = [ScoreRow(mid, names[mid], pts) for mid, pts in points.items()]
    board = (
        "\n".join(place.line() for place in placings(scores, TOP))
        or "Nobody scored this week. A fresh start today!"
    )
    days = await core.activity.cohort_days(cohort.id)
    # A streak fold per member of a big cohort is CPU work: on a thread, not the event loop.
    shown = await asyncio.to_thread(_longest_running, cohort, members, days, day)
    del days  # a year of every member's days: not held while the chart is drawn
    streak_text = ", ".join(f"{verbatim(name)} 🔥{n}" for n, name in shown) or "none running yet"
    counts = [len(active_on[d]) for d in week]
    share = " · ".join(f"{d:%a} {round(100 * c / len(members))}%" for d, c in zip(week, counts, strict=True))
    fields = [Field("Longest streaks", streak_text), Field("Active each day", share)]
    built = await _built(core, cohort, names, start, day)
    if built:
        fields.append(Field("🛠 Built this week", built))
    card = Card(
        f"📊 Week in review: {week[0]:%d %b}–{week[-1]:%d %b}",
        board,
        tuple(fields),
        footer=f"Cohort {cohort.name} · {len(members)} members",
        style=Style.PRIMARY,
    )
    image = Image(
        f"recap-{cohort.name}-{week[0]:%Y%m%d}.png",
        await asyncio.to_thread(chart, week, counts, len(members)),
        f"Daily active members of {cohort.name}, {week[0]:%d %b} to {week[-1]:%d %b}",
    )
    return Reply(cards=(card,), images=(image,))


async def _built(core: Core, cohort: Cohort, names: Mapping[int, str], start: dt.date, day: dt.date) -> str:
    """The week's work accepted by peer review: who built what, with its link (member text, escaped)."""
    since = midnight(start, cohort.timezone)
    until = midnight(day, cohort.timezone)
    accepted = [
        s
        for s in await core.peer_reviews.accepted_since(cohort.id, since)
        if s.accepted_at and s.accepted_at < until
    ]
    lines = []
    for sub in accepted[:BUILT_SHOWN]:
        challenge = core.catalog.challenges.get(sub.challenge_id)
        what = topic_title(core.catalog, challenge.stage, challenge.topic) if challenge else sub.challenge_id
        who = names.get(sub.member_id, "a former member")
        lines.append(f"{verbatim(who)}: {verbatim(what)} · {verbatim(sub.url)}")
    if len(accepted) > BUILT_SHOWN:
        lines.append(f"… and {len(accepted) - BUILT_SHOWN} more (/study portfolio <member>)")
    return "\n".join(lines)


def _longest_running(
    cohort: Cohort,
    members: list[Member],
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    day: dt.date,
) -> list[tuple[int, str]]:
    """The longest current streaks as of `day` (days, name), longest first, ties by name."""
    streaks = []
    calendar = Calendar.of(cohort)
    for m in members:
        act, exc = days.get(m.id, _NO_DAYS)
        current = summarize(act, exc, day, calendar.with_breaks(m.breaks)).current
        if current:
            streaks.append((current, m.name))
    streaks.sort(key=lambda s: (-s[0], s[1].casefold()))
    return streaks[:STREAKS_SHOWN]


async def post_recap(core: Core, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> bool:
    """Post the cohort's recap for the week before `day` once, if `day` is its recap day; True if posted."""
    if not recap_day(cohort, day):
        return False
    reply = await build_recap(core, cohort, day)
    if reply is None:
        return False
    recap_id = await core.notices.claim_recap(cohort.id, day - dt.timedelta(days=7), core.clock.now())
    if recap_id is None:
        return False
    message_id = await platform.send(cohort.conversation, reply, key=f"studybot-recap-{recap_id}")
    await core.notices.set_recap_message(recap_id, message_id)
    log.info("posted the weekly recap of cohort %s for the week before %s", cohort.name, day)
    return True

"""A cohort's health for its moderators, gathered once for `cohort stats` and the weekly note: members
active today and this week, who is at risk of dropping out, retention by join week, the hardest quizzes."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from bot.catalog.model import Catalog
from bot.dispatch.context import Services
from bot.kernel.clock import local_date
from bot.kernel.types import Card, Cohort, Field, Member, Style
from bot.kernel.untrusted import verbatim
from bot.rules.calendar import Calendar
from bot.rules.health import AT_RISK_MISSED, RetentionRow, at_risk, retention

# Named at most, so a card stays readable in a big cohort; the rest are counted.
AT_RISK_SHOWN = 15
HARDEST_SHOWN = 5
# A quiz answered by fewer members than this says little about how hard it is.
HARDEST_MIN_ANSWERS = 3
QUESTION_CHARS = 80
_NO_DAYS: tuple[frozenset[dt.date], frozenset[dt.date]] = (frozenset(), frozenset())


@dataclass(frozen=True)
class Health:
    cohort: Cohort
    today: dt.date
    members: int
    active_today: int
    active_week: int
    at_risk: tuple[str, ...]  # names, by name
    retention: tuple[RetentionRow, ...]
    hardest: tuple[tuple[str, int, int], ...]  # (challenge id, answered, right), hardest first


async def cohort_health(core: Services, cohort: Cohort) -> Health:
    today = local_date(core.clock.now(), cohort.timezone)
    members = await core.cohorts.cohort_members(cohort.id)
    days = await core.activity.cohort_days(cohort.id)
    joined = {
        m: local_date(at, cohort.timezone) for m, at in (await core.cohorts.joined_dates(cohort.id)).items()
    }
    # A fold over every member's days is CPU work: on a thread, as the recap's streaks are.
    risky, active_today, active_week, rows = await asyncio.to_thread(
        _figures, cohort, members, days, joined, today, core.clock.now()
    )
    month = today.replace(day=1)
    posts = [p for p in await core.posts.posts_since(month, cohort.id) if p.local_date <= today]
    hardest = []
    for post in posts:
        challenge = core.catalog.challenges.get(post.challenge_id)
        if challenge is None or not challenge.is_quiz:
            continue
        answered, right, _ = await core.activity.post_tally(post.id)
        if answered >= HARDEST_MIN_ANSWERS:
            hardest.append((post.challenge_id, answered, right))
    hardest.sort(key=lambda h: (h[2] / h[1], -h[1], h[0]))
    return Health(
        cohort,
        today,
        len(members),
        active_today,
        active_week,
        risky,
        tuple(rows),
        tuple(hardest[:HARDEST_SHOWN]),
    )


def _figures(
    cohort: Cohort,
    members: list[Member],
    days: Mapping[int, tuple[AbstractSet[dt.date], AbstractSet[dt.date]]],
    joined: Mapping[int, dt.date],
    today: dt.date,
    now: dt.datetime,
) -> tuple[tuple[str, ...], int, int, list[RetentionRow]]:
    calendar = Calendar.of(cohort)
    risky, active_today, active_week = [], 0, 0
    for m in members:
        # Each member's own date, as their streak is judged: someone a day behind the cohort is not late.
        mine = local_date(now, m.timezone) if m.timezone else today
        active, excused = days.get(m.id, _NO_DAYS)
        active_today += mine in active
        active_week += any(mine - dt.timedelta(days=i) in active for i in range(7))
        on_break = any(b.covers(mine) for b in m.breaks)
        if at_risk(calendar.with_breaks(m.breaks), active, excused, mine, joined.get(m.id, mine), on_break):
            risky.append(m.name)
    risky.sort(key=str.casefold)
    active_by_member = {m.id: days.get(m.id, _NO_DAYS)[0] for m in members}
    rows = retention({m.id: joined[m.id] for m in members if m.id in joined}, active_by_member, today)
    return tuple(risky), active_today, active_week, rows


def health_card(catalog: Catalog, health: Health) -> Card:
    """The figures as a card; the retention grid goes beside it as an image."""
    cohort = health.cohort
    share = f" ({round(100 * health.active_week / health.members)}%)" if health.members else ""
    body = (
        f"{health.members} members · {health.active_today} active today · "
        f"{health.active_week} active in the last 7 days{share}"
    )
    if health.at_risk:
        names = ", ".join(verbatim(n) for n in health.at_risk[:AT_RISK_SHOWN])
        more = len(health.at_risk) - AT_RISK_SHOWN
        risky = names + (f" and {more} more" if more > 0 else "")
    else:
        risky = "Nobody: everyone was active on at least one of their last three posting days."
    lines = []
    for challenge_id, answered, right in health.hardest:
        challenge = catalog.challenges.get(challenge_id)
        question = challenge.question if challenge else ""
        short = question if len(question) <= QUESTION_CHARS else question[: QUESTION_CHARS - 1] + "…"
        lines.append(
            f"{round(100 * right / answered)}% right of {answered}: {verbatim(short)} (`{challenge_id}`)"
        )
    hardest = "\n".join(lines) or f"No quiz this month has {HARDEST_MIN_ANSWERS} answers yet."
    fields = (
        Field(f"At risk: missed their last {AT_RISK_MISSED} posting days", risky),
        Field("Hardest quizzes this month", hardest),
    )
    footer = (
        "Retention: each row is a join week, each column a week since joining (image). "
        "Members on a break are not at risk."
    )
    return Card(
        f"🩺 Health of {cohort.name} on {health.today:%a %d %b}",
        body,
        fields,
        footer=footer,
        style=Style.PRIMARY,
    )


def retention_rows(health: Health) -> list[tuple[dt.date, int, tuple[float, ...]]]:
    return [(r.week, r.joined, r.shares) for r in health.retention]

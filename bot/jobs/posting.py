"""Daily posts, exactly once per (cohort, local date): claim the day, send, record the message id.

The claim is a unique row; only the process that inserts it posts. The message id is stored after the send.
A sweep (at start and every minute, in the scheduler and in the console's `:post`) posts the days that are
due but were never claimed, within each cohort's catch-up window, and re-sends claims that never got a
message id, with the same idempotency key, so a platform that honours it shows the post once. A moderator's
`cohort post` goes through the same claim, so it never makes a second post either.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping

from bot.catalog.daily import challenge_card, closing_card, pick_challenge
from bot.dispatch.core import Core
from bot.jobs.health import send_health_note
from bot.jobs.milestones import announce_milestones, graduate_ended
from bot.jobs.peer_review import review_sweep
from bot.jobs.pods import make_week_pods
from bot.jobs.recap import post_recap
from bot.jobs.reminders import send_reminders
from bot.kernel.clock import format_duration, local_date, local_now
from bot.kernel.ports import ChatPlatform, Undeliverable
from bot.kernel.replies import error_reply
from bot.kernel.types import Cohort, Post, Reply, Sweep
from bot.rules.pending import Pending, catchup_window, pending, post_time, rest_day_message
from bot.rules.schedule import due_days, due_instant

log = logging.getLogger(__name__)

# The message id recorded for a post the platform refused for good, so it is not re-sent every 2 minutes.
UNDELIVERED = "undelivered"
# A claim without a message id this old is taken to be a crash between claim and send.
RESEND_AFTER = dt.timedelta(minutes=2)
# How long a skip is remembered, so that it is logged once: longer than any local yesterday lasts.
SKIPS_KEPT = dt.timedelta(days=3)
# A post sent later than this after its time was caught up (after a restart or an outage), for the metrics.
ON_TIME = dt.timedelta(minutes=2)


def post_key(post: Post) -> str:
    """The idempotency key of a post's send: the same for every retry of the same claim."""
    return f"studybot-post-{post.id}"


async def _send(core: Core, cohort: Cohort, post: Post, platform: ChatPlatform) -> Post:
    card, buttons = challenge_card(core.catalog, cohort, post)
    try:
        message_id = await platform.send(
            cohort.conversation, Reply(cards=(card,), buttons=buttons), key=post_key(post)
        )
    except Undeliverable as exc:
        # Retrying cannot help until a moderator fixes the channel: record it, say so, and move on.
        await core.posts.set_post_message(post.id, UNDELIVERED)
        log.warning("the %s post of cohort %s could not be delivered: %s", post.local_date, cohort.name, exc)
        await _tell_moderator(cohort, platform, str(exc))
        return Post(post.id, post.cohort_id, post.local_date, post.challenge_id, UNDELIVERED)
    await core.posts.set_post_message(post.id, message_id)
    log.info(
        "posted %s for cohort %s on %s as %s", post.challenge_id, cohort.name, post.local_date, message_id
    )
    await _close_previous(core, cohort, post, platform)
    return Post(post.id, post.cohort_id, post.local_date, post.challenge_id, message_id)


async def _tell_moderator(cohort: Cohort, platform: ChatPlatform, problem: str) -> None:
    text = (
        f"⚠️ studybot could not post today's challenge of cohort `{cohort.name}`: {problem}. "
        "Check that the channel exists and that studybot may send messages there."
    )
    try:
        await platform.send_direct(cohort.created_by, Reply(text=text))
    except Exception:
        log.warning("could not tell the creator of cohort %s either", cohort.name, exc_info=True)


async def _close_previous(core: Core, cohort: Cohort, post: Post, platform: ChatPlatform) -> None:
    """Edit the cohort's previous post to show the answer, why, and how many took part."""
    previous = await core.posts.post_before(cohort.id, post.local_date)
    if (
        previous is None
        or previous.message_id in (None, UNDELIVERED)
        or previous.challenge_id not in core.catalog.challenges
    ):
        return
    answered, right, checked_in = await core.activity.post_tally(previous.id)
    card = closing_card(core.catalog.challenges[previous.challenge_id], previous, answered, right, checked_in)
    try:
        await platform.edit(cohort.conversation, previous.message_id, Reply(cards=(card,)))
    except Exception:
        # Yesterday's message may have been deleted; today's post is what matters.
        log.warning(
            "could not close the %s post of cohort %s", previous.local_date, cohort.name, exc_info=True
        )


async def post_day(core: Core, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> Post | None:
    """Claim (cohort, day) and post its challenge; None when the day was already claimed."""
    used = await core.posts.used_challenges(cohort.id)
    challenge = pick_challenge(core.catalog, cohort, day, used)
    post = await core.posts.claim_post(cohort.id, day, challenge.id, core.clock.now())
    if post is None:
        return None
    return await _send(core, cohort, post, platform)


async def _post_with_recap(core: Core, cohort: Cohort, day: dt.date, platform: ChatPlatform) -> Post | None:
    """The weekly recap (on its day), then the day's challenge; None when the day was already claimed."""
    try:
        await post_recap(core, cohort, day, platform)
    except Exception:
        # A recap is a bonus; the day's challenge must not wait for it.
        log.exception("the weekly recap of cohort %s failed", cohort.name)
    posted = await post_day(core, cohort, day, platform)
    try:
        await send_health_note(core, cohort, day, platform)
    except Exception:
        log.exception("the weekly health note of cohort %s failed", cohort.name)
    try:
        await make_week_pods(core, cohort, day, platform)
    except Exception:
        log.exception("the weekly buddy pods of cohort %s failed", cohort.name)
    return posted


async def post_now(core: Core, cohort: Cohort, platforms: Mapping[str, ChatPlatform]) -> Reply:
    """A moderator's `cohort post`: today's challenge now, unless it went out already (the same claim as
    the scheduler decides), the cohort is paused, or today is not a posting day."""
    now = core.clock.now()
    state, due = pending(cohort, now)
    if state is Pending.PAUSED:
        return error_reply(
            f"Cohort `{cohort.name}` is paused, so nothing was posted. "
            f"`/study cohort resume {cohort.name}` starts its posts again."
        )
    if state is Pending.REST_DAY or due is None:
        return error_reply(f"{rest_day_message(cohort, now)} Nothing was posted.")
    platform = platforms.get(cohort.platform)
    if platform is None:
        return error_reply(
            f"Nothing was posted: this studybot process is not connected to {cohort.platform}."
        )
    today = local_date(now, cohort.timezone)
    post = await core.posts.post_for_day(cohort.id, today)
    if post is None:
        try:
            post = await _post_with_recap(core, cohort, today, platform)
        except Exception:
            log.exception("a moderator's post of the %s challenge of cohort %s failed", today, cohort.name)
            core.telemetry.post("failed")
            if await core.posts.post_for_day(cohort.id, today) is None:
                return error_reply(
                    f"Today's challenge for `{cohort.name}` could not be posted (the error is logged); "
                    "nothing was posted. Try again in a minute.",
                    internal=True,
                )
            return error_reply(
                f"Today's challenge for `{cohort.name}` was claimed but could not be sent (the error is "
                f"logged); studybot sends it again in {format_duration(RESEND_AFTER)} or so.",
                internal=True,
            )
        if post is not None:
            core.telemetry.post(_result(post, "sent"))
            return _posted(cohort, post, due, now)
        post = await core.posts.post_for_day(cohort.id, today)  # the scheduler claimed it meanwhile
    if post is None:  # a claim is never deleted; a store that lost it should not make the reply lie
        raise RuntimeError(f"the {today} post of cohort {cohort.name} was claimed but cannot be read")
    return await _already(core, cohort, post)


def _result(post: Post, delivered: str) -> str:
    """A post's result for the metrics: `delivered` (sent, caught_up, resent), or undelivered when the
    platform refused it for good (a deleted channel, a missing permission)."""
    return "undelivered" if post.message_id == UNDELIVERED else delivered


def _posted(cohort: Cohort, post: Post, due: dt.datetime, now: dt.datetime) -> Reply:
    at = post_time(cohort, due)
    if post.message_id == UNDELIVERED:
        return error_reply(
            f"studybot could not post today's challenge for `{cohort.name}`: the platform refused it. Check "
            "that the channel exists and that studybot may send messages there (its creator was told too)."
        )
    if now >= due:
        when = f"{format_duration(now - due)} after its {at} post time"
    else:
        when = f"{format_duration(due - now)} before its {at} post time, which will not post it again"
    return Reply(
        text=f"📣 Posted today's challenge for `{cohort.name}` in its channel, {when}.", ephemeral=True
    )


async def _already(core: Core, cohort: Cohort, post: Post) -> Reply:
    """The moderator's answer when today's post was claimed before: by whom is no matter, when is."""
    claimed = await core.posts.post_claimed_at(post.id)
    at = f" at {post_time(cohort, claimed)}" if claimed else ""
    if claimed and local_now(claimed, cohort.timezone).date() != post.local_date:
        at = f" on {local_now(claimed, cohort.timezone):%a %d %b}{at}"
    if post.message_id == UNDELIVERED:
        return error_reply(
            f"Today's challenge for `{cohort.name}` was sent{at}, but the platform refused it: check that "
            "the channel exists and that studybot may send messages there. Nothing more was posted."
        )
    if post.message_id is None:
        what = (
            f"is being sent right now (claimed{at}; a send that fails is retried after "
            f"{format_duration(RESEND_AFTER)})"
        )
    else:
        what = f"already went out{at}"
    return Reply(
        text=f"Today's challenge for `{cohort.name}` {what}. Nothing more was posted.", ephemeral=True
    )


class Poster:
    """Posts due days and re-sends stale claims; keeps which skips it already logged."""

    def __init__(
        self, core: Core, platforms: Mapping[str, ChatPlatform], resend_after: dt.timedelta = RESEND_AFTER
    ):
        self.core = core
        self.platforms = platforms
        self.resend_after = resend_after
        self._skips_logged: set[tuple[int, dt.date]] = set()
        # A moderator's `cohort post` sends where the scheduler does.
        core.poster = self

    async def post_now(self, cohort: Cohort) -> Reply:
        """A moderator's `cohort post` (see post_now)."""
        return await post_now(self.core, cohort, self.platforms)

    async def post_if_due(self, cohort: Cohort, report: Sweep | None = None) -> list[Post]:
        """Post the cohort's due, unclaimed days (yesterday's too, if still in the catch-up window)."""
        report = report or Sweep()
        platform = self.platforms.get(cohort.platform)
        if platform is None:
            return []
        now = self.core.clock.now()
        posted = []
        for day in due_days(cohort, now):
            if await self.core.posts.post_for_day(cohort.id, day) is not None:
                continue
            due = due_instant(cohort, day)
            if due is None:  # due_days only lists days with an instant; the type checker cannot know
                continue
            if now - due > catchup_window(cohort):
                self._skip(cohort, day, due, now, report)
                continue
            try:
                post = await _post_with_recap(self.core, cohort, day, platform)
            except Exception as exc:
                log.exception(
                    "posting the %s challenge of cohort %s failed; it will be retried", day, cohort.name
                )
                report.failed.append((cohort.name, str(exc)))
                self.core.telemetry.post("failed")
                continue
            if post is not None:
                report.posted.append(post)
                posted.append(post)
                self.core.telemetry.post(_result(post, "caught_up" if now - due > ON_TIME else "sent"))
        return posted

    def _skip(self, cohort: Cohort, day: dt.date, due: dt.datetime, now: dt.datetime, report: Sweep) -> None:
        """Note a day past its catch-up window; log it once per cohort and day, not at every sweep."""
        if (cohort.id, day) not in self._skips_logged:
            # Only a cohort's local yesterday and today can be skipped, within a day or two of UTC's date in
            # any timezone: older entries are never looked at again.
            oldest = now.date() - SKIPS_KEPT
            self._skips_logged = {(c, d) for c, d in self._skips_logged if d >= oldest}
            self._skips_logged.add((cohort.id, day))
            self.core.telemetry.post("skipped")  # once a day skipped, like the log line
            log.warning(
                "skipped the %s post of cohort %s: due at %s, it is %s late, past its %s catch-up window; "
                "a moderator can post it with `cohort post %s`",
                day,
                cohort.name,
                post_time(cohort, due),
                format_duration(now - due),
                format_duration(catchup_window(cohort)),
                cohort.name,
            )
        report.skipped.append((cohort.name, day))

    async def sweep(self) -> Sweep:
        """Post every due, unclaimed day within its window, re-send claims that never got a message id,
        and send the streak reminders whose time has come."""
        report = Sweep()
        now = self.core.clock.now()
        cohorts = {c.id: c for c in await self.core.cohorts.list_cohorts()}
        recent = {
            (p.cohort_id, p.local_date)
            for p in await self.core.posts.posts_since(now.date() - dt.timedelta(days=2))
        }
        for cohort in cohorts.values():
            try:
                if any((cohort.id, day) not in recent for day in due_days(cohort, now)):
                    await self.post_if_due(cohort, report)
            except Exception as exc:
                # One cohort's bad row (a date no calendar holds, say) must not keep the others from posting.
                log.exception("the sweep could not post for cohort %s (id %s)", cohort.name, cohort.id)
                report.failed.append((cohort.name, str(exc)))
        for stale in await self.core.posts.stale_claims(now - self.resend_after):
            owner = cohorts.get(stale.cohort_id)
            platform = self.platforms.get(owner.platform) if owner else None
            if owner is None or platform is None:
                continue
            cohort = owner
            if not await self.core.posts.reclaim_post(stale.id, now, now - self.resend_after):
                continue
            log.warning(
                "re-sending the %s post of cohort %s: its claim never got a message id",
                stale.local_date,
                cohort.name,
            )
            try:
                resent = await _send(self.core, cohort, stale, platform)
                report.resent.append(resent)
                self.core.telemetry.post(_result(resent, "resent"))
            except Exception as exc:
                self.core.telemetry.post("failed")
                log.exception("re-sending the %s post of cohort %s failed", stale.local_date, cohort.name)
                report.failed.append((cohort.name, str(exc)))
        try:
            report.reviews = await review_sweep(self.core, self.platforms)
        except Exception as exc:
            log.exception("the peer review sweep failed")
            report.failed.append(("peer review", str(exc)))
        try:
            report.graduated = await graduate_ended(self.core, cohorts.values())
        except Exception as exc:
            log.exception("graduating the members of ended cohorts failed")
            report.failed.append(("graduation", str(exc)))
        # After peer review: a first accepted piece of work decided in this sweep is announced in it too.
        try:
            report.milestones = await announce_milestones(self.core, self.platforms)
        except Exception as exc:
            log.exception("announcing milestones failed")
            report.failed.append(("milestones", str(exc)))
        try:
            report.reminded = await send_reminders(self.core, self.platforms)
            self.core.telemetry.reminders(report.reminded)
        except Exception as exc:
            log.exception("sending streak reminders failed")
            report.failed.append(("reminders", str(exc)))
        return report

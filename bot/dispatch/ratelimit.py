"""The spam limit: a member sending commands faster than LIMIT per WINDOW is asked once to slow down, and
the rest of their commands in that window are dropped before any work is done."""

from __future__ import annotations

import datetime as dt
import logging
from collections import OrderedDict, deque
from enum import Enum

log = logging.getLogger(__name__)

# Ten commands in ten seconds is more than a person types or clicks on purpose, even racing through a quiz
# and a review, and far less than a script, a stuck key or a bored member holding Enter sends.
LIMIT = 10
WINDOW = dt.timedelta(seconds=10)

# Link checks (GitHub API calls) one member may cause in a window: a few resubmissions, not a hundred.
LINK_CHECKS = 5
LINK_CHECK_WINDOW = dt.timedelta(hours=1)

# Who is limited: the platform and its user id (a Discord id and a Slack id may look alike).
Key = tuple[str, str]


class Verdict(Enum):
    """What to do with one command."""

    ALLOW = "allow"  # run it
    WARN = "warn"  # the first one over the limit: answer "slow down", once
    DROP = "drop"  # the rest in the same window: no work, no answer


class _Recent:
    """One member's commands that ran within the last window, and whether they were told to slow down."""

    __slots__ = ("ran", "seen", "warned")

    def __init__(self, limit: int, now: dt.datetime) -> None:
        self.ran: deque[dt.datetime] = deque(maxlen=limit)
        self.seen = now
        self.warned = False


class RateLimiter:
    """A sliding-window limit per member: at most `limit` commands run in any `window` of time.

    Only commands that ran count, so a member who keeps sending while dropped is served again as soon as
    their oldest command leaves the window. Members are remembered while they sent something within the
    last window and forgotten after, so memory follows the members active in the last few seconds.
    Not thread-safe, and needs none: the core calls it from the event loop without awaiting in between.
    """

    def __init__(self, limit: int = LIMIT, window: dt.timedelta = WINDOW) -> None:
        if limit < 1 or window <= dt.timedelta():
            raise ValueError(f"a limit needs 1 or more commands in a positive window, not {limit}/{window}")
        self.limit = limit
        self.window = window
        # Least recently seen first, so members whose window has passed are forgotten from the front.
        self._recent: OrderedDict[Key, _Recent] = OrderedDict()

    def __len__(self) -> int:
        """How many members are remembered now."""
        return len(self._recent)

    def check(self, key: Key, now: dt.datetime) -> Verdict:
        """Count one command of `key` at `now` (if it may run) and say what to do with it."""
        self._forget(now)
        recent = self._recent.get(key)
        if recent is None:
            recent = self._recent[key] = _Recent(self.limit, now)
        else:
            self._recent.move_to_end(key)
            recent.seen = now
        if recent.ran and recent.ran[-1] > now:
            # The clock went back (the console's :clock): what ran "later" says nothing about now.
            recent.ran.clear()
        while recent.ran and recent.ran[0] <= now - self.window:
            recent.ran.popleft()
        if len(recent.ran) < self.limit:
            recent.ran.append(now)
            recent.warned = False
            return Verdict.ALLOW
        if recent.warned:
            return Verdict.DROP
        recent.warned = True
        log.info("slowing down %s/%s: more than %d commands in %s", *key, self.limit, self.window)
        return Verdict.WARN

    def wait(self, key: Key, now: dt.datetime) -> dt.timedelta:
        """How long until a command of `key` would run again (zero if it would now)."""
        recent = self._recent.get(key)
        if recent is None or len(recent.ran) < self.limit:
            return dt.timedelta()
        return max(recent.ran[0] + self.window - now, dt.timedelta())

    def _forget(self, now: dt.datetime) -> None:
        # A member last seen a window ago has nothing left in it: every command they ran is older.
        while self._recent:
            key, oldest = next(iter(self._recent.items()))
            if oldest.seen > now - self.window:
                break
            del self._recent[key]

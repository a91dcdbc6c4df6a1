"""Drive APScheduler from a fake clock: it reads the time through `datetime.now` in two modules."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest

# The modules of APScheduler 3 that ask for the current time.
APSCHEDULER_TIME_MODULES = ("apscheduler.schedulers.base", "apscheduler.executors.base")


def clocked_datetime(now: Callable[[], dt.datetime]) -> type[dt.datetime]:
    """A datetime class whose now() is the given clock's."""

    class ClockedDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: dt.tzinfo | None = None) -> ClockedDatetime:  # type: ignore[override]
            instant = now()
            return instant.astimezone(tz) if tz else instant  # type: ignore[return-value]

    return ClockedDatetime


def drive_apscheduler(monkeypatch: pytest.MonkeyPatch, now: Callable[[], dt.datetime]) -> None:
    cls = clocked_datetime(now)
    for module in APSCHEDULER_TIME_MODULES:
        monkeypatch.setattr(f"{module}.datetime", cls)

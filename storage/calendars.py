"""The cohort calendar history and members' breaks as JSON text columns, and back.

Kept on the cohort and member rows themselves (not in tables of their own) because nearly every command
reads its cohort and member already: the calendar comes with them at no extra query.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from typing import Any

from bot.types import CalendarHistory, DaySpan, SpanKind


def _span(raw: list[Any]) -> DaySpan:
    first, last, kind, label = raw
    return DaySpan(
        dt.date.fromisoformat(first),
        None if last is None else dt.date.fromisoformat(last),
        SpanKind(kind),
        label,
    )


def _raw_span(span: DaySpan) -> list[Any]:
    return [
        span.first.isoformat(),
        None if span.last is None else span.last.isoformat(),
        span.kind,
        span.label,
    ]


def history_from(text: str | None) -> CalendarHistory:
    if not text:
        return CalendarHistory()
    raw = json.loads(text)
    eras = tuple((dt.date.fromisoformat(d), frozenset(days)) for d, days in raw.get("eras", ()))
    return CalendarHistory(eras, tuple(_span(s) for s in raw.get("spans", ())))


def history_text(history: CalendarHistory) -> str | None:
    if not history.eras and not history.spans:
        return None
    eras = [[d.isoformat(), sorted(days)] for d, days in history.eras]
    return json.dumps({"eras": eras, "spans": [_raw_span(s) for s in history.spans]}, separators=(",", ":"))


def breaks_from(text: str | None) -> tuple[DaySpan, ...]:
    return tuple(_span(s) for s in json.loads(text)) if text else ()


def breaks_text(breaks: Iterable[DaySpan]) -> str | None:
    raw = [_raw_span(s) for s in breaks]
    return json.dumps(raw, separators=(",", ":")) if raw else None

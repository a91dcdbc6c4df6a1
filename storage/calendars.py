"""The cohort calendar history and members' breaks as JSON text columns, and back.

Kept on the cohort and member rows themselves (not in tables of their own) because nearly every command
reads its cohort and member already: the calendar comes with them at no extra query.

Reading is forgiving: a hand-edited or damaged text must not make its row unreadable, since every cohort
read (the scheduler's sweep included) and every command of the member would then fail. What cannot be read
is left out and logged; what can be read is kept.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
from collections.abc import Iterable
from typing import Any

from bot.kernel.types import CalendarHistory, DaySpan, SpanKind

log = logging.getLogger(__name__)

WEEKDAYS = frozenset(range(7))
# Texts already reported: a damaged row is read by every command, and one warning tells the operator.
_REPORTED: set[int] = set()
MAX_REPORTED = 1000
# Every command reads its cohort and member, and the scheduler every cohort each minute: a text already read
# (its value is immutable) is handed out again rather than parsed and checked again.
PARSED_CACHED = 4096


def _report(what: str, text: str, why: str) -> None:
    key = hash(text)
    if key in _REPORTED:
        return
    if len(_REPORTED) < MAX_REPORTED:
        _REPORTED.add(key)
    log.warning("ignoring what cannot be read of a stored %s (%s): %.200r", what, why, text)


def _date(raw: Any) -> dt.date:
    if not isinstance(raw, str):
        raise ValueError(f"not a date: {raw!r}")
    return dt.date.fromisoformat(raw)


def _span(raw: Any) -> DaySpan:
    if not isinstance(raw, list) or len(raw) != 4:
        raise ValueError(f"not a span: {raw!r}")
    first, last, kind, label = raw
    return DaySpan(
        _date(first),
        None if last is None else _date(last),
        SpanKind(kind),
        label if isinstance(label, str) else "",
    )


def _era(raw: Any) -> tuple[dt.date, frozenset[int]]:
    if not isinstance(raw, list) or len(raw) != 2 or not isinstance(raw[1], list):
        raise ValueError(f"not an era: {raw!r}")
    days = frozenset(d for d in raw[1] if type(d) is int and d in WEEKDAYS)
    return _date(raw[0]), days


def _spans(raw: Any, what: str, text: str) -> tuple[DaySpan, ...]:
    if not isinstance(raw, list):
        _report(what, text, "spans are not a list")
        return ()
    spans = []
    for item in raw:
        try:
            spans.append(_span(item))
        except (ValueError, TypeError) as exc:
            _report(what, text, str(exc))
    return tuple(spans)


def _json(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        _report(what, text, str(exc))
        return None


@functools.lru_cache(maxsize=PARSED_CACHED)
def history_from(text: str | None) -> CalendarHistory:
    if not text:
        return CalendarHistory()
    raw = _json(text, "cohort calendar")
    if not isinstance(raw, dict):
        if raw is not None:
            _report("cohort calendar", text, "not an object")
        return CalendarHistory()
    raw_eras = raw.get("eras", [])
    eras = []
    if isinstance(raw_eras, list):
        for item in raw_eras:
            try:
                eras.append(_era(item))
            except (ValueError, TypeError) as exc:
                _report("cohort calendar", text, str(exc))
    else:
        _report("cohort calendar", text, "eras are not a list")
    return CalendarHistory(tuple(eras), _spans(raw.get("spans", []), "cohort calendar", text))


def history_text(history: CalendarHistory) -> str | None:
    if not history.eras and not history.spans:
        return None
    eras = [[d.isoformat(), sorted(days)] for d, days in history.eras]
    return json.dumps({"eras": eras, "spans": [_raw_span(s) for s in history.spans]}, separators=(",", ":"))


def _raw_span(span: DaySpan) -> list[Any]:
    return [
        span.first.isoformat(),
        None if span.last is None else span.last.isoformat(),
        span.kind,
        span.label,
    ]


@functools.lru_cache(maxsize=PARSED_CACHED)
def breaks_from(text: str | None) -> tuple[DaySpan, ...]:
    if not text:
        return ()
    raw = _json(text, "member's breaks")
    return () if raw is None else _spans(raw, "member's breaks", text)


def breaks_text(breaks: Iterable[DaySpan]) -> str | None:
    raw = [_raw_span(s) for s in breaks]
    return json.dumps(raw, separators=(",", ":")) if raw else None

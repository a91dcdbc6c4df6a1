"""The streak heatmap shows each day's square in the colour of what happened that day."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from bot.images.heatmap import CELL, COLORS, WEEKS, cell_origin, render_heatmap

TODAY = dt.date(2026, 11, 25)  # a Wednesday


def colour(img: Image.Image, day: dt.date) -> tuple[int, int, int]:
    origin = cell_origin(TODAY, day)
    assert origin is not None
    x, y = origin
    return img.getpixel((x + CELL // 2, y + CELL // 2))  # type: ignore[return-value]


def test_each_day_is_drawn_in_its_colour() -> None:
    active = {TODAY, TODAY - dt.timedelta(days=1)}
    frozen = {TODAY - dt.timedelta(days=2)}
    excused = {TODAY - dt.timedelta(days=3)}
    img = Image.open(io.BytesIO(render_heatmap(TODAY, active, frozen, excused)))
    assert img.format == "PNG"
    img = img.convert("RGB")
    assert colour(img, TODAY) == COLORS["active"]
    assert colour(img, TODAY - dt.timedelta(days=2)) == COLORS["frozen"]
    assert colour(img, TODAY - dt.timedelta(days=3)) == COLORS["excused"]
    assert colour(img, TODAY - dt.timedelta(days=4)) == COLORS["missed"]
    assert colour(img, TODAY + dt.timedelta(days=1)) == COLORS["future"]


def test_the_picture_spans_sixteen_calendar_weeks_ending_this_week() -> None:
    monday_16_weeks_ago = TODAY - dt.timedelta(days=TODAY.weekday() + 7 * (WEEKS - 1))
    assert cell_origin(TODAY, monday_16_weeks_ago) is not None
    assert cell_origin(TODAY, monday_16_weeks_ago - dt.timedelta(days=1)) is None
    assert cell_origin(TODAY, TODAY + dt.timedelta(days=7 - TODAY.weekday() - 1)) is not None

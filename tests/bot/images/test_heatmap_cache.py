"""The streak heatmap is drawn off the event loop and kept: a kept picture is always the one a fresh render
would draw, and the faster drawing gives the same pixels as drawing every square and label in place."""

from __future__ import annotations

import datetime as dt
import io
import random
import threading

import pytest
from PIL import Image, ImageDraw, ImageFont

from bot.images.heatmap import (
    CELL,
    COLORS,
    GAP,
    LABEL_W,
    MARGIN,
    TEXT,
    TOP,
    WEEKS,
    HeatmapCache,
    heatmap_key,
    render_heatmap,
)
from tests.conftest import Bot

TODAY = dt.date(2026, 11, 25)  # a Wednesday
DAY = dt.timedelta(days=1)


def reference_heatmap(
    today: dt.date, active: set[dt.date], frozen: set[dt.date], excused: set[dt.date], weeks: int = WEEKS
) -> bytes:
    """The heatmap as first written: every label and square drawn in place on one image."""
    first = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    width = MARGIN * 2 + LABEL_W + weeks * (CELL + GAP)
    height = TOP + MARGIN + 7 * (CELL + GAP) + 26
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=15)
    for row, label in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        draw.text((MARGIN, TOP + row * (CELL + GAP) + 2), label, fill=TEXT, font=font)
    for col in range(weeks):
        monday = first + dt.timedelta(weeks=col)
        if monday.day <= 7:
            draw.text((MARGIN + LABEL_W + col * (CELL + GAP), 8), f"{monday:%b}", fill=TEXT, font=font)
        for row in range(7):
            day = monday + dt.timedelta(days=row)
            if day > today:
                kind = "future"
            elif day in active:
                kind = "active"
            elif day in frozen:
                kind = "frozen"
            elif day in excused:
                kind = "excused"
            else:
                kind = "missed"
            x, y = MARGIN + LABEL_W + col * (CELL + GAP), TOP + row * (CELL + GAP)
            outline = TEXT if day == today else None
            draw.rounded_rectangle(
                (x, y, x + CELL, y + CELL), radius=3, fill=COLORS[kind], outline=outline, width=2
            )
    legend_y = height - 22
    x = MARGIN + LABEL_W
    for kind in ("active", "frozen", "excused", "missed"):
        draw.rounded_rectangle((x, legend_y, x + 14, legend_y + 14), radius=3, fill=COLORS[kind])
        draw.text((x + 20, legend_y - 1), kind, fill=TEXT, font=font)
        x += 96
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def pixels(png: bytes) -> tuple[tuple[int, int], bytes]:
    img = Image.open(io.BytesIO(png))
    assert img.format == "PNG"
    rgb = img.convert("RGB")
    return rgb.size, rgb.tobytes()


def random_days(today: dt.date, rng: random.Random) -> tuple[set[dt.date], set[dt.date], set[dt.date]]:
    days = [today - dt.timedelta(days=i) for i in range(-3, 7 * WEEKS + 10)]
    return (
        {d for d in days if rng.random() < 0.5},
        {d for d in days if rng.random() < 0.15},
        {d for d in days if rng.random() < 0.1},
    )


@pytest.mark.parametrize("weeks", [WEEKS, 5])
def test_the_picture_has_the_same_pixels_as_drawing_each_square_in_place(weeks: int) -> None:
    rng = random.Random(weeks)
    today = dt.date(2026, 1, 1)
    while today < dt.date(2027, 1, 10):  # every weekday, every month's label, each part of the year
        active, frozen, excused = random_days(today, rng)
        assert pixels(render_heatmap(today, active, frozen, excused, weeks)) == pixels(
            reference_heatmap(today, active, frozen, excused, weeks)
        ), today
        today += dt.timedelta(days=11)


def test_the_key_is_what_the_picture_shows_and_nothing_else() -> None:
    active = {TODAY - DAY, TODAY - 3 * DAY}
    key = heatmap_key(TODAY, active, set(), set())
    # A day before the picture, or a frozen day that was also active, shows nothing new.
    long_ago = TODAY - dt.timedelta(weeks=WEEKS + 1)
    assert heatmap_key(TODAY, active | {long_ago}, {TODAY - DAY}, {long_ago}) == key
    # Everything the picture does show changes it.
    assert heatmap_key(TODAY, active | {TODAY}, set(), set()) != key
    assert heatmap_key(TODAY, active, {TODAY - 2 * DAY}, set()) != key
    assert heatmap_key(TODAY, active, set(), {TODAY - 2 * DAY}) != key
    assert heatmap_key(TODAY + DAY, active, set(), set()) != key  # today's outline, the weeks, the months
    assert heatmap_key(TODAY, active, set(), set(), weeks=8) != key


class CountingRenders:
    def __init__(self) -> None:
        self.calls = 0
        self.threads: set[int] = set()

    def __call__(self, *args: object) -> bytes:
        self.calls += 1
        self.threads.add(threading.get_ident())
        return render_heatmap(*args)  # type: ignore[arg-type]


async def test_the_same_days_twice_give_the_same_bytes_without_drawing_again() -> None:
    cache, render = HeatmapCache(), CountingRenders()
    active, frozen, excused = {TODAY - DAY, TODAY - 2 * DAY}, frozenset({TODAY - 3 * DAY}), set[dt.date]()
    first = await cache.png(TODAY, active, frozen, excused, render=render)
    again = await cache.png(TODAY, set(active), frozen, excused, render=render)
    assert again == first and render.calls == 1 and (cache.hits, cache.misses) == (1, 1)
    assert threading.get_ident() not in render.threads  # drawn in a worker thread, not on the event loop
    assert first == render_heatmap(TODAY, active, frozen, excused)  # the kept picture is a fresh render

    checked_in = await cache.png(TODAY, active | {TODAY}, frozen, excused, render=render)
    assert checked_in != first and render.calls == 2
    assert checked_in == render_heatmap(TODAY, active | {TODAY}, frozen, excused)
    tomorrow = await cache.png(TODAY + DAY, active, frozen, excused, render=render)
    assert tomorrow not in (first, checked_in) and render.calls == 3


async def test_the_cache_keeps_only_the_most_recently_used_pictures() -> None:
    cache, render = HeatmapCache(size=2), CountingRenders()
    a, b, c = ({TODAY - n * DAY} for n in (1, 2, 3))
    for days in (a, b, a, c):  # c pushes out b, the least recently used
        await cache.png(TODAY, days, set(), set(), render=render)
    assert len(cache) == 2 and render.calls == 3
    await cache.png(TODAY, a, set(), set(), render=render)
    assert render.calls == 3
    await cache.png(TODAY, b, set(), set(), render=render)
    assert render.calls == 4


async def test_the_streak_heatmap_changes_after_a_check_in_and_is_not_redrawn_before(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache, render = HeatmapCache(), CountingRenders()
    # By name, after the core has loaded its commands: importing features.progress first would reorder them.
    monkeypatch.setattr("bot.features.progress.HEATMAPS", cache)
    monkeypatch.setattr("bot.features.progress.render_heatmap", render)
    assert not (await bot.say("Mia", "/study cohort create ml tz=UTC days=daily")).error
    assert not (await bot.say("Ada", "join ml")).error

    before = await bot.say("Ada", "streak")
    again = await bot.say("Ada", "streak")
    assert again.images[0].data == before.images[0].data and render.calls == 1 and cache.hits == 1
    assert not (await bot.say("Ada", "done read the pandas guide")).error
    after = await bot.say("Ada", "streak")
    assert render.calls == 2 and after.images[0].data != before.images[0].data
    today = bot.clock.now().date()
    assert pixels(after.images[0].data) == pixels(reference_heatmap(today, {today}, set(), set()))

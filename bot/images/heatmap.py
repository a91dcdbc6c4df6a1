"""A GitHub-style heatmap PNG of a member's last weeks: one square a day, Monday at the top.

Drawing is split in two. What never changes (the weekday labels, the legend, a square of each colour, with
and without today's outline, and each month's label) is drawn once per process, with Pillow's own
primitives, and kept; a picture is then those pieces pasted together. Pasting a piece drawn on white onto
white gives the same pixels as drawing it there, so the picture is the same as drawing each square and label
in place, at a fraction of the cost. When all the pieces' colours fit in one 256-colour palette (they do: a
few square colours and the anti-aliased greys of the text) the PNG is written in palette mode, which holds
exactly the same pixels, is smaller and is several times faster to compress.

A picture depends on `heatmap_key` alone (today, the number of weeks and what each square shows), so
`HEATMAPS`, a small LRU of rendered PNGs by that key, can hand out a picture again without drawing it, and a
cached picture is always the one a fresh render would draw.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFont

WEEKS = 16
# Sized for chat clients, which show images at up to about 400 px wide without a click.
CELL, GAP, MARGIN, LABEL_W, TOP, FONT_PX = 22, 4, 14, 46, 30, 15
COLORS = {
    "active": (46, 160, 67),
    "frozen": (88, 166, 255),
    "excused": (210, 153, 34),
    "missed": (235, 237, 240),
    "future": (255, 255, 255),
}
TEXT = (87, 96, 106)
# One letter a square in a heatmap key, by what the square shows.
LETTERS = {"active": "A", "frozen": "F", "excused": "E", "missed": "M", "future": "-"}
KINDS = {letter: kind for kind, letter in LETTERS.items()}
# How many rendered pictures HEATMAPS keeps (a PNG is about 6 KB).
CACHE_SIZE = 1000
MONTH_Y = 8

# (today, weeks, one letter of LETTERS a square, column by column from the first Monday): all a picture shows.
HeatmapKey = tuple[dt.date, int, str]


def cell_origin(today: dt.date, day: dt.date, weeks: int = WEEKS) -> tuple[int, int] | None:
    """The top-left pixel of a day's square, or None when the day is outside the picture."""
    first = _first_monday(today, weeks)
    offset = (day - first).days
    if not 0 <= offset < weeks * 7:
        return None
    return _xy(*divmod(offset, 7))


def _first_monday(today: dt.date, weeks: int) -> dt.date:
    return today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))


def _xy(col: int, row: int) -> tuple[int, int]:
    return MARGIN + LABEL_W + col * (CELL + GAP), TOP + row * (CELL + GAP)


def _size(weeks: int) -> tuple[int, int]:
    return MARGIN * 2 + LABEL_W + weeks * (CELL + GAP), TOP + MARGIN + 7 * (CELL + GAP) + 26


def heatmap_key(
    today: dt.date,
    active: Collection[dt.date],
    frozen: Collection[dt.date],
    excused: Collection[dt.date],
    weeks: int = WEEKS,
) -> HeatmapKey:
    """Everything the picture shows: today (which places the weeks, the month labels, today's outline and the
    days still to come) and, for each day of the picture, whether it was active, frozen, excused or missed.
    Days outside the picture are left out, so they do not make two equal pictures look different."""
    first = _first_monday(today, weeks)
    shown = (today - first).days + 1  # the days up to today; the rest of today's week is still to come
    letters = []
    day, one_day = first, dt.timedelta(days=1)
    for _ in range(shown):
        if day in active:
            letters.append(LETTERS["active"])
        elif day in frozen:
            letters.append(LETTERS["frozen"])
        elif day in excused:
            letters.append(LETTERS["excused"])
        else:
            letters.append(LETTERS["missed"])
        day += one_day
    letters.append(LETTERS["future"] * (weeks * 7 - shown))
    return today, weeks, "".join(letters)


def render_heatmap(
    today: dt.date,
    active: set[dt.date],
    frozen: set[dt.date] | frozenset[dt.date],
    excused: set[dt.date],
    weeks: int = WEEKS,
) -> bytes:
    """Draw the `weeks` calendar weeks ending with today's week and return PNG bytes."""
    return render_key(heatmap_key(today, active, frozen, excused, weeks))


def render_key(key: HeatmapKey) -> bytes:
    """The PNG of the picture `key` describes (see heatmap_key)."""
    today, weeks, letters = key
    pieces = _pieces(weeks)
    img = pieces.base.copy()
    first = _first_monday(today, weeks)
    for col in range(weeks):
        monday = first + dt.timedelta(weeks=col)
        if monday.day <= 7:
            label, (dx, dy) = pieces.months[monday.month]
            img.paste(label, (MARGIN + LABEL_W + col * (CELL + GAP) + dx, MONTH_Y + dy))
        for row in range(7):
            day = monday + dt.timedelta(days=row)
            img.paste(pieces.squares[KINDS[letters[col * 7 + row]], day == today], _xy(col, row))
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


# ---- the pieces, drawn once per process ----


@dataclass(frozen=True)
class _Pieces:
    base: Image.Image  # white, with the weekday labels and the legend
    squares: dict[tuple[str, bool], Image.Image]  # by kind and whether it is today (outlined)
    months: dict[int, tuple[Image.Image, tuple[int, int]]]  # a month's label, and where it goes from its xy


_pieces_made: dict[int, _Pieces] = {}
_pieces_lock = threading.Lock()


def _pieces(weeks: int) -> _Pieces:
    pieces = _pieces_made.get(weeks)
    if pieces is None:
        with _pieces_lock:  # renders run in worker threads: draw the pieces once
            pieces = _pieces_made.get(weeks)
            if pieces is None:
                pieces = _pieces_made[weeks] = _draw_pieces(weeks)
    return pieces


def _draw_pieces(weeks: int) -> _Pieces:
    font = ImageFont.load_default(size=FONT_PX)
    width, height = _size(weeks)
    base = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(base)
    for row, label in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        draw.text((MARGIN, TOP + row * (CELL + GAP) + 2), label, fill=TEXT, font=font)
    legend_y = height - 22
    x = MARGIN + LABEL_W
    for kind in ("active", "frozen", "excused", "missed"):
        draw.rounded_rectangle((x, legend_y, x + 14, legend_y + 14), radius=3, fill=COLORS[kind])
        draw.text((x + 20, legend_y - 1), kind, fill=TEXT, font=font)
        x += 96
    squares = {}
    for kind in COLORS:
        for today in (False, True):
            square = Image.new("RGB", (CELL + 1, CELL + 1), "white")
            # Today gets an outline: not done yet means at risk, not missed.
            ImageDraw.Draw(square).rounded_rectangle(
                (0, 0, CELL, CELL), radius=3, fill=COLORS[kind], outline=TEXT if today else None, width=2
            )
            squares[kind, today] = square
    months = {}
    for month in range(1, 13):
        name = f"{dt.date(2000, month, 1):%b}"
        left, top, right, bottom = (int(edge) for edge in font.getbbox(name))
        left, top = min(left, 0), min(top, 0)
        patch = Image.new("RGB", (right - left, bottom - top), "white")
        ImageDraw.Draw(patch).text((-left, -top), name, fill=TEXT, font=font)
        months[month] = (patch, (left, top))
    return _to_palette(_Pieces(base, squares, months))


def _to_palette(pieces: _Pieces) -> _Pieces:
    """The same pieces in palette mode, sharing one palette, if their colours fit in one; else as they are."""
    images = [pieces.base, *pieces.squares.values(), *(patch for patch, _ in pieces.months.values())]
    seen = dict.fromkeys(itertools.chain.from_iterable(_pixels(image) for image in images))
    if len(seen) > 256:
        return pieces
    colours = {colour: index for index, colour in enumerate(seen)}  # an RGB triple's index in the palette
    palette = bytes(itertools.chain.from_iterable(colours))

    def indexed(image: Image.Image) -> Image.Image:
        out = Image.frombytes("P", image.size, bytes(map(colours.__getitem__, _pixels(image))))
        out.putpalette(palette)
        out.load()  # settles the palette now, before worker threads read the piece at once
        return out

    return _Pieces(
        indexed(pieces.base),
        {k: indexed(square) for k, square in pieces.squares.items()},
        {m: (indexed(label), at) for m, (label, at) in pieces.months.items()},
    )


def _pixels(image: Image.Image) -> Iterator[tuple[int, int, int]]:
    raw = image.tobytes()
    return zip(raw[0::3], raw[1::3], raw[2::3], strict=True)


# ---- rendered pictures, kept ----


class HeatmapCache:
    """The last `size` rendered PNGs by heatmap_key, least recently used dropped first. Renders run in a
    worker thread, so drawing never holds up the event loop; `hits` and `misses` count lookups."""

    def __init__(self, size: int = CACHE_SIZE) -> None:
        self.size = size
        self.hits = self.misses = 0
        self._pngs: OrderedDict[tuple[Callable[..., bytes], HeatmapKey], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._pngs)

    def clear(self) -> None:
        self._pngs.clear()
        self.hits = self.misses = 0

    async def png(
        self,
        today: dt.date,
        active: set[dt.date],
        frozen: set[dt.date] | frozenset[dt.date],
        excused: set[dt.date],
        weeks: int = WEEKS,
        *,
        render: Callable[..., bytes] = render_heatmap,
    ) -> bytes:
        """The heatmap PNG of these days: kept from before, or rendered by `render` (called as
        render_heatmap is) in a worker thread and kept. Pictures are kept by renderer too, so a stand-in for
        render_heatmap (bench/) neither hands out nor gets real pictures."""
        key = render, heatmap_key(today, active, frozen, excused, weeks)
        png = self._pngs.get(key)
        if png is not None:
            self.hits += 1
            self._pngs.move_to_end(key)
            return png
        self.misses += 1
        png = await asyncio.to_thread(render, today, active, frozen, excused, weeks)
        self._pngs[key] = png
        self._pngs.move_to_end(key)
        while len(self._pngs) > self.size:
            self._pngs.popitem(last=False)
        return png


HEATMAPS = HeatmapCache()

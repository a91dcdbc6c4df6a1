"""A GitHub-style heatmap PNG of a member's last weeks: one square a day, Monday at the top."""

from __future__ import annotations

import datetime as dt
import io

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


def cell_origin(today: dt.date, day: dt.date, weeks: int = WEEKS) -> tuple[int, int] | None:
    """The top-left pixel of a day's square, or None when the day is outside the picture."""
    first = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    offset = (day - first).days
    if not 0 <= offset < weeks * 7:
        return None
    return _xy(*divmod(offset, 7))


def _xy(col: int, row: int) -> tuple[int, int]:
    return MARGIN + LABEL_W + col * (CELL + GAP), TOP + row * (CELL + GAP)


def render_heatmap(
    today: dt.date,
    active: set[dt.date],
    frozen: set[dt.date] | frozenset[dt.date],
    excused: set[dt.date],
    weeks: int = WEEKS,
) -> bytes:
    """Draw the `weeks` calendar weeks ending with today's week and return PNG bytes."""
    first = today - dt.timedelta(days=today.weekday() + 7 * (weeks - 1))
    width = MARGIN * 2 + LABEL_W + weeks * (CELL + GAP)
    height = TOP + MARGIN + 7 * (CELL + GAP) + 26
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=FONT_PX)
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
            x, y = _xy(col, row)
            # Today gets an outline: not done yet means at risk, not missed.
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

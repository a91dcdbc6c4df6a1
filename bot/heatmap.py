"""A GitHub-style heatmap PNG of a member's last weeks: one square a day, Monday at the top."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image, ImageDraw

WEEKS = 16
CELL, GAP, MARGIN, LABEL_W, TOP = 14, 3, 10, 30, 22
COLORS = {
    "active": (46, 160, 67),
    "frozen": (88, 166, 255),
    "excused": (210, 153, 34),
    "missed": (235, 237, 240),
    "future": (255, 255, 255),
}
TEXT = (87, 96, 106)


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
    height = TOP + MARGIN + 7 * (CELL + GAP) + 18
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    for row, label in ((0, "Mon"), (2, "Wed"), (4, "Fri")):
        draw.text((MARGIN, TOP + row * (CELL + GAP)), label, fill=TEXT)
    for col in range(weeks):
        monday = first + dt.timedelta(weeks=col)
        if monday.day <= 7:
            draw.text((MARGIN + LABEL_W + col * (CELL + GAP), 6), f"{monday:%b}", fill=TEXT)
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
            x = MARGIN + LABEL_W + col * (CELL + GAP)
            y = TOP + row * (CELL + GAP)
            draw.rounded_rectangle((x, y, x + CELL, y + CELL), radius=3, fill=COLORS[kind])
    legend_y = height - 16
    x = MARGIN + LABEL_W
    for kind in ("active", "frozen", "excused", "missed"):
        draw.rounded_rectangle((x, legend_y, x + 10, legend_y + 10), radius=2, fill=COLORS[kind])
        draw.text((x + 14, legend_y - 1), kind, fill=TEXT)
        x += 70
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()

"""A cohort's retention by join week as a PNG grid: a row per join week, a column per week since joining,
each cell the share of that week's joiners active then, darker green for more."""

from __future__ import annotations

import datetime as dt
import io

from bot.kernel.types import Image

CELL, GAP, LEFT, TOP, FONT_PX = 44, 4, 120, 44, 13
TEXT = (87, 96, 106)
EMPTY = (246, 248, 250)


def _green(share: float) -> tuple[int, int, int]:
    """From a pale to a full green as the share rises (white text stays readable on the dark end)."""
    pale, full = (218, 243, 223), (26, 127, 55)
    return tuple(round(p + (f - p) * share) for p, f in zip(pale, full, strict=True))  # type: ignore[return-value]


def retention_png(rows: list[tuple[dt.date, int, tuple[float, ...]]], columns: int, title: str) -> bytes:
    """The grid: each row (join week's Monday, members who joined, share active each week since); a week not
    begun yet is left blank."""
    from PIL import Image, ImageDraw, ImageFont  # Pillow on first use, as the other images

    width = LEFT + columns * (CELL + GAP) + 10
    height = TOP + max(len(rows), 1) * (CELL + GAP) + 10
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=FONT_PX)
    draw.text((10, 6), title[:60], fill=TEXT, font=font)
    for k in range(columns):
        draw.text((LEFT + k * (CELL + GAP) + 10, TOP - 18), f"w{k}", fill=TEXT, font=font)
    if not rows:
        draw.text((10, TOP + 10), f"Nobody joined in the last {columns} weeks.", fill=TEXT, font=font)
    for r, (week, joined, shares) in enumerate(rows):
        y = TOP + r * (CELL + GAP)
        draw.text((10, y + 14), f"{week:%d %b} ({joined})", fill=TEXT, font=font)
        for k in range(columns):
            x = LEFT + k * (CELL + GAP)
            if k >= len(shares):
                draw.rounded_rectangle((x, y, x + CELL, y + CELL), radius=4, fill=EMPTY)
                continue
            share = shares[k]
            draw.rounded_rectangle((x, y, x + CELL, y + CELL), radius=4, fill=_green(share))
            colour = (255, 255, 255) if share >= 0.5 else (36, 41, 47)
            draw.text((x + 8, y + 14), f"{round(share * 100)}%", fill=colour, font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def retention_image(rows: list[tuple[dt.date, int, tuple[float, ...]]], columns: int, cohort: str) -> Image:
    """The grid as the attachment `cohort stats` and the weekly note send."""
    title = f"Retention of {cohort} by join week"
    return Image(f"retention-{cohort}.png", retention_png(rows, columns, title), title)

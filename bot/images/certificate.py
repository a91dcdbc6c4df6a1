"""A graduation certificate as a PNG: who, in which cohort, from when to when, and what they did."""

from __future__ import annotations

import datetime as dt
import io

INK = (36, 41, 47)
SOFT = (87, 96, 106)
GOLD = (191, 135, 0)
NAME_CHARS = 40  # a longer display name is cut with an ellipsis, so it stays on the certificate


def certificate_png(
    name: str, cohort: str, joined: dt.date, graduated: dt.date, figures: list[tuple[str, str]]
) -> bytes:
    """The certificate; `figures` are (label, value) pairs shown along the bottom."""
    from PIL import Image, ImageDraw, ImageFont  # Pillow on first use, as the other images

    width, height = 800, 520
    img = Image.new("RGB", (width, height), (255, 253, 247))
    draw = ImageDraw.Draw(img)
    draw.rectangle((12, 12, width - 13, height - 13), outline=GOLD, width=4)
    draw.rectangle((24, 24, width - 25, height - 25), outline=GOLD, width=1)

    def centred(y: int, text: str, size: int, fill: tuple[int, int, int]) -> None:
        font = ImageFont.load_default(size=size)
        left, _, right, _ = draw.textbbox((0, 0), text, font=font)
        draw.text(((width - (right - left)) // 2, y), text, fill=fill, font=font)

    shown = name if len(name) <= NAME_CHARS else name[: NAME_CHARS - 1] + "…"
    centred(60, "studybot · certificate of completion", 20, SOFT)
    centred(120, shown, 44, INK)
    centred(200, "completed the machine-learning engineer roadmap", 22, INK)
    centred(236, f"with cohort {cohort[:40]}", 22, INK)
    centred(290, f"{joined:%d %B %Y} to {graduated:%d %B %Y}", 20, SOFT)
    column = (width - 80) // max(len(figures), 1)
    for i, (label, value) in enumerate(figures):
        x = 40 + i * column
        font_value, font_label = ImageFont.load_default(size=30), ImageFont.load_default(size=15)
        draw.text((x + 20, 370), value, fill=GOLD, font=font_value)
        draw.text((x + 20, 412), label, fill=SOFT, font=font_label)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()

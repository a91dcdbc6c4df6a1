"""Member and pack text carried through the core as data: marked where it is put into a reply, escaped by
each renderer for its own platform, and cleaned on the way in.

The core writes replies in a small markup of its own (`code`, **bold**, *italic*) that every adapter
understands. Text a member typed, a display name a platform sent, or a content pack's question is not
markup: `verbatim(name)` wraps it in two private-use characters, and a renderer calls
`resolve(text, escape)` to replace each marked span with its platform's escaped form (Discord: markdown,
masked links and mentions; Slack: `&`, `<`, `>` and mrkdwn; console: nothing). The markers themselves can
never come from outside: `clean()` removes them, with control characters and lone surrogates, before
anything a member sends is stored or logged.
"""

from __future__ import annotations

import re
from collections.abc import Callable

# Private-use code points: no keyboard or platform produces them, and `clean` strips any that arrive.
OPEN = "\ue000"
CLOSE = "\ue001"
# A marked span; its group is the text inside the markers.
SPAN = re.compile(f"{OPEN}(.*?){CLOSE}", re.DOTALL)
_MARKERS = re.compile(f"[{OPEN}{CLOSE}]")
# C0 controls other than tab and newline, DEL, and the C1 range: terminals act on them (ESC starts an
# escape sequence), PostgreSQL refuses NUL, and CR/LF in a name would forge log lines.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_LINE_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_BREAKS = re.compile(r"[\t\n\r]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# A display name longer than this is cut: Discord allows 32 characters, Slack 80; nothing longer is a name.
MAX_NAME_CHARS = 80


def verbatim(text: str) -> str:
    """Mark `text` as data: shown exactly as written, never read as markup, links or mentions."""
    return OPEN + _MARKERS.sub("", text) + CLOSE


def resolve(text: str, escape: Callable[[str], str]) -> str:
    """`text` with every marked span replaced by `escape(span)` and any stray marker removed."""
    if OPEN not in text and CLOSE not in text:
        return text
    return _MARKERS.sub("", SPAN.sub(lambda m: escape(m.group(1)), text))


def split_spans(text: str) -> list[str]:
    """`text` in pieces: the even ones the core's own markup, the odd ones the text of marked spans."""
    return SPAN.split(text)


def plain(text: str) -> str:
    """`text` with the markers removed and the spans left as written (logs, CSV, the console)."""
    return resolve(text, lambda span: span)


def clean(text: str, *, single_line: bool = False) -> str:
    """`text` safe to store and log: lone surrogates replaced, control characters and markers dropped.

    `single_line` drops newlines and tabs too (names, reasons); notes keep them.
    """
    return (_LINE_CONTROL if single_line else _CONTROL).sub("", mend(text))


def mend(text: str) -> str:
    """`text` with lone surrogates replaced (UTF-8 cannot hold them) and markers dropped; controls kept."""
    return _MARKERS.sub("", _SURROGATE.sub("\ufffd", text))


def clean_name(name: str) -> str:
    """A display name fit to store and show: cleaned, on one line, at most MAX_NAME_CHARS, never empty."""
    # Line breaks and tabs become spaces (they separate words); other controls simply go.
    cleaned = " ".join(clean(_BREAKS.sub(" ", name), single_line=True).split())[:MAX_NAME_CHARS].strip()
    return cleaned or "someone"

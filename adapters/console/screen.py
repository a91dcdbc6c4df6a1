"""The console's one output: replies, posts and log records, each printed whole, never inside another.

Scheduled posts and log records arrive while a person is typing at the prompt (and log records from worker
threads at any moment), so every write goes through one lock: a reply is never split by a log line, and
what arrives at the prompt is printed above it, with the prompt and what was typed so far put back below.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TextIO

from rich.console import Console as RichConsole
from rich.console import RenderableType
from rich.text import Text

# Marks a log record among replies, so no one takes it for something studybot said in a channel.
LOG_PREFIX = "[log] "
LOG_FORMAT = "%(levelname)s %(name)s: %(message)s"
# Back to the start of the line and clear it: the prompt line, before printing above it.
_CLEAR_LINE = "\r\x1b[2K"


def _nothing_typed() -> str:
    return ""


class Screen:
    """Writes to the terminal (rich renderables) or to a pipe (plain lines), one whole block at a time."""

    def __init__(
        self, out: TextIO, *, interactive: bool, typed_so_far: Callable[[], str] = _nothing_typed
    ) -> None:
        self.out = out
        self.interactive = interactive
        self.typed_so_far = typed_so_far
        # The prompt while it is shown and waiting for a line (interactive only); None otherwise.
        self.prompt: str | None = None
        self._rich = RichConsole(file=out, highlight=False) if interactive else None
        self._lock = threading.RLock()

    @contextlib.contextmanager
    def _block(self) -> Iterator[None]:
        """Write one block: above the prompt when one is shown, and put the prompt back after it."""
        with self._lock:
            waiting = self.prompt if self.interactive else None
            if waiting is not None:
                self.out.write(_CLEAR_LINE)
            try:
                yield
            finally:
                if waiting is not None:
                    self.out.write(waiting + self.typed_so_far())
                self.out.flush()

    def say(self, text: str) -> None:
        """Print the console's own words (not a reply from studybot)."""
        with self._block():
            self._line(text)

    def block(self, lines: Sequence[str], renderables: Sequence[RenderableType] = ()) -> None:
        """Print a reply: `lines` for a pipe, or `renderables` (if given) on a terminal."""
        with self._block():
            if self._rich is not None and renderables:
                for part in renderables:
                    self._rich.print(part)
            else:
                for line in lines:
                    self._line(line)

    def log(self, text: str) -> None:
        """Print a log record, each of its lines marked as one."""
        lines = [LOG_PREFIX + line for line in text.splitlines() or [""]]
        with self._block():
            if self._rich is not None:
                self._rich.print(Text("\n".join(lines), style="dim"))
            else:
                for line in lines:
                    print(line, file=self.out)

    def _line(self, text: str) -> None:
        if self._rich is not None:
            self._rich.print(text, markup=False)
        else:
            print(text, file=self.out)


class ScreenLog(logging.Handler):
    """A logging handler that prints records through the screen, between replies and above the prompt."""

    def __init__(self, screen: Screen) -> None:
        super().__init__()
        self.screen = screen
        self.setFormatter(logging.Formatter(LOG_FORMAT))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:
            self.handleError(record)
            return
        self.screen.log(text)


@contextlib.contextmanager
def logs_on(screen: Screen) -> Iterator[ScreenLog]:
    """Send log records to `screen` instead of the terminal's standard streams while the console runs.

    The handlers replaced are the plain stream handlers on standard error or output (what
    `configure_logging` adds); their filters, the secret redaction among them, go on the new handler.
    """
    root = logging.getLogger()
    terminal = (sys.stderr, sys.stdout, sys.__stderr__, sys.__stdout__)
    muted = [
        h for h in root.handlers if type(h) is logging.StreamHandler and any(h.stream is s for s in terminal)
    ]
    handler = ScreenLog(screen)
    for each in dict.fromkeys(f for h in muted for f in h.filters):
        handler.addFilter(each)
    for h in muted:
        root.removeHandler(h)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for h in muted:
            root.addHandler(h)

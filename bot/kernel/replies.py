"""Small builders for the replies every feature uses."""

from __future__ import annotations

from bot.kernel.types import Reply


def error_reply(message: str, *, internal: bool = False) -> Reply:
    """A private, clearly marked error; nothing was changed. `internal`: studybot's fault, not theirs."""
    return Reply(text=f"⚠️ {message}", ephemeral=True, error=True, internal=internal)


def plural(n: int, word: str, many: str | None = None) -> str:
    return f"{n} {word if n == 1 else (many or word + 's')}"

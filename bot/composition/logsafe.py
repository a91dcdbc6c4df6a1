"""Logging set-up that keeps secrets out of the logs: tokens, signing secrets and passwords are redacted."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable
from typing import TextIO
from urllib.parse import unquote, urlsplit

from bot.composition.settings import Settings

REDACTED = "[redacted]"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# A configured value shorter than this is not redacted: no real credential is that short, and replacing
# a two-letter string everywhere would garble every record.
MIN_SECRET = 6
# `scheme://user:password@host`
_URL_PASSWORD = re.compile(r"(\b[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s'\"]*:)[^@\s'\"/]+(@)")
# A slash in a URL as libraries log it: plain, JSON-escaped (`\/`, as Slack writes its JSON, `\\/` in a
# repr), URL-encoded (`%2F`: a response_url in a form body, which bolt logs; `%5C%2F`: in the JSON of an
# interactive payload), or all that URL-encoded again.
_SLASH = r"(?:\\*/|(?:%5[cC])*%2[fF]|(?:%255[cC])*%252[fF])"
# Credentials studybot is not configured with but libraries log at DEBUG: another Slack token, the ticket
# in a Socket Mode URL, the token in a Discord interaction or webhook URL, a Slack response_url or incoming
# webhook (its last path segment), a password in a URL, a header or a payload field called token.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\b(?:xox[a-z](?:\.xox[a-z])?|xapp)-[A-Za-z0-9-]+"), REDACTED),
    (re.compile(r"((?:[?&]|%3[fF]|%26)ticket(?:=|%3[dD]))[^&%\s'\"]+"), rf"\1{REDACTED}"),
    (
        re.compile(rf"({_SLASH}(?:interactions|webhooks){_SLASH}\d+{_SLASH})[A-Za-z0-9_.-]+"),
        rf"\1{REDACTED}",
    ),
    (
        # The last segment only, so that redacting an already redacted line changes nothing.
        re.compile(
            rf"(hooks\.slack\.com(?:{_SLASH}[A-Za-z0-9_.-]+)*{_SLASH})[A-Za-z0-9]+"
            rf"(?![A-Za-z0-9_.-]|{_SLASH}[A-Za-z0-9_.\[-])"
        ),
        rf"\1{REDACTED}",
    ),
    (_URL_PASSWORD, rf"\1{REDACTED}\2"),
    (
        re.compile(
            r"""(authorization['"]?\s*[:=]\s*['"]?(?:bot|bearer|basic)\s+)[^'"\s,}]+""", re.IGNORECASE
        ),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"""(["']token["']\s*:\s*["'])[^"']+"""), rf"\1{REDACTED}"),
    (re.compile(r"(\btoken=)[^&\s'\"]+"), rf"\1{REDACTED}"),
)
_EXCEPTIONS = logging.Formatter()


class RedactSecrets(logging.Filter):
    """Rewrites each record it sees so that no secret is left in its message, arguments or traceback.

    Attached to handlers, so it covers every logger that reaches them, third parties' included. The
    record is changed in place (the message is rendered once, the traceback turned into text), so the
    handlers after this one see the redacted record too.
    """

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self.secrets: list[str] = []
        self.add(*secrets)

    def add(self, *secrets: str) -> None:
        """Redact these values too (empty and very short ones are ignored)."""
        known = set(self.secrets) | {s for s in secrets if len(s) >= MIN_SECRET}
        self.secrets = sorted(known, key=len, reverse=True)  # a secret containing another goes first

    def redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        for pattern, replacement in _PATTERNS:
            text = pattern.sub(replacement, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string; logging would print the arguments raw
            message = f"{record.msg} {record.args!r}"
        record.msg, record.args = self.redact(message), ()
        if "message" in record.__dict__:  # a handler before this one already formatted the record
            record.message = record.msg
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = _EXCEPTIONS.formatException(record.exc_info)
            # Formatters print exc_text when set; dropping exc_info keeps anyone from re-rendering the
            # exception, whose message may hold a secret, without redaction.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        return True


_SEPARATORS = {0x2028: "\\u2028", 0x2029: "\\u2029", 0x85: "\\u0085"}


class JsonLines(logging.Formatter):
    """One JSON object a line (STUDYBOT_LOG_FORMAT=json), for a log collector: time (UTC, ISO 8601), level,
    logger, message, and the traceback as `exception` when there is one. RedactSecrets has already run."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        # One line for any line splitter: the separators JSON may leave raw are escaped too.
        line = json.dumps(entry, ensure_ascii=False)
        return line.translate(_SEPARATORS)


def hide_password(url: str) -> str:
    """The URL with any password in it replaced, for messages (`postgresql://studybot:[redacted]@db/...`)."""
    return _URL_PASSWORD.sub(rf"\1{REDACTED}\2", url)


def secrets_of(settings: Settings) -> list[str]:
    """The secret values in the settings: platform tokens, the signing secret, the database password."""
    values = [
        settings.discord_token.get_secret_value(),
        settings.slack_bot_token.get_secret_value(),
        settings.slack_app_token.get_secret_value(),
        settings.slack_signing_secret.get_secret_value(),
        settings.github_token.get_secret_value(),
    ]
    try:
        password = urlsplit(settings.database_url).password
    except ValueError:
        password = None
    if password:
        values += [password, unquote(password)]
    return values


def configure_logging(settings: Settings, stream: TextIO | None = None) -> logging.Handler:
    """Log to `stream` (standard error) at the configured level, with secrets redacted.

    The redaction filter goes on every handler the root logger has now, this one included, so the records
    of the platform libraries, the HTTP client and the database layer are covered as well as studybot's
    own. Returns the handler added.
    """
    redactor = RedactSecrets(secrets_of(settings))
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines() if settings.log_format == "json" else logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    root.setLevel(settings.log_level.upper())
    root.addHandler(handler)
    for each in root.handlers:
        each.addFilter(redactor)
    return handler

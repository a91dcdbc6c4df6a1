"""Checks of a pack's entries: stage, resource and challenge fields (types, bounds, formats), references."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, cast
from urllib.parse import urlparse

from bot.catalog.model import LETTERS, LEVELS, RESOURCE_KINDS, Catalog, Challenge, Resource, Stage, Topic
from bot.kernel.untrusted import CLOSE, OPEN, clean

_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")

# Ids travel in button payloads, and Discord caps a custom_id at 100 characters (Slack: action_id 255,
# value 2,000). A payload is "study␟<command>␟<args joined by ␟>"; a community id is "<pack>:<id>". The
# longest two:
#   a review answer  "study␟answer␟A␟review:" (22) + pack (20) + ":" (1) + challenge id (40)        = 83
#   a topic learned  "study␟learned␟" (14) + pack (20) + ":" (1) + stage id (24) + "/" + topic id (32) = 92
# The longest built-in ids: resource 39, challenge 38, topic 24, stage 13.
ID_MAX = 40  # challenge and resource ids
STAGE_ID_MAX = 24
TOPIC_ID_MAX = 32
PACK_NAME_MAX = 20
# A reference may name another pack's id ("<pack>:<id>"); nothing longer can match anything.
REF_MAX = PACK_NAME_MAX + 1 + ID_MAX

# Text bounds, so each piece fits the slot it is shown in on both platforms (the renderers still shorten,
# visibly, a card that several long pieces fill). The built-in pack's longest is in brackets.
TITLE_MAX = 100  # a card title; Slack headers stop at 150, after a prefix like "📚 Daily quiz: " [94]
DESCRIPTION_MAX = 300  # a stage summary, a topic or resource description [232]
# A resource's description and URL share one Discord field value (1,024): 300 + 1 + 300 [129].
URL_MAX = 300
QUESTION_MAX = 1000  # [200]
OPTION_MAX = 200  # [113]
EXPLANATION_MAX = 1000  # [357]
# A quiz card (question, four lettered options) and its closing card (question, answer, explanation) stay
# under Slack's 3,000-character section: 1,000 + 4 x (200 + 4) < 1,000 + 200 + 1,000 + 20 < 3,000.
INSTRUCTIONS_MAX = 1500  # a task card is instructions and done_when: 1,500 + 500 + 12 < 3,000 [433]
DONE_WHEN_MAX = 500  # [164]
EXPECTED_MAX = 300  # a task's expected result, shown under its check-in
CHECK_MAX = 160  # one point of a task's reviewer checklist
CHECKLIST_MAX = 6  # points in a checklist
TOPICS_PER_STAGE_MAX = 12  # a stage card lists every topic on one line each [9]
TOPICS_PER_RESOURCE_MAX = 12  # [7]
RESOURCES_PER_CHALLENGE_MAX = 5  # a daily card lists them in one "Read up" field [3]
# A problem line quotes at most this much of a bad value: enough to find it, never a flood.
EXCERPT_CHARS = 60
# URLs are shown as links on every platform; these characters would end or change the link markup
# (Slack's <url|label>, Discord's masked links, HTML) or hide part of the URL from the reader.
# Besides what ends a link on Slack (<, >, |) or in text: markdown's brackets, parentheses, * and ~, since a
# URL is shown as it is in the core's markup ("Read up" fields) and a URL ending ")[Claim](https://..." would
# close one link and open another. A real URL percent-encodes them (%28, %29, %5B, %5D, %2A, %7E).
_URL_FORBIDDEN = re.compile(rf"[\s<>|\"'`\\\x00-\x1f\x7f-\x9f\[\]()*~{OPEN}{CLOSE}]")


def _excerpt(value: str) -> str:
    """Quote at most EXCERPT_CHARS of `value`, escaped, with an ellipsis when it was cut."""
    return repr(value[:EXCERPT_CHARS] + ("…" if len(value) > EXCERPT_CHARS else ""))


def _kind(value: object) -> str:
    """Name a YAML value's type the way a pack author writes it, without formatting the value."""
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, dt.date):
        return "a date"
    return "empty" if value is None else f"a {type(value).__name__}"


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        # ("challenge", id) -> "file: id", so reference problems name the file they come from.
        self.where: dict[tuple[str, str], str] = {}
        # What this directory has cost so far, against PACK_BYTES_MAX and ENTRIES_MAX.
        self.bytes_read = 0
        self.entries = 0

    def text(self, where: str, item: dict[str, Any], key: str, limit: int) -> str:
        value = item.get(key)
        if not isinstance(value, str):
            self.problems.append(f"{where}: `{key}` must be a non-empty string, not {_kind(value)}")
            return ""
        value = clean(value).strip()
        if not value:
            self.problems.append(f"{where}: `{key}` must be a non-empty string")
        elif len(value) > limit:
            self.problems.append(
                f"{where}: `{key}` {_excerpt(value)} is {len(value):,} characters; at most {limit:,}"
            )
            return ""
        return value

    def slug(self, where: str, item: dict[str, Any], limit: int, key: str = "id") -> str:
        value = self.text(where, item, key, limit)
        if value and not _SLUG.match(value):
            self.problems.append(
                f"{where}: `{key}` {_excerpt(value)} must be lowercase letters, digits and dashes"
            )
        return value

    def strings(self, where: str, item: dict[str, Any], key: str, limit: int, count: int) -> tuple[str, ...]:
        value = item.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.problems.append(f"{where}: `{key}` must be a non-empty list of strings")
            return ()
        if len(value) > count:
            self.problems.append(f"{where}: `{key}` lists {len(value):,}; at most {count}")
            return ()
        long = next((v for v in value if len(v.strip()) > limit), None)
        if long is not None:
            self.problems.append(f"{where}: `{key}`: {_excerpt(long)} is longer than {limit} characters")
            return ()
        return tuple(clean(v).strip() for v in value)


def _whole(value: object, low: int, high: int) -> bool:
    """Whether `value` is a whole number from `low` to `high` (YAML's true and false are not numbers)."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _stage(where: str, item: dict[str, Any], c: _Checker) -> Stage:
    weeks = item.get("weeks")
    if not _whole(weeks, 1, 52):
        c.problems.append(f"{where}: `weeks` must be a whole number of weeks from 1 to 52")
        weeks = 1
    topics = []
    raw_topics = item.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        c.problems.append(f"{where}: `topics` must be a non-empty list")
        raw_topics = []
    elif len(raw_topics) > TOPICS_PER_STAGE_MAX:
        c.problems.append(f"{where}: `topics` lists {len(raw_topics):,}; at most {TOPICS_PER_STAGE_MAX}")
        raw_topics = []
    seen: set[str] = set()
    for t in raw_topics:
        if not isinstance(t, dict):
            c.problems.append(f"{where}: a topic is not a mapping but {_kind(t)}")
            continue
        tid = c.slug(f"{where}/topic", t, TOPIC_ID_MAX)
        if tid in seen:
            c.problems.append(f"{where}: duplicate topic id {tid!r}")
        seen.add(tid)
        topics.append(
            Topic(
                tid,
                c.text(f"{where}/{tid}", t, "title", TITLE_MAX),
                c.text(f"{where}/{tid}", t, "description", DESCRIPTION_MAX),
            )
        )
    return Stage(
        c.slug(where, item, STAGE_ID_MAX),
        c.text(where, item, "title", TITLE_MAX),
        c.text(where, item, "summary", DESCRIPTION_MAX),
        cast(int, weeks),
        tuple(topics),
    )


def url_problem(url: str) -> str | None:
    """Why `url` cannot be shown as a link, or None when it can."""
    if len(url) > URL_MAX:
        return f"is {len(url):,} characters; at most {URL_MAX}"
    try:
        parsed = urlparse(url)
        host = parsed.hostname or ""
        parsed.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        return "is not a well-formed http(s) URL"
    if parsed.scheme not in ("https", "http") or "." not in host or " " in url:
        return "is not a well-formed http(s) URL"
    if _URL_FORBIDDEN.search(url):
        return (
            "has a space, quote, backslash, control character, `<`, `>`, `|`, `[`, `]`, `(`, `)`, `*` or "
            "`~`; a URL must be one plain link, so percent-encode them"
        )
    if parsed.username is not None or parsed.password is not None:
        return "has a user name before the host (`user@`), which hides where the link goes"
    return None


def same_page(url: str) -> str:
    """`url` reduced to the page it names, so two spellings of one page compare equal: scheme, case of the
    host, `www.`, a default port, the fragment, `utm_` tracking parameters, `index.html` and trailing
    slashes do not matter."""
    parsed = urlparse(url.strip())
    host = (parsed.hostname or "").lower().removeprefix("www.")
    if parsed.port not in (None, 80, 443):
        host = f"{host}:{parsed.port}"
    path = parsed.path.removesuffix("index.html").rstrip("/")
    query = "&".join(p for p in parsed.query.split("&") if p and not p.lower().startswith("utm_"))
    return f"{host}{path}" + (f"?{query}" if query else "")


def _resource(where: str, item: dict[str, Any], c: _Checker) -> Resource:
    url = c.text(where, item, "url", URL_MAX)
    problem = url_problem(url) if url else None
    if problem:
        c.problems.append(f"{where}: `url` {_excerpt(url)} {problem}")
        url = ""
    kind = c.text(where, item, "kind", ID_MAX)
    if kind and kind not in RESOURCE_KINDS:
        c.problems.append(f"{where}: `kind` must be one of {', '.join(RESOURCE_KINDS)}")
    level = c.text(where, item, "level", ID_MAX)
    if level and level not in LEVELS:
        c.problems.append(f"{where}: `level` must be one of {', '.join(LEVELS)}")
    free = item.get("free")
    if not isinstance(free, bool):
        c.problems.append(f"{where}: `free` must be true or false")
    return Resource(
        id=c.slug(where, item, ID_MAX),
        title=c.text(where, item, "title", TITLE_MAX),
        url=url,
        kind=kind,
        stage=c.text(where, item, "stage", REF_MAX),
        topics=c.strings(where, item, "topics", REF_MAX, TOPICS_PER_RESOURCE_MAX),
        level=level,
        free=bool(free),
        description=c.text(where, item, "description", DESCRIPTION_MAX),
        review_by=_review_by(where, item, c),
    )


def _review_by(where: str, item: dict[str, Any], c: _Checker) -> dt.date | None:
    """A resource's optional `review_by` date (YYYY-MM-DD)."""
    if "review_by" not in item:
        return None
    value = item["review_by"]
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    c.problems.append(f"{where}: `review_by` must be a date such as 2027-06-30, not {_excerpt(str(value))}")
    return None


def _challenge(where: str, item: dict[str, Any], c: _Checker) -> Challenge:
    kind = item.get("type")
    difficulty = item.get("difficulty")
    if not _whole(difficulty, 1, 3):
        c.problems.append(f"{where}: `difficulty` must be 1, 2 or 3")
        difficulty = 1
    common = dict(
        id=c.slug(where, item, ID_MAX),
        type=kind if isinstance(kind, str) else "",
        stage=c.text(where, item, "stage", REF_MAX),
        topic=c.text(where, item, "topic", REF_MAX),
        difficulty=difficulty,
        resources=c.strings(where, item, "resources", REF_MAX, RESOURCES_PER_CHALLENGE_MAX),
    )
    if kind == "quiz":
        options = c.strings(where, item, "options", OPTION_MAX, len(LETTERS))
        if options and len(options) != len(LETTERS):
            c.problems.append(f"{where}: a quiz needs exactly {len(LETTERS)} options, found {len(options)}")
        if len({o.casefold() for o in options}) != len(options):
            c.problems.append(f"{where}: duplicate options")
        raw_answer = item.get("answer")
        answer = raw_answer.strip().upper() if isinstance(raw_answer, str) else ""
        if not isinstance(raw_answer, str):
            c.problems.append(f"{where}: `answer` must be a letter A-D, not {_kind(raw_answer)}")
        elif answer not in LETTERS[: max(len(options), 1)]:
            c.problems.append(f"{where}: `answer` {_excerpt(raw_answer)} is out of range (A-D)")
        return Challenge(
            **common,  # type: ignore[arg-type]
            question=c.text(where, item, "question", QUESTION_MAX),
            options=options,
            answer=answer,
            explanation=c.text(where, item, "explanation", EXPLANATION_MAX),
        )
    if kind == "task":
        return Challenge(
            **common,  # type: ignore[arg-type]
            instructions=c.text(where, item, "instructions", INSTRUCTIONS_MAX),
            done_when=c.text(where, item, "done_when", DONE_WHEN_MAX),
            expected=c.text(where, item, "expected", EXPECTED_MAX) if "expected" in item else "",
            checklist=(
                c.strings(where, item, "checklist", CHECK_MAX, CHECKLIST_MAX) if "checklist" in item else ()
            ),
        )
    c.problems.append(f"{where}: `type` must be quiz or task")
    return Challenge(**common)  # type: ignore[arg-type]


def _check_references(catalog: Catalog, c: _Checker) -> None:
    stages = {s.id: s for s in catalog.stages}  # one lookup per entry, however many stages packs add
    for res in catalog.resources.values():
        where = c.where.get(("resource", res.id), res.id)
        stage = stages.get(res.stage)
        if stage is None:
            if res.stage:  # an empty one is reported where it was read
                c.problems.append(f"{where}: unknown stage {_excerpt(res.stage)}")
            continue
        topic_ids = {t.id for t in stage.topics}
        for t in res.topics:
            if t not in topic_ids:
                c.problems.append(f"{where}: unknown topic {_excerpt(t)} in stage {_excerpt(res.stage)}")
    for ch in catalog.challenges.values():
        where = c.where.get(("challenge", ch.id), ch.id)
        stage = stages.get(ch.stage)
        if stage is None:
            if ch.stage:  # an empty one is reported where it was read
                c.problems.append(f"{where}: unknown stage {_excerpt(ch.stage)}")
        elif ch.topic and ch.topic not in {t.id for t in stage.topics}:
            c.problems.append(f"{where}: unknown topic {_excerpt(ch.topic)} in stage {_excerpt(ch.stage)}")
        for rid in ch.resources:
            if rid not in catalog.resources:
                c.problems.append(f"{where}: unknown resource {_excerpt(rid)}")
    if not catalog.challenges:
        c.problems.append("content: no challenges found")

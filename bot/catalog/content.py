"""The roadmap content schema and its loader: stages, topics, resources and challenges from YAML.

Content packs are files written by people who may be careless or hostile, so the loader bounds what a file
can cost (its size, its number of values, its nesting; no YAML anchors, which let a small file expand
without limit), checks each value's type before using it, and quotes at most a short excerpt of a bad value
in a problem line.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from importlib import resources as importlib_resources
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

import yaml

from bot.kernel.untrusted import CLOSE, OPEN, clean

log = logging.getLogger(__name__)
T = TypeVar("T")

RESOURCE_KINDS = ("docs", "course", "book", "dataset", "tool", "practice", "certification", "community")
LEVELS = ("beginner", "intermediate", "advanced")
LETTERS = ("A", "B", "C", "D")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_PACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

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
TOPICS_PER_STAGE_MAX = 12  # a stage card lists every topic on one line each [9]
TOPICS_PER_RESOURCE_MAX = 12  # [7]
RESOURCES_PER_CHALLENGE_MAX = 5  # a daily card lists them in one "Read up" field [3]

# File and pack bounds: what one pack may cost to load, whatever is in it. The built-in pack is 0.3 MiB in
# 16 files (largest 70 KB, about 4,400 YAML values), with 464 entries.
FILE_BYTES_MAX = 1 << 20
PACK_BYTES_MAX = 4 << 20
CHALLENGE_FILES_MAX = 100
ENTRIES_MAX = 5000  # stages, resources and challenges of one pack together
# Loading costs about 350 bytes per YAML value (node, marks, object), so one file stays under ~20 MB.
VALUES_PER_FILE_MAX = 50_000
NESTING_MAX = 10  # the schema nests 5 deep (stages > list > stage > topics > topic)
# A problem line quotes at most this much of a bad value: enough to find it, never a flood.
EXCERPT_CHARS = 60
# A YAML syntax error keeps its quoted line and caret (PyYAML cuts the quote to about 80 characters), but
# not a tag or token of any length it names.
YAML_ERROR_LINE_MAX = 120
YAML_ERROR_LINES_MAX = 12
# URLs are shown as links on every platform; these characters would end or change the link markup
# (Slack's <url|label>, Discord's masked links, HTML) or hide part of the URL from the reader.
# Besides what ends a link on Slack (<, >, |) or in text: markdown's brackets, parentheses, * and ~, since a
# URL is shown as it is in the core's markup ("Read up" fields) and a URL ending ")[Claim](https://..." would
# close one link and open another. A real URL percent-encodes them (%28, %29, %5B, %5D, %2A, %7E).
_URL_FORBIDDEN = re.compile(rf"[\s<>|\"'`\\\x00-\x1f\x7f-\x9f\[\]()*~{OPEN}{CLOSE}]")


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    description: str


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    summary: str
    weeks: int
    topics: tuple[Topic, ...]


@dataclass(frozen=True)
class Resource:
    id: str
    title: str
    url: str
    kind: str
    stage: str
    topics: tuple[str, ...]
    level: str
    free: bool
    description: str


@dataclass(frozen=True)
class Challenge:
    """A quiz (question, four options, answer letter, explanation) or a practical task."""

    id: str
    type: str  # "quiz" or "task"
    stage: str
    topic: str
    difficulty: int
    resources: tuple[str, ...]
    question: str = ""
    options: tuple[str, ...] = ()
    answer: str = ""
    explanation: str = ""
    instructions: str = ""
    done_when: str = ""

    @property
    def is_quiz(self) -> bool:
        return self.type == "quiz"

    def quiz_text(self) -> str:
        """The question and its lettered options."""
        options = "\n".join(
            f"{letter}) {option}" for letter, option in zip(LETTERS, self.options, strict=True)
        )
        return f"{self.question}\n\n{options}"

    def answer_text(self) -> str:
        """The right option with its letter, e.g. `C) 3.5`."""
        return f"{self.answer}) {self.options[LETTERS.index(self.answer)]}"


@dataclass
class Catalog:
    """All content, in roadmap order, with lookups by id."""

    stages: list[Stage] = field(default_factory=list)
    resources: dict[str, Resource] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)
    # Indexes built from the content (search, autocomplete), kept with it so each is built once.
    indexes: dict[str, object] = field(default_factory=dict, repr=False, compare=False)

    def index(self, name: str, build: Callable[[Catalog], T]) -> T:
        """The index called `name`, built by `build(self)` the first time it is asked for."""
        if name not in self.indexes:
            self.indexes[name] = build(self)
        return cast(T, self.indexes[name])

    def stage(self, stage_id: str) -> Stage | None:
        return next((s for s in self.stages if s.id == stage_id), None)

    def is_quiz(self, challenge_id: str) -> bool:
        """Whether `challenge_id` is a quiz of this catalog (a pack reload may have dropped it)."""
        challenge = self.challenges.get(challenge_id)
        return challenge is not None and challenge.is_quiz

    def ordered_challenges(self) -> list[Challenge]:
        """Challenges in roadmap order: by stage, then by id."""
        rank = {s.id: i for i, s in enumerate(self.stages)}
        return sorted(self.challenges.values(), key=lambda c: (rank.get(c.stage, len(rank)), c.id))


# Problem lines shown for one pack: enough to fix a pack by, while a generated file with thousands of bad
# entries does not print megabytes (or log them as one record at every start and reload).
PROBLEMS_SHOWN = 100


def shown_problems(problems: Sequence[str]) -> list[str]:
    """The first PROBLEMS_SHOWN problems, and a line saying how many more there are."""
    if len(problems) <= PROBLEMS_SHOWN:
        return list(problems)
    more = len(problems) - PROBLEMS_SHOWN
    return [*problems[:PROBLEMS_SHOWN], f"... and {more:,} more problem(s) like these; fix those above first"]


def problem_report(problems: Sequence[str], indent: str = "") -> str:
    """The shown problems one a line, each `indent`ed; a problem's own further lines (a YAML error's
    quoted line and caret) indented further, so every problem still starts a line of its own."""
    return "\n".join(
        indent + problem.replace("\n", "\n" + indent + "    ") for problem in shown_problems(problems)
    )


class ContentError(Exception):
    """The content failed validation; `problems` lists 'file: id: reason' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} content problem(s):\n" + problem_report(problems))
        self.problems = problems


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


class _Refused(Exception):
    """A pack file uses YAML the loader will not build (anchors, deep nesting, too many values)."""

    def __init__(self, event: yaml.Event, reason: str) -> None:
        mark = event.start_mark
        super().__init__(f"line {mark.line + 1}: {reason}" if mark else reason)


_NODE_STARTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent)
_NODE_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _check_events(events: Iterator[yaml.Event]) -> None:
    """Refuse anchors, aliases, nesting deeper than NESTING_MAX and over VALUES_PER_FILE_MAX values."""
    # The parser's events cost nothing to keep, and nothing is built from them until they all pass.
    depth = values = 0
    for event in events:
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(
                event,
                f"alias *{(event.anchor or '')[:EXCERPT_CHARS]}: YAML anchors and aliases are not allowed in "
                "content packs (they let a small file expand without limit); write the value out",
            )
        if not isinstance(event, _NODE_STARTS):
            depth -= isinstance(event, _NODE_ENDS)
            continue
        if event.anchor is not None:
            raise _Refused(
                event,
                f"anchor &{event.anchor[:EXCERPT_CHARS]}: YAML anchors and aliases are not allowed in "
                "content packs (they let a small file expand without limit); write the value out",
            )
        values += 1
        if values > VALUES_PER_FILE_MAX:
            raise _Refused(event, f"more than {VALUES_PER_FILE_MAX:,} values; split the file")
        depth += not isinstance(event, yaml.ScalarEvent)
        if depth > NESTING_MAX:
            raise _Refused(event, f"nested more than {NESTING_MAX} levels deep")


def _load_checked(text: str, loader_class: type[yaml.SafeLoader] | type[yaml.CSafeLoader]) -> Any:
    _check_events(yaml.parse(text, Loader=loader_class))
    loader = loader_class(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def _safe_load(text: str) -> Any:
    """Load `text` as yaml.safe_load would, refusing what _check_events refuses.

    libyaml (CSafeLoader, about 3x faster) parses when PyYAML was built with it. Both loaders build the
    same objects. libyaml's errors give the line and column but do not quote the line, so on an error the
    text is parsed again by the pure-Python loader: its error (or, should it accept what libyaml refused,
    its result) is exactly what yaml.safe_load gives. The pure-Python composer recurses once per level of
    nesting, which the check before it bounds.
    """
    if yaml.__with_libyaml__:
        try:
            return _load_checked(text, yaml.CSafeLoader)
        except yaml.YAMLError:
            pass
    return _load_checked(text, yaml.SafeLoader)


_UNREADABLE = object()


def _yaml_error(exc: yaml.YAMLError) -> str:
    """PyYAML's message, each line cut to YAML_ERROR_LINE_MAX: it quotes tags and tokens whole."""
    lines = str(exc).splitlines()[:YAML_ERROR_LINES_MAX]
    return "\n".join(
        line if len(line) <= YAML_ERROR_LINE_MAX else line[:YAML_ERROR_LINE_MAX] + "…" for line in lines
    )


def _read_file(path: Path, checker: _Checker) -> Any:
    """The YAML data in `path`, or _UNREADABLE with the reason added to `checker.problems`."""
    if checker.bytes_read > PACK_BYTES_MAX:
        return _UNREADABLE  # already reported
    if not path.is_file():
        checker.problems.append(f"{path.name}: not a regular file")
        return _UNREADABLE
    try:
        with path.open("rb") as f:
            raw = f.read(FILE_BYTES_MAX + 1)
    except OSError as exc:
        checker.problems.append(f"{path.name}: cannot read: {exc.strerror}")
        return _UNREADABLE
    if len(raw) > FILE_BYTES_MAX:
        checker.problems.append(
            f"{path.name}: larger than {FILE_BYTES_MAX >> 20} MiB; a pack file may be at most "
            f"{FILE_BYTES_MAX:,} bytes, so split it"
        )
        return _UNREADABLE
    checker.bytes_read += len(raw)
    if checker.bytes_read > PACK_BYTES_MAX:
        checker.problems.append(
            f"{path.name}: the pack's files come to more than {PACK_BYTES_MAX >> 20} MiB, the most a pack "
            "may hold; split it into several packs"
        )
        return _UNREADABLE
    try:
        return _safe_load(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        checker.problems.append(f"{path.name}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8")
    except _Refused as exc:
        checker.problems.append(f"{path.name}: {exc}")
    except yaml.YAMLError as exc:
        checker.problems.append(f"{path.name}: cannot read: {_yaml_error(exc)}")
    except (ValueError, OverflowError) as exc:
        # A value YAML reads as a date or a number that cannot be one: 2026-13-45, 5,000 digits.
        checker.problems.append(f"{path.name}: cannot read: {_excerpt(str(exc))}; quote the value")
    return _UNREADABLE


def _read(path: Path, key: str, checker: _Checker) -> list[tuple[str, dict[str, Any]]]:
    data = _read_file(path, checker)
    if data is _UNREADABLE:
        return []
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        checker.problems.append(f"{path.name}: expected a top-level `{key}:` list")
        return []
    checker.entries += len(items)
    if checker.entries > ENTRIES_MAX:
        checker.problems.append(
            f"{path.name}: the pack has more than {ENTRIES_MAX:,} stages, resources and challenges, the "
            "most a pack may hold; split it into several packs"
        )
        return []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            checker.problems.append(f"{path.name}: entry {i + 1} is not a mapping but {_kind(item)}")
            continue
        # Only an id that is a short slug names the entry; any other is reported by the id check itself.
        item_id = item.get("id")
        good = isinstance(item_id, str) and len(item_id) <= ID_MAX and _SLUG.match(item_id)
        out.append((f"{path.name}: {item_id if good else f'entry {i + 1}'}", item))
    return out


def builtin_content_dir() -> Path:
    """The content pack shipped inside the package."""
    return Path(str(importlib_resources.files("content")))


def load_catalog(directories: Iterable[Path] | None = None, community: Iterable[Path] = ()) -> Catalog:
    """Load and validate content; raise ContentError listing every problem found.

    `directories` (default: the built-in pack) are merged as they are. Each `community` directory is a
    pack of the same format merged over them, its ids prefixed with `<directory name>:` so they cannot
    clash; inside such a pack a reference means the pack's own id where it has one, else the built-in id.
    """
    parts = [_parse(d) for d in _base_dirs(directories)] + [_parse_community(d) for d in community]
    catalog, problems = _combine(parts)
    if problems:
        raise ContentError(problems)
    _log_loaded(catalog)
    return catalog


def load_catalog_keeping_good(
    community: Iterable[Path], directories: Iterable[Path] | None = None
) -> tuple[Catalog, dict[Path, list[str]]]:
    """Load the built-in pack and every community pack that is valid; refuse the others.

    Returns the catalog and, for each refused pack, its problems. Each pack is checked against the
    built-in pack and the packs accepted before it, so a pack that clashes with an earlier one is the one
    refused. The built-in pack (`directories`) having problems still raises ContentError: there is
    nothing good to fall back on.
    """
    base = [_parse(d) for d in _base_dirs(directories)]
    catalog, problems = _combine(base)
    if problems:
        raise ContentError(problems)
    accepted: list[_Part] = []
    names: dict[str, Path] = {}
    refused: dict[Path, list[str]] = {}
    for directory in community:
        part = _parse_community(directory)
        if directory.name in names:
            # Checked against the built-in pack alone, so its own problems are listed too, every one at
            # once, rather than a clash of each of its ids with the pack of the same name.
            _, problems = _combine([*base, part])
            refused[directory] = [
                f"{directory}: a pack named {_excerpt(directory.name)} is already loaded from "
                f"{names[directory.name]}; rename one (a pack's ids are prefixed with its directory name)",
                *problems,
            ]
            continue
        trial, problems = _combine([*base, *accepted, part])
        if problems:
            refused[directory] = problems
            continue
        accepted.append(part)
        names[directory.name] = directory
        catalog = trial
    _log_loaded(catalog)
    return catalog, refused


def _log_loaded(catalog: Catalog) -> None:
    log.info(
        "content: %d stages, %d resources, %d challenges",
        len(catalog.stages),
        len(catalog.resources),
        len(catalog.challenges),
    )


def _base_dirs(directories: Iterable[Path] | None) -> list[Path]:
    return list(directories) if directories is not None else [builtin_content_dir()]


@dataclass
class _Part:
    """One directory's content as read, with the problems found in it alone."""

    catalog: Catalog
    checker: _Checker


def _parse(directory: Path) -> _Part:
    checker = _Checker()
    return _Part(_load_dir(directory, checker), checker)


def _parse_community(directory: Path) -> _Part:
    """A community pack, checked whole: a bad directory name does not hide the problems of its files."""
    checker = _Checker()
    if not directory.is_dir():
        checker.problems.append(f"{directory}: not a directory")
        return _Part(Catalog(), checker)
    if len(directory.name) > PACK_NAME_MAX or not _PACK_NAME.match(directory.name):
        checker.problems.append(
            f"{directory}: a pack's directory name must be 1 to {PACK_NAME_MAX} lowercase letters, digits, "
            "'-' or '_' (its ids are prefixed with it, and every id must fit in a button); rename it"
        )
    pack = _load_dir(directory, checker)
    if not (pack.stages or pack.resources or pack.challenges) and not checker.problems:
        # Most likely the wrong directory, or files named so the loader never sees them (.yml, challenge/).
        checker.problems.append(
            f"{directory}: an empty pack: no entries in stages.yaml, resources.yaml or challenges/*.yaml; "
            "check the directory and the file names"
        )
    return _Part(_namespaced(pack, directory.name, checker), checker)


def _combine(parts: Iterable[_Part]) -> tuple[Catalog, list[str]]:
    """Merge parts in order into a new catalog and check it whole; return it with every problem found."""
    checker = _Checker()
    catalog = Catalog()
    for part in parts:
        checker.problems += part.checker.problems
        checker.where |= part.checker.where
        _merge(catalog, part.catalog, checker)
    _check_references(catalog, checker)
    return catalog, checker.problems


def _load_dir(directory: Path, checker: _Checker) -> Catalog:
    pack = Catalog()
    stages_file = directory / "stages.yaml"
    if stages_file.exists():
        for where, item in _read(stages_file, "stages", checker):
            stage = _stage(where, item, checker)
            if pack.stage(stage.id):  # a linear lookup: ENTRIES_MAX bounds the stages
                checker.problems.append(f"{where}: duplicate stage id")
            else:
                checker.where[("stage", stage.id)] = where
                pack.stages.append(stage)
    resources_file = directory / "resources.yaml"
    if resources_file.exists():
        urls: dict[str, str] = {}
        for where, item in _read(resources_file, "resources", checker):
            res = _resource(where, item, checker)
            if res.id in pack.resources:
                checker.problems.append(f"{where}: duplicate resource id")
            same = urls.setdefault(res.url.rstrip("/"), res.id) if res.url else res.id
            if same != res.id:
                checker.problems.append(f"{where}: the same URL as resource {same!r}; cite that one instead")
            checker.where[("resource", res.id)] = where
            pack.resources[res.id] = res
    paths = list(islice((directory / "challenges").glob("*.yaml"), CHALLENGE_FILES_MAX + 1))
    if len(paths) > CHALLENGE_FILES_MAX:
        checker.problems.append(
            f"challenges: more than {CHALLENGE_FILES_MAX} files, the most a pack may hold; "
            "merge some or split the pack"
        )
        paths = []
    for path in sorted(paths):
        for where, item in _read(path, "challenges", checker):
            ch = _challenge(where, item, checker)
            if ch.id in pack.challenges:
                checker.problems.append(f"{where}: duplicate challenge id")
            checker.where[("challenge", ch.id)] = where
            pack.challenges[ch.id] = ch
    return pack


def _namespaced(pack: Catalog, namespace: str, checker: _Checker) -> Catalog:
    """Prefix a community pack's ids with its namespace, and its references to its own ids."""
    stages = {s.id for s in pack.stages}

    def sid(stage_id: str) -> str:
        return f"{namespace}:{stage_id}" if stage_id in stages else stage_id

    def rids(ids: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(f"{namespace}:{r}" if r in pack.resources else r for r in ids)

    out = Catalog()
    for s in pack.stages:
        out.stages.append(replace(s, id=sid(s.id)))
        checker.where[("stage", sid(s.id))] = checker.where.get(("stage", s.id), s.id)
    for r in pack.resources.values():
        new = replace(r, id=f"{namespace}:{r.id}", stage=sid(r.stage))
        checker.where[("resource", new.id)] = checker.where.get(("resource", r.id), r.id)
        out.resources[new.id] = new
    for c in pack.challenges.values():
        new_c = replace(c, id=f"{namespace}:{c.id}", stage=sid(c.stage), resources=rids(c.resources))
        checker.where[("challenge", new_c.id)] = checker.where.get(("challenge", c.id), c.id)
        out.challenges[new_c.id] = new_c
    return out


def _merge(catalog: Catalog, pack: Catalog, checker: _Checker) -> None:
    for stage in pack.stages:
        if catalog.stage(stage.id):
            checker.problems.append(f"{checker.where.get(('stage', stage.id), stage.id)}: duplicate stage id")
        else:
            catalog.stages.append(stage)
    for rid, res in pack.resources.items():
        if rid in catalog.resources:
            checker.problems.append(f"{checker.where.get(('resource', rid), rid)}: duplicate resource id")
        catalog.resources[rid] = res
    for cid, ch in pack.challenges.items():
        if cid in catalog.challenges:
            checker.problems.append(f"{checker.where.get(('challenge', cid), cid)}: duplicate challenge id")
        catalog.challenges[cid] = ch


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


def _url_problem(url: str) -> str | None:
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


def _resource(where: str, item: dict[str, Any], c: _Checker) -> Resource:
    url = c.text(where, item, "url", URL_MAX)
    problem = _url_problem(url) if url else None
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
    )


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

"""The roadmap content schema and its loader: stages, topics, resources and challenges from YAML."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from importlib import resources as importlib_resources
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlparse

import yaml

log = logging.getLogger(__name__)
T = TypeVar("T")

RESOURCE_KINDS = ("docs", "course", "book", "dataset", "tool", "practice", "certification", "community")
LEVELS = ("beginner", "intermediate", "advanced")
LETTERS = ("A", "B", "C", "D")
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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

    def ordered_challenges(self) -> list[Challenge]:
        """Challenges in roadmap order: by stage, then by id."""
        rank = {s.id: i for i, s in enumerate(self.stages)}
        return sorted(self.challenges.values(), key=lambda c: (rank.get(c.stage, len(rank)), c.id))


class ContentError(Exception):
    """The content failed validation; `problems` lists 'file: id: reason' lines."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(f"{len(problems)} content problem(s):\n" + "\n".join(problems))
        self.problems = problems


class _Checker:
    def __init__(self) -> None:
        self.problems: list[str] = []
        # ("challenge", id) -> "file: id", so reference problems name the file they come from.
        self.where: dict[tuple[str, str], str] = {}

    def text(self, where: str, item: dict[str, Any], key: str) -> str:
        value = item.get(key)
        if not isinstance(value, str) or not value.strip():
            self.problems.append(f"{where}: `{key}` must be a non-empty string")
            return ""
        return value.strip()

    def slug(self, where: str, item: dict[str, Any], key: str = "id") -> str:
        value = self.text(where, item, key)
        if value and not _SLUG.match(value):
            self.problems.append(f"{where}: `{key}` {value!r} must be lowercase letters, digits and dashes")
        return value

    def strings(self, where: str, item: dict[str, Any], key: str) -> tuple[str, ...]:
        value = item.get(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            self.problems.append(f"{where}: `{key}` must be a non-empty list of strings")
            return ()
        return tuple(v.strip() for v in value)


def _safe_load(text: str) -> Any:
    """`yaml.safe_load(text)`, parsed by libyaml (CSafeLoader, about 3x faster) when PyYAML was built with it.

    Both loaders build the same objects. libyaml's errors give the line and column but do not quote the
    line, so on an error the text is parsed again by the pure-Python loader: its error (or, should it
    accept what libyaml refused, its result) is exactly what yaml.safe_load gives.
    """
    if not yaml.__with_libyaml__:
        return yaml.safe_load(text)
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return yaml.safe_load(text)


def _read(path: Path, key: str, checker: _Checker) -> list[tuple[str, dict[str, Any]]]:
    try:
        data = _safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        checker.problems.append(f"{path.name}: not UTF-8 text (byte {exc.start + 1}); save it as UTF-8")
        return []
    except (OSError, yaml.YAMLError) as exc:
        checker.problems.append(f"{path.name}: cannot read: {exc}")
        return []
    items = data.get(key) if isinstance(data, dict) else None
    if not isinstance(items, list):
        checker.problems.append(f"{path.name}: expected a top-level `{key}:` list")
        return []
    out = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            checker.problems.append(f"{path.name}: entry {i + 1} is not a mapping")
            continue
        out.append((f"{path.name}: {item.get('id', f'entry {i + 1}')}", item))
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
        if directory.name in names:
            refused[directory] = [
                f"{directory}: a pack named {directory.name!r} is already loaded from "
                f"{names[directory.name]}; rename one (a pack's ids are prefixed with its directory name)"
            ]
            continue
        part = _parse_community(directory)
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
    checker = _Checker()
    if not directory.is_dir():
        checker.problems.append(f"{directory}: not a directory")
        return _Part(Catalog(), checker)
    return _Part(_namespaced(_load_dir(directory, checker), directory.name, checker), checker)


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
            if pack.stage(stage.id):
                checker.problems.append(f"{where}: duplicate stage id")
            else:
                checker.where[("stage", stage.id)] = where
                pack.stages.append(stage)
    resources_file = directory / "resources.yaml"
    if resources_file.exists():
        for where, item in _read(resources_file, "resources", checker):
            res = _resource(where, item, checker)
            if res.id in pack.resources:
                checker.problems.append(f"{where}: duplicate resource id")
            same = next(
                (r.id for r in pack.resources.values() if r.url.rstrip("/") == res.url.rstrip("/")), None
            )
            if same:
                checker.problems.append(f"{where}: the same URL as resource {same!r}; cite that one instead")
            checker.where[("resource", res.id)] = where
            pack.resources[res.id] = res
    for path in sorted((directory / "challenges").glob("*.yaml")):
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


def _stage(where: str, item: dict[str, Any], c: _Checker) -> Stage:
    weeks = item.get("weeks")
    if not isinstance(weeks, int) or not 1 <= weeks <= 52:
        c.problems.append(f"{where}: `weeks` must be a whole number of weeks from 1 to 52")
        weeks = 1
    topics = []
    raw_topics = item.get("topics")
    if not isinstance(raw_topics, list) or not raw_topics:
        c.problems.append(f"{where}: `topics` must be a non-empty list")
        raw_topics = []
    seen: set[str] = set()
    for t in raw_topics:
        if not isinstance(t, dict):
            c.problems.append(f"{where}: a topic is not a mapping")
            continue
        tid = c.slug(f"{where}/topic", t)
        if tid in seen:
            c.problems.append(f"{where}: duplicate topic id {tid!r}")
        seen.add(tid)
        topics.append(
            Topic(tid, c.text(f"{where}/{tid}", t, "title"), c.text(f"{where}/{tid}", t, "description"))
        )
    return Stage(
        c.slug(where, item),
        c.text(where, item, "title"),
        c.text(where, item, "summary"),
        weeks,
        tuple(topics),
    )


def _resource(where: str, item: dict[str, Any], c: _Checker) -> Resource:
    url = c.text(where, item, "url")
    parsed = urlparse(url)
    if url and (parsed.scheme not in ("https", "http") or "." not in parsed.netloc or " " in url):
        c.problems.append(f"{where}: `url` {url!r} is not a well-formed http(s) URL")
    kind = c.text(where, item, "kind")
    if kind and kind not in RESOURCE_KINDS:
        c.problems.append(f"{where}: `kind` must be one of {', '.join(RESOURCE_KINDS)}")
    level = c.text(where, item, "level")
    if level and level not in LEVELS:
        c.problems.append(f"{where}: `level` must be one of {', '.join(LEVELS)}")
    free = item.get("free")
    if not isinstance(free, bool):
        c.problems.append(f"{where}: `free` must be true or false")
    return Resource(
        id=c.slug(where, item),
        title=c.text(where, item, "title"),
        url=url,
        kind=kind,
        stage=c.text(where, item, "stage"),
        topics=c.strings(where, item, "topics"),
        level=level,
        free=bool(free),
        description=c.text(where, item, "description"),
    )


def _challenge(where: str, item: dict[str, Any], c: _Checker) -> Challenge:
    kind = item.get("type")
    difficulty = item.get("difficulty")
    if not isinstance(difficulty, int) or difficulty not in (1, 2, 3):
        c.problems.append(f"{where}: `difficulty` must be 1, 2 or 3")
        difficulty = 1
    common = dict(
        id=c.slug(where, item),
        type=str(kind),
        stage=c.text(where, item, "stage"),
        topic=c.text(where, item, "topic"),
        difficulty=difficulty,
        resources=c.strings(where, item, "resources"),
    )
    if kind == "quiz":
        options = c.strings(where, item, "options")
        if options and len(options) != len(LETTERS):
            c.problems.append(f"{where}: a quiz needs exactly {len(LETTERS)} options, found {len(options)}")
        if len({o.casefold() for o in options}) != len(options):
            c.problems.append(f"{where}: duplicate options")
        answer = str(item.get("answer", "")).strip().upper()
        if answer not in LETTERS[: max(len(options), 1)]:
            c.problems.append(f"{where}: `answer` {item.get('answer')!r} is out of range (A-D)")
        return Challenge(
            **common,  # type: ignore[arg-type]
            question=c.text(where, item, "question"),
            options=options,
            answer=answer,
            explanation=c.text(where, item, "explanation"),
        )
    if kind == "task":
        return Challenge(
            **common,  # type: ignore[arg-type]
            instructions=c.text(where, item, "instructions"),
            done_when=c.text(where, item, "done_when"),
        )
    c.problems.append(f"{where}: `type` must be quiz or task")
    return Challenge(**common)  # type: ignore[arg-type]


def _check_references(catalog: Catalog, c: _Checker) -> None:
    for res in catalog.resources.values():
        where = c.where.get(("resource", res.id), res.id)
        stage = catalog.stage(res.stage)
        if stage is None:
            c.problems.append(f"{where}: unknown stage {res.stage!r}")
            continue
        topic_ids = {t.id for t in stage.topics}
        for t in res.topics:
            if t not in topic_ids:
                c.problems.append(f"{where}: unknown topic {t!r} in stage {res.stage!r}")
    for ch in catalog.challenges.values():
        where = c.where.get(("challenge", ch.id), ch.id)
        stage = catalog.stage(ch.stage)
        if stage is None:
            c.problems.append(f"{where}: unknown stage {ch.stage!r}")
        elif ch.topic not in {t.id for t in stage.topics}:
            c.problems.append(f"{where}: unknown topic {ch.topic!r} in stage {ch.stage!r}")
        for rid in ch.resources:
            if rid not in catalog.resources:
                c.problems.append(f"{where}: unknown resource {rid!r}")
    if not catalog.challenges:
        c.problems.append("content: no challenges found")

"""Loading content packs: stages, topics, resources and challenges read from YAML, checked, into a Catalog.

Content packs are files written by people who may be careless or hostile, so the loader bounds what a file
can cost (its size, its number of values, its nesting; no YAML anchors, which let a small file expand
without limit), checks each value's type before using it, and quotes at most a short excerpt of a bad value
in a problem line.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from importlib import resources as importlib_resources
from itertools import islice
from pathlib import Path
from typing import Any

import yaml

from bot.catalog.checks import (
    _SLUG,
    EXCERPT_CHARS,
    ID_MAX,
    PACK_NAME_MAX,
    _challenge,
    _check_references,
    _Checker,
    _excerpt,
    _kind,
    _resource,
    _stage,
    same_page,
)
from bot.catalog.model import Catalog

log = logging.getLogger(__name__)

_PACK_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")

# File and pack bounds: what one pack may cost to load, whatever is in it. The built-in pack is 0.3 MiB in
# 16 files (largest 70 KB, about 4,400 YAML values), with 464 entries.
FILE_BYTES_MAX = 1 << 20
PACK_BYTES_MAX = 4 << 20
CHALLENGE_FILES_MAX = 100
ENTRIES_MAX = 5000  # stages, resources and challenges of one pack together
# Loading costs about 350 bytes per YAML value (node, marks, object), so one file stays under ~20 MB.
VALUES_PER_FILE_MAX = 50_000
NESTING_MAX = 10  # the schema nests 5 deep (stages > list > stage > topics > topic)
# A YAML syntax error keeps its quoted line and caret (PyYAML cuts the quote to about 80 characters), but
# not a tag or token of any length it names.
YAML_ERROR_LINE_MAX = 120
YAML_ERROR_LINES_MAX = 12


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
    urls: dict[str, str] = {}
    resource_files = [directory / "resources.yaml", *_yaml_files(directory, "resources", checker)]
    for path in (p for p in resource_files if p.exists()):
        for where, item in _read(path, "resources", checker):
            res = _resource(where, item, checker)
            if res.id in pack.resources:
                checker.problems.append(f"{where}: duplicate resource id")
            same = urls.setdefault(same_page(res.url), res.id) if res.url else res.id
            if same != res.id:
                checker.problems.append(f"{where}: the same URL as resource {same!r}; cite that one instead")
            checker.where[("resource", res.id)] = where
            pack.resources[res.id] = res
    for path in _yaml_files(directory, "challenges", checker):
        for where, item in _read(path, "challenges", checker):
            ch = _challenge(where, item, checker)
            if ch.id in pack.challenges:
                checker.problems.append(f"{where}: duplicate challenge id")
            checker.where[("challenge", ch.id)] = where
            pack.challenges[ch.id] = ch
    return pack


def _yaml_files(directory: Path, sub: str, checker: _Checker) -> list[Path]:
    """The `*.yaml` files of `directory/sub`, sorted; none (and a problem) past CHALLENGE_FILES_MAX."""
    paths = list(islice((directory / sub).glob("*.yaml"), CHALLENGE_FILES_MAX + 1))
    if len(paths) > CHALLENGE_FILES_MAX:
        checker.problems.append(
            f"{sub}: more than {CHALLENGE_FILES_MAX} files, the most a pack may hold; "
            "merge some or split the pack"
        )
        return []
    return sorted(paths)


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

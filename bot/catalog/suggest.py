"""Autocomplete over the catalog: stages, topics, resources and kinds by prefix, and searches to run.

Autocomplete offers stages, topics, resources and kinds by prefix, and for a search the topic and resource
titles that complete what has been typed (or, for a typo, what the search finds).

Every step is bounded whatever a member types: autocomplete ignores a prefix longer than MAX_PREFIX_CHARS
and narrows a search by its first MAX_SUGGEST_WORDS words.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.catalog.model import RESOURCE_KINDS, Catalog, Resource
from bot.catalog.search import _WORD, ResourceSearch, split_filters

SUGGEST_LIMIT = 25  # Discord's cap on autocomplete choices
# Words of a half-typed search that narrow its autocomplete: a few say which titles are meant, and each
# costs a pass over every title on every keystroke.
MAX_SUGGEST_WORDS = 5
# Autocomplete prefixes longer than this complete nothing: Discord caps a choice's name and value at 100
# characters, and Discord sends the text typed so far (up to 6,000 characters) on every keystroke.
MAX_PREFIX_CHARS = 100


@dataclass
class Searchable:
    """A title autocomplete may offer as a search: its words, and the stages and kinds it is found in."""

    words: tuple[str, ...]
    stages: set[str] = field(default_factory=set)
    kinds: set[str] = field(default_factory=set)

    def add(self, resource: Resource) -> None:
        self.stages.add(resource.stage)
        self.kinds.add(resource.kind)


@dataclass(frozen=True)
class Choice:
    """An autocomplete choice: what to show and what to fill in."""

    name: str
    value: str


class Suggester:
    """Autocomplete for adapters: stages, topics, resources and kinds by prefix, and searches to run."""

    KINDS = ("stage", "topic", "resource", "cohort", "kind", "query")

    def __init__(self, catalog: Catalog) -> None:
        self.choices: dict[str, list[tuple[tuple[str, ...], Choice]]] = {
            "stage": [(self._keys(s.id, s.title), Choice(s.title, s.id)) for s in catalog.stages],
            "topic": [
                (self._keys(t.id, t.title), Choice(f"{t.title} ({s.title})", f"{s.id}/{t.id}"))
                for s in catalog.stages
                for t in s.topics
            ],
            "resource": [
                (self._keys(r.id, r.title), Choice(r.title, r.id)) for r in catalog.resources.values()
            ],
            "kind": [((k,), Choice(k, k)) for k in RESOURCE_KINDS],
        }
        # What `resources` may be asked for: the titles of topics that have resources, in roadmap order, then
        # of the resources, each once with the stages and kinds of the resources it finds.
        self.searches: dict[str, Searchable] = {}
        resources = list(catalog.resources.values())
        for s in catalog.stages:
            for t in s.topics:
                for r in resources:
                    if r.stage == s.id and t.id in r.topics:
                        self._searchable(t.title).add(r)
        for r in resources:
            self._searchable(r.title).add(r)
        # Every word of those titles, sorted, with the title it is in: the titles with a word starting with
        # a prefix are one bisection and a run of neighbours away, not a pass over every title per keystroke.
        self.titles = list(self.searches)
        self.title_words = sorted({(w, i) for i, t in enumerate(self.titles) for w in self.searches[t].words})
        self.stages = {s.id for s in catalog.stages}
        self.search = catalog.index("search", ResourceSearch)

    def _fits(self, found: Searchable, filters: list[tuple[str, str]]) -> bool:
        """Whether a title can be found with these filters (ones the command will refuse do not count)."""
        for key, value in filters:
            known, where = (self.stages, found.stages) if key == "stage" else (RESOURCE_KINDS, found.kinds)
            value = value if key == "stage" else value.lower()
            if value in known and value not in where:
                return False
        return True

    def _starting(self, prefix: str) -> set[int]:
        """The titles (by position) with a word starting with `prefix`."""
        out = set()
        at = bisect.bisect_left(self.title_words, (prefix,))
        while at < len(self.title_words) and self.title_words[at][0].startswith(prefix):
            out.add(self.title_words[at][1])
            at += 1
        return out

    def _searchable(self, title: str) -> Searchable:
        return self.searches.setdefault(title, Searchable(tuple(_WORD.findall(title.lower()))))

    @staticmethod
    def _keys(*texts: str) -> tuple[str, ...]:
        keys: list[str] = []
        for text in texts:
            lowered = text.lower()
            keys.append(lowered)
            keys.extend(_WORD.findall(lowered))
        return tuple(dict.fromkeys(keys))

    def suggest(self, kind: str, prefix: str, extra: Iterable[Choice] = ()) -> list[Choice]:
        """Up to 25 choices whose name or id has a word starting with `prefix` (all, when it is empty)."""
        if len(prefix) > MAX_PREFIX_CHARS:
            return []
        if kind == "query":
            return self._searches(prefix)
        pool = self.choices.get(kind, []) + [(self._keys(c.value, c.name), c) for c in extra]
        p = prefix.strip().lower()
        if not p:
            return [c for _, c in pool[:SUGGEST_LIMIT]]
        starts = [c for keys, c in pool if any(k.startswith(p) for k in keys)]
        if len(starts) < SUGGEST_LIMIT:
            seen = set(starts)
            starts += [c for keys, c in pool if c not in seen and p in keys[0]]
        return starts[:SUGGEST_LIMIT]

    def _searches(self, typed: str) -> list[Choice]:
        """Searches completing what a member has typed: titles with a word starting with each typed word
        (titles that start with it all first), else the titles of what the search finds (typos forgiven).
        Filters typed so far (`kind:docs`) narrow the titles and are kept on each choice."""
        rest, filters = split_filters(typed)
        said = " ".join(rest)
        wanted = list(dict.fromkeys(w.lower() for w in _WORD.findall(said)))[:MAX_SUGGEST_WORDS]
        having = set(range(len(self.titles)))
        for word in wanted:
            having &= self._starting(word)
        titles = [
            self.titles[i] for i in sorted(having) if self._fits(self.searches[self.titles[i]], filters)
        ]
        if not titles:
            titles = [h.resource.title for h in self.search.search(said)]
            titles = [title for title in titles if self._fits(self.searches[title], filters)]
        titles.sort(key=lambda title: not title.lower().startswith(said.lower()))
        kept = "".join(f" {key}:{value}" for key, value in filters)
        # A choice's value is at most 100 characters on Discord, and a search cut short is another search.
        fitting = [title + kept for title in titles if len(title + kept) <= MAX_PREFIX_CHARS]
        return [Choice(value, value) for value in fitting[:SUGGEST_LIMIT]]

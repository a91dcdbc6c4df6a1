"""Resource search over the catalog: typo-tolerant, synonym-aware, built once, fast.

Text is read as words, lowercased, lightly stemmed (plural "s") and with British spellings mapped to
American; two words written next to each other with only a space, hyphen, slash, underscore or dot between
them are also read as one phrase ("k means", "k-means" and "kmeans" -> "kmean"; "scikit-learn" ->
"scikitlearn"), so spacing and hyphens do not matter. Each indexed word keeps the form it was written in,
which is what a member is shown ("MLOps", "scikit-learn"). A query takes two neighbouring words as a phrase
when the resources hold that phrase: a resource with the phrase ranks first, one with both words apart
counts half, and "k means" no longer finds every "mean" and every "k". Any other word is looked up
exactly, then through the synonym table, then as a near-miss typo (optimal string alignment distance 1, or
2 for long words, found through a table of deletions; only the nearest words count, so "transfomers" is
"transformers" and never "transfer"), then as the prefix of a longer word. Results far below the best one
are left out rather than padded in, and each says which parts of the query it does not match.

Every step is bounded whatever a member types or a pack holds: a query is at most MAX_QUERY_CHARS (the
`resources` command refuses longer ones) and only its first MAX_QUERY_WORDS words count; typo and prefix
expansion skip a word longer than any word they could find; the deletion table holds words up to
MAX_TYPO_WORD_CHARS only.
"""

from __future__ import annotations

import bisect
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import islice

from bot.catalog.model import Catalog, Resource

# ASCII only: IGNORECASE alone would also match the Kelvin sign and the long s.
_WORD = re.compile(r"[a-z0-9+#]+", re.IGNORECASE | re.ASCII)
# What may stand between two words for them to read as one phrase too: "k means", "k-means", "CI/CD",
# "scipy.stats". A stop word, a line break or any other punctuation between them breaks the phrase; a few
# spaces at most, so a phrase shown to a member is never mostly blanks.
_JOIN = re.compile(r"[ \t]{0,3}[-_/][ \t]{0,3}|[ \t]{1,3}|\.")
# Words that say nothing about what someone is looking for ("how do transformers work").
STOP = frozenset(
    (
        "a an and are for from how i in is it me of on or the to what with about best good some "
        "do does can should which why when where who you your my we want need use using work works"
    ).split()
)
SPELLING = {
    "optimisation": "optimization",
    "optimise": "optimize",
    "regularisation": "regularization",
    "visualisation": "visualization",
    "visualise": "visualize",
    "normalisation": "normalization",
    "standardisation": "standardization",
    "quantisation": "quantization",
    "vectorised": "vectorized",
    "summarising": "summarizing",
    "modelling": "modeling",
    "behaviour": "behavior",
    "behavioural": "behavioral",
    "analyse": "analyze",
    "colour": "color",
    "centre": "center",
    "centred": "centered",
    "licence": "license",
    "licences": "licenses",
}
# Query word -> other words or phrases (already folded) that mean the same thing.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "sklearn": ("scikitlearn",),
    "scikit": ("scikitlearn",),
    "stat": ("statistic",),
    "statistical": ("statistic",),
    "math": ("mathematic",),
    "maths": ("mathematic",),
    "mathematic": ("math",),
    "prob": ("probability",),
    "linalg": ("linearalgebra",),
    "calc": ("calculu",),
    "kmean": ("kmean",),
    "knn": ("nearestneighbor", "knearest"),
    "tf": ("tensorflow",),
    "torch": ("pytorch",),
    "pt": ("pytorch",),
    "np": ("numpy",),
    "pd": ("panda",),
    "plt": ("matplotlib",),
    "sn": ("seaborn",),
    "viz": ("visualization", "plot"),
    "dataviz": ("visualization", "plot"),
    "plot": ("visualization",),
    "ml": ("machinelearning",),
    "dl": ("deeplearning",),
    "rl": ("reinforcementlearning",),
    "nn": ("neuralnetwork",),
    "cnn": ("convolutional",),
    "rnn": ("recurrent",),
    "lstm": ("recurrent",),
    "nlp": ("naturallanguage", "languagemodel", "transformer"),
    "cv": ("computervision", "resume"),
    "llm": ("largelanguage", "llm"),
    "gpt": ("llm", "largelanguage"),
    "genai": ("generative",),
    "ai": ("artificialintelligence",),
    "hf": ("huggingface",),
    "svm": ("supportvector",),
    "pca": ("principalcomponent",),
    "xgboost": ("boosting", "xgboost"),
    "gbm": ("boosting",),
    "k8": ("kubernete",),
    "k8s": ("kubernete",),
    "container": ("docker",),
    "docker": ("container",),
    "bash": ("shell",),
    "terminal": ("shell", "commandline"),
    "cli": ("commandline", "shell"),
    "api": ("rest", "fastapi"),
    "aws": ("sagemaker", "amazon"),
    "gcp": ("vertex", "googlecloud"),
    "db": ("database", "sql"),
    "sql": ("database",),
    "cicd": ("continuousintegration",),
    "ci": ("continuousintegration",),
    "job": ("career",),
    "resume": ("cv", "portfolio"),
    "interview": ("interviewing",),
    "git": ("github", "version"),
    "etl": ("pipeline",),
    "bayes": ("bayesian",),
    "ab": ("hypothesi", "experiment"),
    "virtualenv": ("venv", "virtualenvironment"),
}
FIELD_WEIGHTS = {"title": 3.0, "topics": 2.5, "stage": 1.5, "kind": 1.5, "description": 1.0}
# A word found in more fields of a resource than its best one counts this share of those fields' weights
# too: of two resources with "pandas" in the title, the one about pandas throughout ranks first.
SPREAD = 0.2
# A phrase's words found apart count this share of their weight ("evaluation" and "metrics" apart still
# answer "evaluation metrics"; "mean" alone in NumPy statistics counts little towards "k means").
LOOSE = 0.5
# A forum is where you ask once you have read something: of two equal matches, the material comes first
# ("pytorch" once put PyTorch Forums above the tutorials, its name and description both saying PyTorch).
COMMUNITY_SHARE = 0.85
# How much a match counts by how it was found: an exact word beats a synonym beats a typo beats a prefix.
QUALITY = {"exact": 1.0, "synonym": 0.9, "typo": 0.7, "prefix": 0.5}
# A result scoring under this share of the best one is left out: five cards are a cap, not a quota, and
# the fourth and fifth were once a "mean" in NumPy statistics and a "k" in heapq for "k means".
RELEVANT_SHARE = 0.3
SHOWN = 5
# What a search query may be: a few key words fit many times over, and every step after this is bounded by it
# (a 1,990-character word once took 13-17 s and ~4 GB in the typo expansion, blocking every server).
MAX_QUERY_CHARS = 200
# Query words that count: more say nothing new about what someone wants, and each costs a lookup and a pass
# over the roadmap's titles for the "nothing found" hint.
MAX_QUERY_WORDS = 20
# The typo budget of the longest words (see typo_budget).
MAX_TYPO = 2
# Longest word the typo table holds and a query word is corrected against: a word's deletions grow with its
# length squared, and no word worth correcting is this long (the built-in pack's longest is 21 characters,
# "reinforcementlearning"); a pack's longer words are still found exactly.
MAX_TYPO_WORD_CHARS = 32
# The edit distance the "nothing found" hint tolerates between a query word and a title word.
PLACE_TYPOS = 3
# Query words the "nothing found" hint compares with every title word (an edit distance each, 20-30 µs on
# the development machine): the first few say where someone was heading; 20 words took 15-23 ms.
MAX_PLACE_WORDS = 5
# What a query may say besides what it looks for: `stage:<id>`, `kind:<kind>`.
FILTERS = ("stage", "kind")


def split_filters(query: str) -> tuple[list[str], list[tuple[str, str]]]:
    """A query's words apart from its `stage:<id>` and `kind:<kind>` filters (keys lowercased, unchecked)."""
    rest: list[str] = []
    filters: list[tuple[str, str]] = []
    for token in query.split():
        key, sep, value = token.partition(":")
        if sep and key.lower() in FILTERS:
            filters.append((key.lower(), value))
        else:
            rest.append(token)
    return rest, filters


def stem(word: str) -> str:
    word = SPELLING.get(word, word)
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


@dataclass(frozen=True)
class Word:
    """A word of a text: folded for matching, with where and how it was written."""

    term: str
    start: int
    end: int
    # Written right after the word before it, with only a space, hyphen, slash, underscore or dot between.
    joined: bool


def _read(text: str) -> Iterator[Word]:
    end = -1
    for m in _WORD.finditer(text):
        lowered = m.group().lower()
        if lowered in STOP:
            end = -1
            continue
        joined = end >= 0 and _JOIN.fullmatch(text, end, m.start()) is not None
        end = m.end()
        yield Word(stem(lowered), m.start(), m.end(), joined)


def read(text: str, most: int | None = None) -> list[Word]:
    """The words of a text, stop words dropped, the first `most` only (reading no further)."""
    return list(islice(_read(text), most))


def words(text: str) -> list[str]:
    """Folded words of a text, stop words dropped."""
    return [w.term for w in _read(text)]


def phrases(ws: list[Word]) -> Iterator[tuple[int, str]]:
    """Each pair of words written next to each other: the index of the first, and the two joined."""
    for i in range(1, len(ws)):
        if ws[i].joined:
            yield i - 1, ws[i - 1].term + ws[i].term


def query_words(query: str) -> list[str]:
    """The first MAX_QUERY_WORDS folded words of a query, stop words dropped, reading no further."""
    return [w.term for w in read(query, MAX_QUERY_WORDS)]


def osa_distance(a: str, b: str, limit: int) -> int:
    """Optimal string alignment distance (a swap of neighbours counts once), giving up past `limit`."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def letters(word: str) -> int:
    """The set of a word's characters as bits (folded modulo 64: a shared bit may be two characters)."""
    bits = 0
    for ch in word:
        bits |= 1 << (ord(ch) % 64)
    return bits


def _deletes(word: str, depth: int) -> set[str]:
    """The word and every string `depth` deletions or fewer away: about len(word) ** depth of them."""
    out = {word}
    frontier = {word}
    for _ in range(depth):
        frontier = {w[:i] + w[i + 1 :] for w in frontier for i in range(len(w))}
        out |= frontier
    return out


def typo_budget(word: str) -> int:
    """Edits a word may be off by and still be found; none for words too long to correct (see above)."""
    if len(word) > MAX_TYPO_WORD_CHARS:
        return 0
    return 0 if len(word) < 4 else 1 if len(word) < 7 else MAX_TYPO


@dataclass(frozen=True)
class Posting:
    """Where a term is in one resource: its best field, as written there, and all its fields' weight."""

    weight: float
    field: str
    written: str
    total: float

    @property
    def value(self) -> float:
        return self.weight + SPREAD * (self.total - self.weight)


@dataclass(frozen=True)
class Reason:
    """Why a resource matched one part of a query: what it says where, and what the member typed."""

    written: str  # as the resource's text has it ("MLOps", "k-means")
    field: str
    how: str  # a key of QUALITY
    typed: str  # as the member typed it ("mlops", "k means", "transfomers")

    def said(self, mark: Callable[[str], str] = str) -> str:
        """The reason in words; `mark` wraps the resource's and the member's text (both data)."""
        found = f"“{mark(self.written)}” in {self.field}"
        if self.how == "synonym":
            return f"{found} (for {mark(self.typed)})"
        if self.how == "typo":
            return f"{found} (you typed {mark(self.typed)})"
        if self.how == "prefix":
            return f"{found} (from {mark(self.typed)}…)"
        return found

    def __str__(self) -> str:
        return self.said()


@dataclass(frozen=True)
class Hit:
    resource: Resource
    score: float
    why: tuple[Reason, ...]
    # Parts of the query (as typed) this resource does not match.
    missing: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Part:
    """One part of a query: a word, or two read as a phrase, with the index terms it stands for.

    A phrase's words are looked up on their own too (`words`): a resource with both words apart still
    matches, with less weight than one with the phrase.
    """

    typed: str
    found: list[tuple[str, str]]
    words: tuple[list[tuple[str, str]], ...] = ()


class ResourceSearch:
    """An inverted index over the catalog's resources, built once."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self.docs = list(catalog.resources.values())
        # term -> {doc index: where it is}
        self.postings: dict[str, dict[int, Posting]] = defaultdict(dict)
        singles: set[str] = set()
        for i, res in enumerate(self.docs):
            stage = catalog.stage(res.stage)
            topic_titles = [t.title for t in stage.topics if t.id in res.topics] if stage else []
            # Titles before ids: the first place a term is written is what a member is shown.
            fields = {
                "title": res.title,
                "topics": " · ".join(topic_titles + list(res.topics)),
                "stage": (stage.title if stage else "") + " · " + res.stage,
                "kind": res.kind,
                "description": res.description,
            }
            # term -> field -> as first written there
            found: dict[str, dict[str, str]] = defaultdict(dict)
            for name, text in fields.items():
                ws = read(text)
                singles.update(w.term for w in ws)
                for w in ws:
                    found[w.term].setdefault(name, text[w.start : w.end])
                for at, joined in phrases(ws):
                    found[joined].setdefault(name, text[ws[at].start : ws[at + 1].end])
            # A resource on many topics is less about each one than a resource on that topic alone.
            weights = {
                **FIELD_WEIGHTS,
                "topics": FIELD_WEIGHTS["topics"] / (1 + SPREAD * (len(res.topics) - 1)),
            }
            for term, where in found.items():
                best = max(where, key=weights.__getitem__)
                total = sum(weights[name] for name in where)
                self.postings[term][i] = Posting(weights[best], best, where[best], total)
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - len(p) + 0.5) / (len(p) + 0.5)) for t, p in self.postings.items()}
        self.vocabulary = sorted(self.postings)
        # Typos are looked for among single words only: joined pairs are long and would bloat the table.
        self._deletions: dict[str, set[str]] = defaultdict(set)
        typo_words = [t for t in singles if len(t) <= MAX_TYPO_WORD_CHARS]
        for term in typo_words:
            for d in _deletes(term, typo_budget(term)):
                self._deletions[d].add(term)
        # A query word longer than these cannot be a typo of, or a prefix of, any indexed word.
        self._longest_typo = max(map(len, typo_words), default=0) + MAX_TYPO
        self._longest_term = max(map(len, self.vocabulary), default=0)
        # The "nothing found" hint's places, and each distinct word of their titles with the places it is in.
        self._places: list[str] = []
        self._place_words: dict[str, list[int]] = defaultdict(list)
        for stage in catalog.stages:
            for title in [stage.title] + [t.title for t in stage.topics]:
                for word in set(words(title)):
                    self._place_words[word].append(len(self._places))
                self._places.append(title if title == stage.title else f"{title} ({stage.title})")
        self._place_letters = {word: letters(word) for word in self._place_words}
        self._longest_place_word = max(map(len, self._place_words), default=0) + PLACE_TYPOS

    def _near(self, word: str) -> list[str]:
        """The indexed words nearest to a misspelt one: only those at the least distance found."""
        budget = typo_budget(word)
        if not budget or len(word) > self._longest_typo:
            return []
        candidates: set[str] = set()
        for d in _deletes(word, budget):
            candidates |= self._deletions.get(d, set())
        distances = {t: osa_distance(word, t, budget) for t in candidates}
        least = min(distances.values(), default=budget + 1)
        return sorted(t for t, d in distances.items() if d == least <= budget)

    def _prefixed(self, word: str) -> list[str]:
        if len(word) < 3 or len(word) > self._longest_term:
            return []
        start = bisect.bisect_left(self.vocabulary, word)
        out = []
        for term in self.vocabulary[start : start + 50]:
            if not term.startswith(word):
                break
            out.append(term)
        return out

    def expand(self, word: str) -> list[tuple[str, str]]:
        """Index terms a query word stands for, each with how it was found."""
        found = [(word, "exact")] if word in self.postings else []
        found += [(s, "synonym") for s in SYNONYMS.get(word, ()) if s in self.postings and s != word]
        if found:
            return found
        near = [(t, "typo") for t in self._near(word)]
        return near or [(t, "prefix") for t in self._prefixed(word)]

    def _parts(self, query: str) -> list[_Part]:
        """The query's first MAX_QUERY_WORDS words, two written together read as a phrase the index holds."""
        ws = read(query, MAX_QUERY_WORDS)
        parts: list[_Part] = []
        seen: set[str] = set()
        i = 0
        while i < len(ws):
            first = ws[i]
            after = ws[i + 1] if i + 1 < len(ws) and ws[i + 1].joined else None
            last = after if after and first.term + after.term in self.postings else first
            i += 1 if last is first else 2
            term = first.term if last is first else first.term + last.term
            if term in seen:  # a word said twice counts once
                continue
            seen.add(term)
            typed = query[first.start : last.end]
            if last is first:
                parts.append(_Part(typed, self.expand(term)))
            else:
                loose = (self.expand(first.term), self.expand(last.term))
                parts.append(_Part(typed, [(term, "exact")], loose))
        return parts

    def _best(self, found: list[tuple[str, str]], typed: str) -> dict[int, tuple[float, Reason]]:
        """Each resource's best match among a part's index terms: its value and the reason."""
        best: dict[int, tuple[float, Reason]] = {}
        for term, how in found:
            quality = QUALITY[how] * self.idf[term]
            for doc, posting in self.postings[term].items():
                value = posting.value * quality
                if value > best.get(doc, (0.0,))[0]:
                    best[doc] = (value, Reason(posting.written, posting.field, how, typed))
        return best

    def _match(self, part: _Part) -> dict[int, tuple[float, list[Reason], bool]]:
        """Each resource a part matches: its value, the reasons, and whether it matches all of it."""
        out: dict[int, tuple[float, list[Reason], bool]] = {
            doc: (value, [reason], True)
            for doc, (value, reason) in self._best(part.found, part.typed).items()
        }
        each = [self._best(found, part.typed) for found in part.words]
        for doc in set().union(*each):
            value, reasons, whole = out.get(doc, (0.0, [], False))
            apart = [w[doc] for w in each if doc in w]
            value += LOOSE * sum(v for v, _ in apart)
            whole = whole or len(apart) == len(each)
            out[doc] = (value, reasons or [r for _, r in apart], whole)
        return out

    def search(
        self, query: str, stage: str | None = None, kind: str | None = None, limit: int = SHOWN
    ) -> list[Hit]:
        """The best matches, highest score first, ties by title; the first MAX_QUERY_WORDS words count."""
        parts = self._parts(query)
        if not parts:
            return []
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, set[int]] = defaultdict(set)
        why: dict[int, list[Reason]] = defaultdict(list)
        for pi, part in enumerate(parts):
            for doc, (value, reasons, whole) in self._match(part).items():
                if (stage and self.docs[doc].stage != stage) or (kind and self.docs[doc].kind != kind):
                    continue
                scores[doc] += value
                why[doc] += reasons
                if whole:
                    matched[doc].add(pi)
        hits = []
        for doc, score in scores.items():
            coverage = len(matched[doc]) / len(parts)
            missing = tuple(p.typed for pi, p in enumerate(parts) if pi not in matched[doc])
            prior = COMMUNITY_SHARE if self.docs[doc].kind == "community" else 1.0
            hits.append(
                Hit(
                    self.docs[doc],
                    prior * score * (0.4 + 0.6 * coverage),
                    tuple(dict.fromkeys(why[doc])),
                    missing,
                )
            )
        hits.sort(key=lambda h: (-h.score, h.resource.title))
        return [h for h in hits[:limit] if h.score >= RELEVANT_SHARE * hits[0].score]

    def closest_places(self, query: str) -> list[str]:
        """Stage or topic titles that look like the query, for a "nothing found" reply."""
        # Each distinct query word against each distinct title word once: at most MAX_PLACE_WORDS times the
        # titles' vocabulary, with words too long to be near any title word skipped.
        distinct = dict.fromkeys(w for w in query_words(query) if len(w) <= self._longest_place_word)
        wanted = list(distinct)[:MAX_PLACE_WORDS]
        wanted_letters = [letters(w) for w in wanted]
        best = [0.0] * len(self._places)
        for t, places in self._place_words.items():
            score = 0.0
            t_letters = self._place_letters[t]
            for w, w_letters in zip(wanted, wanted_letters, strict=True):
                longer = max(len(w), len(t))
                # A score of 0.5 or more needs a distance of at most half the longer word.
                limit = min(PLACE_TYPOS, longer // 2)
                if abs(len(w) - len(t)) > limit:
                    continue
                # Each character one word has and the other lacks costs an edit: a cheap bound first.
                if max((w_letters & ~t_letters).bit_count(), (t_letters & ~w_letters).bit_count()) > limit:
                    continue
                distance = osa_distance(w, t, limit)
                if distance <= limit:
                    score = max(score, 1.0 - distance / longer)
            for i in places:
                best[i] = max(best[i], score)
        scored = [(score, place) for score, place in zip(best, self._places, strict=True) if score >= 0.5]
        scored.sort(key=lambda s: -s[0])
        return [t for _, t in scored[:3]]

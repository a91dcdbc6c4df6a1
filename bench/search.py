"""Benchmark: resource search and autocomplete over the full content pack.

Runs a fixed set of 1,000 queries (words from the pack, typos, synonyms, several words, filters) through
ResourceSearch.search, and 1,000 prefixes through Suggester.suggest (what Core.suggest serves for stages,
topics, resources and kinds), and prints p50/p99 per call.
Targets: p99 under 2 ms for search and under 1 ms for suggest.

    python bench/search.py
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.catalog.content import load_catalog
from bot.catalog.model import RESOURCE_KINDS
from bot.catalog.search import SYNONYMS, ResourceSearch, words
from bot.catalog.suggest import Suggester

QUERIES = 1000
FIXED = [
    "pytroch",
    "stats",
    "sklearn",
    "k means",
    "pandas groupby",
    "linear algbra",
    "docker fastapi",
    "llm fine tuning",
    "gradient descent",
    "hypothesis test",
    "kaggle",
    "interview system design",
]


def typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(len(word) - 1)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def make_queries(search: ResourceSearch, n: int) -> list[tuple[str, str | None, str | None]]:
    rng = random.Random(2026)  # fixed: every run measures the same queries
    vocab = sorted({w for r in search.docs for w in words(r.title + " " + r.description) if len(w) > 2})
    stages = [s.id for s in search.catalog.stages]
    out: list[tuple[str, str | None, str | None]] = [(q, None, None) for q in FIXED]
    while len(out) < n:
        shape = rng.randrange(5)
        if shape == 0:
            q = rng.choice(vocab)
        elif shape == 1:
            q = typo(rng.choice(vocab), rng)
        elif shape == 2:
            q = rng.choice(sorted(SYNONYMS))
        elif shape == 3:
            q = " ".join(rng.sample(vocab, 3))
        else:
            q = rng.choice(vocab)
            out.append((q, rng.choice(stages), rng.choice([None, *RESOURCE_KINDS])))
            continue
        out.append((q, None, None))
    return out[:n]


def pcts(samples: list[float]) -> str:
    q = statistics.quantiles(samples, n=100)
    return f"p50 {q[49] * 1000:.3f} ms, p99 {q[98] * 1000:.3f} ms, max {max(samples) * 1000:.3f} ms"


def main() -> None:
    started = time.perf_counter()
    catalog = load_catalog()
    search, suggester = ResourceSearch(catalog), Suggester(catalog)
    built = time.perf_counter() - started
    print(
        f"pack: {len(catalog.stages)} stages, {len(catalog.resources)} resources, "
        f"{len(catalog.challenges)} challenges; catalog + indexes built in {built * 1000:.0f} ms"
    )
    queries = make_queries(search, QUERIES)
    for q, stage, kind in queries[:50]:  # warm up
        search.search(q, stage=stage, kind=kind)
    timings, empty = [], 0
    for q, stage, kind in queries:
        t = time.perf_counter()
        hits = search.search(q, stage=stage, kind=kind)
        timings.append(time.perf_counter() - t)
        empty += not hits
    print(f"search:  {len(queries):,} queries: {pcts(timings)} ({empty} found nothing)")
    rng = random.Random(7)
    kinds = ["stage", "topic", "resource", "kind"]
    prefixes = []
    for _ in range(QUERIES):
        word = rng.choice(sorted({w for r in catalog.resources.values() for w in words(r.title)}))
        prefixes.append((rng.choice(kinds), word[: rng.randint(0, 4)]))
    timings = []
    for kind, prefix in prefixes:
        t = time.perf_counter()
        suggester.suggest(kind, prefix)
        timings.append(time.perf_counter() - t)
    print(f"suggest: {len(prefixes):,} prefixes: {pcts(timings)}")


if __name__ == "__main__":
    main()

"""No search or autocomplete input buys more than a bounded amount of work, however long or wordy it is.

Driven through the real core on a real SQLite store. Tests never assert on time: they count the work a
query does (typo candidates generated, query words looked up, edit distances computed, key comparisons)
and check what the member reads.
"""

from __future__ import annotations

import random
import string
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import FrameType
from typing import Any

import pytest

from bot.catalog import search as search_module
from bot.catalog.model import Catalog
from bot.catalog.search import ResourceSearch
from bot.composition.app import make_core
from bot.kernel.clock import FakeClock
from storage.sql_store import SqlStore
from tests.conftest import CHANNEL, Bot, text_of

# The typo expansion of a word of n characters makes about n * n / 2 candidate strings; the longest word it
# may still expand is 21 + 2 characters in the built-in pack, and at most 32 + 2 in any pack: 1 + 34 + 561.
MOST_CANDIDATES_PER_WORD = 596
# Query words the search looks up, and query words the "nothing found" hint compares with title words.
MOST_WORDS = 20
MOST_HINT_WORDS = 5


@dataclass
class Work:
    """What a query cost, counted at the search module's own functions."""

    candidates: list[int]  # typo candidates generated per expanded word
    words: int = 0  # query words expanded (exact, synonym, typo, prefix)
    distances: int = 0  # edit distances computed
    longest_expanded: int = 0  # the longest word whose deletions were generated


@pytest.fixture
async def bot(sqlite_store: SqlStore, catalog: Catalog, clock: FakeClock) -> AsyncIterator[Bot]:
    yield Bot(make_core(sqlite_store, catalog, clock), clock)


@pytest.fixture
def work(monkeypatch: pytest.MonkeyPatch) -> Work:
    """Count the work of everything that follows, at the functions whose cost grows with the input."""
    counted = Work(candidates=[])
    deletes: Callable[[str, int], set[str]] = search_module._deletes
    distance: Callable[[str, str, int], int] = search_module.osa_distance
    expand: Callable[[ResourceSearch, str], list[tuple[str, str]]] = ResourceSearch.expand

    def counting_deletes(word: str, depth: int) -> set[str]:
        out = deletes(word, depth)
        counted.candidates.append(len(out))
        counted.longest_expanded = max(counted.longest_expanded, len(word))
        return out

    def counting_distance(a: str, b: str, limit: int) -> int:
        counted.distances += 1
        return distance(a, b, limit)

    def counting_expand(self: ResourceSearch, word: str) -> list[tuple[str, str]]:
        counted.words += 1
        return expand(self, word)

    monkeypatch.setattr(search_module, "_deletes", counting_deletes)
    monkeypatch.setattr(search_module, "osa_distance", counting_distance)
    monkeypatch.setattr(ResourceSearch, "expand", counting_expand)
    return counted


def nonsense(length: int, seed: int, letters: str = "qxzjkvwfy") -> str:
    """A word of varied letters (its deletions are not folded together by repetition) that means nothing."""
    rng = random.Random(seed)
    return "".join(rng.choice(letters) for _ in range(length))


@contextmanager
def counting_calls(name: str) -> Iterator[list[int]]:
    """Count calls of builtin methods called `name` (e.g. str.startswith) in this thread."""
    count = [0]

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "c_call" and getattr(arg, "__name__", "") == name:
            count[0] += 1

    sys.setprofile(profile)
    try:
        yield count
    finally:
        sys.setprofile(None)


async def test_a_search_over_200_characters_is_refused_kindly_before_any_work(bot: Bot, work: Work) -> None:
    # 995 one-letter words: just under the 2,000-character cap on any command.
    long_query = " ".join(["q"] * 995)

    reply = await bot.say("Ada", f"resources {long_query}")

    assert reply.error
    assert "That search is too long: 1,989 characters" in reply.text
    assert "up to 200" in reply.text and "/study resources pandas groupby" in reply.text
    assert work.words == 0 and work.candidates == [] and work.distances == 0
    # A query of 200 characters still runs.
    at_cap = await bot.say("Ada", "resources " + ("pandas " * 29)[:200])
    assert not at_cap.error and "pandas" in text_of(at_cap).lower()


async def test_one_long_word_buys_no_typo_expansion(bot: Bot, work: Work) -> None:
    for length in (8, 20, 34, 35, 60, 120, 199):
        reply = await bot.say("Ada", f"resources {nonsense(length, length)}")
        assert reply.error and "Nothing matched" in reply.text

    # The 199-character word once made about 20,000 candidate strings (1,500 characters: 1.8 GB, 5.6 s).
    assert work.candidates and max(work.candidates) <= MOST_CANDIDATES_PER_WORD
    assert work.longest_expanded <= 23  # "reinforcementlearning" and a typo budget of 2
    # Typos are still forgiven.
    assert "PyTorch" in text_of(await bot.say("Ada", "resources pytroch"))


async def test_many_words_are_looked_up_twenty_at_most(bot: Bot, work: Work) -> None:
    # 40 different four-letter words that match nothing: 199 characters, under the search cap.
    many = " ".join(nonsense(4, 1000 + i) for i in range(40))
    assert len(many) == 199

    reply = await bot.say("Ada", f"resources {many}")

    assert reply.error and "Nothing matched" in reply.text
    assert work.words <= MOST_WORDS
    # The "nothing found" hint compares five query words with the roadmap's ~200 distinct title words at
    # most, and skips pairs that cannot be close; it compared all 40 with every title's words (14,000+).
    assert work.distances <= MOST_HINT_WORDS * 200


async def test_the_hint_still_finds_a_misspelt_place_among_noise(bot: Bot, work: Work) -> None:
    noise = " ".join(nonsense(5, 2000 + i) for i in range(20))

    reply = await bot.say("Ada", f"resources linera algebro {noise} stage:stats")

    assert reply.error and "Nothing matched" in reply.text and "Linear algebra" in reply.text
    assert work.words <= MOST_WORDS and work.distances <= MOST_HINT_WORDS * 200


async def test_autocomplete_ignores_an_overlong_prefix(bot: Bot) -> None:
    # Discord sends the option's text so far on every keystroke: up to 6,000 characters.
    pasted = "pandas " + nonsense(5993, 7, string.ascii_lowercase)

    with counting_calls("startswith") as compared:
        choices = await bot.core.suggest("resource", pasted)
    assert choices == []
    assert compared[0] == 0  # was one comparison per key of every resource, on every keystroke

    assert any("pandas" in c.name.lower() for c in await bot.core.suggest("resource", "pandas"))


async def test_a_pack_word_too_long_to_correct_is_found_exactly_and_adds_no_typo_table(
    sqlite_store: SqlStore, catalog: Catalog, clock: FakeClock, work: Work
) -> None:
    long_word = nonsense(150, 150)
    base = next(iter(catalog.resources.values()))
    odd = replace(base, id="club:long-word", title="A Long Word", description=f"All about {long_word}.")
    packed = Catalog(list(catalog.stages), {**catalog.resources, odd.id: odd}, dict(catalog.challenges))

    core = make_core(sqlite_store, packed, clock)  # builds the search index from the pack

    # Its deletions would be 11,000 strings of 150 characters; it is left out of the typo table.
    assert work.longest_expanded <= 32 and max(work.candidates) <= MOST_CANDIDATES_PER_WORD
    found = await Bot(core, clock).say("Ada", f"resources {long_word}", CHANNEL)
    assert not found.error and "A Long Word" in text_of(found)

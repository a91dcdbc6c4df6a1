"""Resource search finds what people mean, and autocomplete suggests what they can pick."""

from __future__ import annotations

import pytest

from bot.catalog.model import Catalog
from bot.catalog.search import ResourceSearch, osa_distance
from bot.catalog.suggest import SUGGEST_LIMIT, Suggester
from tests.conftest import CHANNEL, Bot


@pytest.fixture(scope="module")
def search(catalog: Catalog) -> ResourceSearch:
    return catalog.index("search", ResourceSearch)


def top_titles(search: ResourceSearch, query: str, **filters: str) -> list[str]:
    return [h.resource.title.lower() for h in search.search(query, **filters)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("pytroch", "pytorch"),  # a typo
        ("stats", "stat"),  # a short form
        ("sklearn", "scikit-learn"),  # a nickname
        ("pandsa", "pandas"),
        ("docker", "docker"),
        ("fine tuning llms", "llm"),
    ],
)
def test_search_understands_typos_synonyms_and_spacing(
    search: ResourceSearch, query: str, expected: str
) -> None:
    titles = top_titles(search, query)
    assert titles and expected in titles[0], titles


@pytest.mark.parametrize("query", ["k means", "kmeans", "k-means", "K Means clustering"])
def test_k_means_however_it_is_written(search: ResourceSearch, query: str) -> None:
    hits = search.search(query)
    assert hits and all("k-means" in h.resource.topics for h in hits[:2])


def test_stats_finds_statistics_resources_only(search: ResourceSearch) -> None:
    assert all(
        h.resource.stage == "stats" or "stat" in h.resource.title.lower() for h in search.search("stats")
    )


def test_results_are_five_at_most_and_say_why(search: ResourceSearch) -> None:
    hits = search.search("python")
    assert len(hits) == 5
    assert all(h.why for h in hits)
    typo = search.search("pytroch")[0]
    assert any("(you typed pytroch)" in str(w) for w in typo.why)


def test_filters_narrow_by_stage_and_kind(search: ResourceSearch, catalog: Catalog) -> None:
    hits = search.search("learning", stage="deep-learning", kind="course")
    assert hits and all(h.resource.stage == "deep-learning" and h.resource.kind == "course" for h in hits)


def test_osa_distance_counts_a_swap_once() -> None:
    assert osa_distance("pytroch", "pytorch", 2) == 1
    assert osa_distance("pandas", "pandas", 1) == 0
    assert osa_distance("numpy", "scipy", 1) == 2  # gives up past the limit


async def test_the_command_shows_links_and_filters(bot: Bot) -> None:
    reply = await bot.say("Ada", "resources pytroch kind:docs")
    assert reply.cards and all(c.url and c.url.startswith("https://") for c in reply.cards)
    assert all(f.value.startswith("docs ·") for c in reply.cards for f in c.fields if f.name == "Kind")
    nothing = await bot.say("Ada", "resources linera algebro stage:stats")
    assert nothing.error and "Nothing matched" in nothing.text and "Linear algebra" in nothing.text


async def test_suggest_serves_autocomplete_for_every_kind(bot: Bot, catalog: Catalog) -> None:
    stages = await bot.core.suggest("stage", "deep")
    assert [c.value for c in stages] == ["deep-learning"]
    topics = await bot.core.suggest("topic", "num")
    assert "python/numpy" in [c.value for c in topics]
    assert len(await bot.core.suggest("resource", "")) == SUGGEST_LIMIT
    assert all("pytorch" in c.name.lower() for c in await bot.core.suggest("resource", "pytorch"))
    await bot.say("Mia", "cohort create ml-2026")
    assert [c.value for c in await bot.core.suggest("cohort", "ml", CHANNEL)] == ["ml-2026"]
    with pytest.raises(ValueError, match="unknown suggestion kind"):
        await bot.core.suggest("planet", "")


def test_suggest_caps_at_25(catalog: Catalog) -> None:
    assert len(catalog.index("suggest", Suggester).suggest("topic", "")) == SUGGEST_LIMIT


async def test_suggest_completes_a_search_within_its_filters(bot: Bot) -> None:
    maths = [c.value for c in await bot.core.suggest("query", "lin stage:maths")]
    assert maths[:2] == ["Linear algebra stage:maths", "3Blue1Brown: Essence of linear algebra stage:maths"]
    assert not any(v.startswith(("Linux", "Linear and logistic")) for v in maths)  # other stages
    # A choice Discord would cut short (over 100 characters) is left out, not cut into another search.
    mlops = [c.value for c in await bot.core.suggest("query", "mlops kind:docs kind:docs")]
    assert (
        "MLOps: Continuous delivery and automation pipelines in machine learning kind:docs kind:docs" in mlops
    )
    assert not any(v.startswith("Microsoft Learn: MLOps") for v in mlops)  # 93 characters before the filters
    # Each choice is a search that finds what it names first.
    [choice] = await bot.core.suggest("query", "essence lin")
    reply = await bot.say("Ada", f"resources {choice.value}")
    assert reply.cards[0].title == choice.value == "3Blue1Brown: Essence of linear algebra"

"""The `resources` command: find roadmap resources by words, forgiving small typos."""

from __future__ import annotations

import difflib
import re
from typing import Any

from bot.commands import REGISTRY, Arg, ArgKind, UserError
from bot.content import Catalog, Resource
from bot.context import Context
from bot.types import Card, Field, Reply

SHOWN = 5
_WORD = re.compile(r"[a-z0-9+#]+")
# Words that say nothing about what someone is looking for.
_STOP = frozenset(
    {"a", "an", "and", "the", "for", "of", "to", "in", "on", "with", "how", "what", "i", "learn"}
)


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def _haystack(catalog: Catalog, res: Resource) -> dict[str, float]:
    """Each word of a resource with its weight: title and topics count more than the description."""
    stage = catalog.stage(res.stage)
    topic_titles = [t.title for t in stage.topics if t.id in res.topics] if stage else []
    weighted: dict[str, float] = {}
    parts = (
        (res.title, 3.0),
        (" ".join(res.topics) + " " + " ".join(topic_titles), 2.5),
        (res.kind + " " + res.stage + " " + (stage.title if stage else ""), 1.5),
        (res.description, 1.0),
    )
    for text, weight in parts:
        for w in _words(text.replace("-", " ")):
            weighted[w] = max(weighted.get(w, 0.0), weight)
    return weighted


def search(catalog: Catalog, query: str, limit: int = SHOWN) -> list[tuple[Resource, list[str]]]:
    """The best matches for a query, each with the words that matched."""
    terms = _words(query)
    results = []
    for res in catalog.resources.values():
        hay = _haystack(catalog, res)
        score, why = 0.0, []
        for term in terms:
            if term in hay:
                score += hay[term]
                why.append(term)
                continue
            prefix = [w for w in hay if len(term) >= 3 and w.startswith(term)]
            close = prefix or difflib.get_close_matches(term, list(hay), n=1, cutoff=0.8)
            if close:
                score += hay[close[0]] * 0.6
                why.append(close[0])
        if score:
            results.append((score, res.title, res, why))
    results.sort(key=lambda r: (-r[0], r[1]))
    return [(res, why) for _, _, res, why in results[:limit]]


@REGISTRY.command(
    "resources",
    "Find resources from the ML-engineer roadmap: docs, courses, books, datasets, practice.",
    Arg("query", ArgKind.REST, help="what you are looking for"),
    example="/study resources pandas groupby",
)
async def resources(ctx: Context, args: dict[str, Any]) -> Reply:
    catalog = ctx.core.catalog
    found = search(catalog, args["query"])
    if not found:
        stages = ", ".join(s.title for s in catalog.stages)
        raise UserError(
            f"Nothing matched `{args['query']}`. Try a library or topic name; the roadmap covers {stages}."
        )
    cards = []
    for res, why in found:
        cost = "free" if res.free else "paid"
        cards.append(
            Card(
                res.title,
                res.description,
                (
                    Field("Kind", f"{res.kind} · {res.level} · {cost}", inline=True),
                    Field("Matched", ", ".join(dict.fromkeys(why)), inline=True),
                ),
                url=res.url,
            )
        )
    return Reply(
        text=f"🔎 {len(found)} resource(s) for `{args['query']}`", cards=tuple(cards), ephemeral=True
    )

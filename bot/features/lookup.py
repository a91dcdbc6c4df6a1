"""The `resources` command: the best roadmap resources for a query, with optional stage and kind filters."""

from __future__ import annotations

import difflib
from typing import Any

from bot.catalog.model import RESOURCE_KINDS
from bot.catalog.search import MAX_QUERY_CHARS, split_filters
from bot.dispatch.context import Context
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.types import Card, Field, Reply
from bot.kernel.untrusted import verbatim


def _filters(ctx: Context, query: str) -> tuple[str, str | None, str | None]:
    """Split `stage:<id>` and `kind:<kind>` out of a query, checking both."""
    stage = kind = None
    rest, filters = split_filters(query)
    for key, value in filters:
        if key == "stage":
            ids = [s.id for s in ctx.core.catalog.stages]
            if value not in ids:
                close = difflib.get_close_matches(value, ids, n=1, cutoff=0.5)
                hint = f" Did you mean `stage:{close[0]}`?" if close else f" Stages: {', '.join(ids)}."
                raise UserError(f"There is no stage `{value}`.{hint}")
            stage = value
        else:
            if value.lower() not in RESOURCE_KINDS:
                raise UserError(
                    f"`kind:{value}` is not a kind of resource: use one of {', '.join(RESOURCE_KINDS)}."
                )
            kind = value.lower()
    return " ".join(rest), stage, kind


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "resources",
    "Find roadmap resources: docs, courses, books, datasets, practice; filter by stage or kind if you like.",
    Arg(
        "query",
        ArgKind.REST,
        help="what you are looking for, optionally with stage:<id> and kind:<kind>",
        usage="<query> [stage:<id>] [kind:<kind>]",
    ),
    example="/study resources pandas groupby kind:docs",
    heavy=True,
)
async def resources(ctx: Context, args: dict[str, Any]) -> Reply:
    # Before any work that grows with it: the filters, the search and the "nothing found" hint.
    if len(args["query"]) > MAX_QUERY_CHARS:
        raise UserError(
            f"That search is too long: {len(args['query']):,} characters, and a search takes up to "
            f"{MAX_QUERY_CHARS}. Try a few key words, e.g. `/study resources pandas groupby kind:docs`."
        )
    query, stage, kind = _filters(ctx, args["query"])
    search = ctx.core.search
    if not query:
        raise UserError("Say what you are looking for as well, e.g. `/study resources pytorch stage:python`.")
    hits = search.search(query, stage=stage, kind=kind)
    if not hits:
        places = search.closest_places(query)
        hint = f" The closest parts of the roadmap: {'; '.join(map(verbatim, places))}." if places else ""
        scope = "".join(
            f" {f}" for f in (f"stage:{stage}" if stage else "", f"kind:{kind}" if kind else "") if f
        )
        raise UserError(
            f"Nothing matched `{verbatim(query)}`{scope}.{hint} "
            "Try a library or topic name, or `/study roadmap`."
        )
    cards = []
    for hit in hits:
        res = hit.resource
        cost = "free" if res.free else "paid"
        fields = (
            Field("Kind", f"{res.kind} · {res.level} · {cost}", inline=True),
            Field("Why", "; ".join(reason.said(verbatim) for reason in hit.why[:3]), inline=True),
        )
        cards.append(Card(verbatim(res.title), verbatim(res.description), fields, url=res.url))
    shown = verbatim(args["query"])
    # Words no result has are named, so the results do not pass for an answer to them.
    unmatched = [part for part in hits[0].missing if all(part in hit.missing for hit in hits)]
    note = ""
    if unmatched:
        said = " or ".join(f"“{verbatim(part)}”" for part in unmatched)
        note = f" (nothing mentions {said}; these match the rest)"
    return Reply(text=f"🔎 Best {len(hits)} for `{shown}`{note}", cards=tuple(cards), ephemeral=True)

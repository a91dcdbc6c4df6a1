"""Finding a member from what a user typed: a platform mention, an id or a display name."""

from __future__ import annotations

import re

from bot.commands import UserError
from bot.types import Member

# Discord mentions look like <@123> or <@!123>; Slack's like <@U123> or <@U123|name>.
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


def resolve_member(query: str, candidates: list[Member]) -> Member:
    """Pick the member `query` names among `candidates`, or say who was meant."""
    text = query.strip()
    mention = _MENTION.match(text)
    key = (mention.group(1) if mention else text.lstrip("@")).casefold()
    for m in candidates:
        if m.user_id.casefold() == key:
            return m
    named = [m for m in candidates if m.name.casefold() == key]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UserError(f"More than one member is called `{text}`; mention them instead.")
    raise UserError(f"I don't know a member `{text}` here: they show up once they have joined a cohort.")

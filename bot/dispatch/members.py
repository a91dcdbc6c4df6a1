"""Finding a member from what a user typed: a platform mention, an id or a display name."""

from __future__ import annotations

import re

from bot.kernel.ports import MemberStore
from bot.kernel.registry import UserError
from bot.kernel.types import ConversationRef, Member

# Discord mentions look like <@123> or <@!123>; Slack's like <@U123> or <@U123|name>.
_MENTION = re.compile(r"^<@!?([A-Za-z0-9]+)(?:\|[^>]*)?>$")


async def find_member(
    members: MemberStore, conversation: ConversationRef, query: str, cohort_id: int | None = None
) -> Member:
    """The member `query` names in this workspace (in one cohort, given its id), read by the database.

    Only the few members the name or id matches are read, so the cost does not grow with the workspace.
    """
    key = _key(query)
    found = await members.find_members(conversation.platform, conversation.workspace_id, key, cohort_id)
    return resolve_member(query, found)


def _key(query: str) -> str:
    text = query.strip()
    mention = _MENTION.match(text)
    return mention.group(1) if mention else text.lstrip("@")


def resolve_member(query: str, candidates: list[Member]) -> Member:
    """Pick the member `query` names among `candidates`, or say who was meant."""
    text = query.strip()
    key = _key(query).casefold()
    for m in candidates:
        if m.user_id.casefold() == key:
            return m
    named = [m for m in candidates if m.name.casefold() == key]
    if len(named) == 1:
        return named[0]
    if len(named) > 1:
        raise UserError(f"More than one member is called `{text}`; mention them instead.")
    raise UserError(f"I don't know a member `{text}` here: they show up once they have joined a cohort.")

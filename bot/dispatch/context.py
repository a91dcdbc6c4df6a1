"""What a handler gets: the caller, where they are, and the core's services."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.kernel.clock import local_date
from bot.kernel.registry import UserError
from bot.kernel.types import Cohort, Member, UserRef
from bot.rules.calendar import Calendar
from bot.rules.dayguard import hop_problem

if TYPE_CHECKING:
    from bot.dispatch.core import Core
    from bot.kernel.ports import Store
    from bot.kernel.types import ConversationRef


@dataclass
class Context:
    core: Core
    user: UserRef
    conversation: ConversationRef
    member: Member

    @property
    def now(self) -> dt.datetime:
        return self.core.clock.now()

    def member_timezone(self, cohort: Cohort, member: Member | None = None) -> str:
        """The timezone that decides a member's day: their own, else the cohort's."""
        who = member or self.member
        return who.timezone or cohort.timezone

    def member_today(self, cohort: Cohort, member: Member | None = None) -> dt.date:
        return local_date(self.now, self.member_timezone(cohort, member))

    def calendar(self, cohort: Cohort, member: Member | None = None) -> Calendar:
        """The posting days that decide a member's streak in the cohort: its calendar less their breaks."""
        return Calendar.of(cohort, (member or self.member).breaks)

    def in_this_workspace(self, cohort: Cohort) -> bool:
        """Whether `cohort` belongs to the caller's platform and workspace (ids from outside may not)."""
        conv = self.conversation
        return (cohort.platform, cohort.workspace_id) == (conv.platform, conv.workspace_id)

    async def activity_day(self, cohort: Cohort) -> dt.date:
        """The caller's local date for an activity now; refuse a new day bought by changing timezone.

        The cohort's timezone changes too (a moderator's `cohort set tz`), so every member is checked.
        """
        day = self.member_today(cohort)
        recent = await self.core.store.activities(cohort.id, self.member.id, since=day - dt.timedelta(days=2))
        problem = hop_problem(recent, day, self.now, self.member_timezone(cohort))
        if problem:
            raise UserError(problem)
        return day

    async def cohort_here(self) -> Cohort | None:
        """The cohort that lives in this channel, if any."""
        conv = self.conversation
        for cohort in await self.core.store.list_cohorts(conv.platform, conv.workspace_id):
            if cohort.channel_id == conv.channel_id:
                return cohort
        return None

    async def my_cohort(self, name: str | None = None) -> Cohort:
        """The caller's cohort: the one named, else the one of this channel, else the latest joined."""
        # A member is one per platform, not per server: only this workspace's cohorts are theirs here.
        mine = [c for c in await self.core.store.member_cohorts(self.member.id) if self.in_this_workspace(c)]
        if name:
            for cohort in mine:
                if cohort.name.lower() == name.lower():
                    return cohort
            raise UserError(f"You are not in a cohort called `{name}`. {await self.join_hint(mine)}")
        if not mine:
            raise UserError(f"You have not joined a cohort yet. {await self.join_hint(mine)}")
        if len(mine) == 1:
            return mine[0]
        here = await self.cohort_here()
        if here and any(c.id == here.id for c in mine):
            return here
        return mine[0]

    async def join_hint(self, mine: list[Cohort]) -> str:
        if mine:
            return "Your cohorts: " + ", ".join(f"`{c.name}`" for c in mine) + "."
        conv = self.conversation
        names = [c.name for c in await self.core.store.list_cohorts(conv.platform, conv.workspace_id)]
        if names:
            return "Join one with `/study join <cohort>`: " + ", ".join(f"`{n}`" for n in names) + "."
        return "There are no cohorts here yet; a moderator can start one with `/study cohort create <name>`."


async def is_moderator(store: Store, user: UserRef, conversation: ConversationRef) -> bool:
    """Platform admins are moderators; so are members a moderator granted in this workspace."""
    if user.is_admin:
        return True
    return await store.is_moderator(conversation.platform, conversation.workspace_id, user.id)

"""The `roadmap` command: the stages in order and where the caller's cohort is."""

from __future__ import annotations

from typing import Any

from bot.commands import REGISTRY
from bot.context import Context
from bot.types import Card, Reply


@REGISTRY.command("roadmap", "Show the roadmap stages and where your cohort is.", example="/study roadmap")
async def roadmap(ctx: Context, _: dict[str, Any]) -> Reply:
    catalog = ctx.core.catalog
    mine = await ctx.core.store.member_cohorts(ctx.member.id)
    cohort = await ctx.my_cohort() if mine else None
    current = None
    if cohort is not None:
        latest = await ctx.core.store.latest_post(cohort.id)
        ch = catalog.challenges.get(latest.challenge_id) if latest else None
        current = ch.stage if ch else (catalog.stages[0].id if catalog.stages else None)
    passed = True
    lines = []
    for i, stage in enumerate(catalog.stages, 1):
        if stage.id == current:
            marker, passed = "📍", False
        elif current is not None and passed:
            marker = "✅"
        else:
            marker = "▫️"
        topics = ", ".join(t.title for t in stage.topics)
        lines.append(f"{marker} {i}. {stage.title} (~{stage.weeks} wk): {topics}")
    where = f"Cohort {cohort.name} is at 📍" if cohort else "Join a cohort to track where you are"
    return Reply(cards=(Card("🗺️ ML-engineer roadmap", "\n".join(lines), footer=where),), ephemeral=True)

"""Roadmap progress: stages with the member's progress and the cohort's place, topics learned, what next."""

from __future__ import annotations

from typing import Any

from bot.catalog.model import LEVELS, Catalog, Resource, Stage, Topic
from bot.catalog.names import find_stage, find_topic
from bot.catalog.pace import Position, position
from bot.dispatch.context import Context
from bot.dispatch.milestones import reached, stage_kind
from bot.kernel.clock import local_date
from bot.kernel.registry import Arg, ArgKind, Registry, UserError
from bot.kernel.types import Button, Card, Field, Reply, Style
from bot.kernel.untrusted import verbatim
from bot.rules.milestones import GRADUATED

BAR = 8  # squares in a progress bar


def progress_bar(done: int, total: int) -> str:
    filled = round(BAR * done / total) if total else 0
    return "▰" * filled + "▱" * (BAR - filled) + f" {done}/{total}"


async def _cohort_position(ctx: Context) -> Position | None:
    try:
        cohort = await ctx.my_cohort()
    except UserError:  # in no cohort of this workspace: the roadmap is still there to read
        return None
    return position(ctx.core.catalog, cohort, local_date(ctx.now, cohort.timezone))


# This module's commands; the composition root declares them on the core's registry.
COMMANDS = Registry()


@COMMANDS.command(
    "roadmap",
    "Show the roadmap with your progress and your cohort's stage, or one stage's topics.",
    Arg("stage", ArgKind.REST, required=False, help="a stage id or title, to see its topics"),
    example="/study roadmap python",
)
async def roadmap(ctx: Context, args: dict[str, Any]) -> Reply:
    catalog = ctx.core.catalog
    learned = await ctx.core.learning.learned_topics(ctx.member.learner)
    if "stage" in args:
        stage = find_stage(catalog, args["stage"])
        lines = [
            f"{'✅' if (stage.id, t.id) in learned else '▫️'} {verbatim(t.title)}: "
            f"{verbatim(t.description)} (`{stage.id}/{t.id}`)"
            for t in stage.topics
        ]
        done = sum((stage.id, t.id) in learned for t in stage.topics)
        card = Card(
            f"🗺️ {verbatim(stage.title)}",
            verbatim(stage.summary) + "\n\n" + "\n".join(lines),
            (
                Field("Your progress", progress_bar(done, len(stage.topics)), inline=True),
                Field("Suggested", f"{stage.weeks} week{'s' if stage.weeks != 1 else ''}", inline=True),
            ),
            footer="Mark a topic with /study learned <topic>",
        )
        return Reply(cards=(card,), ephemeral=True)
    here = await _cohort_position(ctx)
    lines = []
    for i, stage in enumerate(catalog.stages, 1):
        done = sum((stage.id, t.id) in learned for t in stage.topics)
        marker = "📍" if here and here.stage.id == stage.id else "✅" if done == len(stage.topics) else "▫️"
        lines.append(
            f"{marker} {i}. {verbatim(stage.title)} (~{stage.weeks} wk)  "
            f"{progress_bar(done, len(stage.topics))}"
        )
    if here:
        where = f"Your cohort is on 📍 {verbatim(here.stage.title)}, week {here.week + 1} of {here.weeks}."
    else:
        where = "Join a cohort to follow the roadmap together."
    footer = "/study roadmap <stage> shows its topics · /study next suggests what to learn"
    return Reply(
        cards=(Card("🗺️ ML-engineer roadmap", "\n".join(lines) + "\n\n" + where, footer=footer),),
        ephemeral=True,
    )


@COMMANDS.command(
    "learned",
    "Mark a roadmap topic as learned.",
    Arg("topic", ArgKind.REST, help="stage/topic, a topic id or its title"),
    example="/study learned python/numpy",
)
async def learned(ctx: Context, args: dict[str, Any]) -> Reply:
    stage, topic = find_topic(ctx.core.catalog, args["topic"])
    fresh = await ctx.core.learning.learn_topic(ctx.member.learner, stage.id, topic.id, ctx.now)
    mine = await ctx.core.learning.learned_topics(ctx.member.learner)
    done = sum((stage.id, t.id) in mine for t in stage.topics)
    if fresh and done == len(stage.topics):
        await _stage_completed(ctx, stage.id)
    title = verbatim(topic.title)
    head = f"✅ {title} is learned" if fresh else f"You had already learned {title}"
    bar = progress_bar(done, len(stage.topics))
    return Reply(text=f"{head}. {verbatim(stage.title)}: {bar}", ephemeral=True)


async def _stage_completed(ctx: Context, stage_id: str) -> None:
    """Every topic of a stage learned: a milestone in the member's cohort here, when they are in one."""
    mine = [c for c in await ctx.core.cohorts.member_cohorts(ctx.member.id) if ctx.in_this_workspace(c)]
    if mine:
        cohort = await ctx.my_cohort()
        today = ctx.member_today(cohort)
        await reached(ctx.core, cohort, ctx.member.id, stage_kind(stage_id), today)
        learned = await ctx.core.learning.learned_topics(ctx.member.learner)
        stages = ctx.core.catalog.stages
        if all((s.id, t.id) in learned for s in stages for t in s.topics):
            await reached(ctx.core, cohort, ctx.member.id, GRADUATED, today)


@COMMANDS.command(
    "unlearn",
    "Take a topic off your learned list.",
    Arg("topic", ArgKind.REST, help="stage/topic, a topic id or its title"),
    example="/study unlearn python/numpy",
)
async def unlearn(ctx: Context, args: dict[str, Any]) -> Reply:
    stage, topic = find_topic(ctx.core.catalog, args["topic"])
    if not await ctx.core.learning.unlearn_topic(ctx.member.learner, stage.id, topic.id):
        raise UserError(f"{verbatim(topic.title)} was not on your learned list.")
    return Reply(
        text=f"{verbatim(topic.title)} ({verbatim(stage.title)}) is no longer marked as learned.",
        ephemeral=True,
    )


def best_resources(catalog: Catalog, stage: Stage, topic: Topic, n: int = 2) -> list[Resource]:
    """Resources for a topic, beginner and free ones first; topped up from its stage."""

    def rank(r: Resource) -> tuple[int, int, int, str]:
        return (topic.id not in r.topics, LEVELS.index(r.level), not r.free, r.title)

    pool = [r for r in catalog.resources.values() if r.stage == stage.id]
    return sorted(pool, key=rank)[:n]


@COMMANDS.command(
    "next",
    "Suggest the next topic to learn, with two resources.",
    example="/study next",
)
async def next_topic(ctx: Context, _: dict[str, Any]) -> Reply:
    catalog = ctx.core.catalog
    learned_set = await ctx.core.learning.learned_topics(ctx.member.learner)
    here = await _cohort_position(ctx)
    start = catalog.stages.index(here.stage) if here else 0
    order = catalog.stages[start:] + catalog.stages[:start]
    for stage in order:
        topic = next((t for t in stage.topics if (stage.id, t.id) not in learned_set), None)
        if topic is not None:
            break
    else:
        return Reply(
            text="🎉 You have learned every topic on the roadmap. Time to build something!", ephemeral=True
        )
    picks = best_resources(catalog, stage, topic)
    fields = tuple(
        Field(f"{verbatim(r.title)} ({r.kind}, {r.level})", f"{verbatim(r.description)}\n{r.url}")
        for r in picks
    )
    why = (
        "your cohort's current stage"
        if here and stage.id == here.stage.id
        else "the next stage with open topics"
    )
    card = Card(
        f"👉 Next: {verbatim(topic.title)}",
        f"{verbatim(topic.description)}\nFrom {verbatim(stage.title)}, {why}.",
        fields,
        footer=f"Done? /study learned {stage.id}/{topic.id}",
        style=Style.PRIMARY,
    )
    button = Button("I learned it ✅", "learned", (f"{stage.id}/{topic.id}",), Style.SUCCESS)
    return Reply(cards=(card,), buttons=(button,), ephemeral=True)

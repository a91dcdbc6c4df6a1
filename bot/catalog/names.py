"""A stage or topic as a member names it: by id or title, with a close-match hint when there is none."""

from __future__ import annotations

import difflib

from bot.catalog.model import Catalog, Stage, Topic
from bot.kernel.registry import UserError


def find_stage(catalog: Catalog, text: str) -> Stage:
    wanted = text.strip().lower()
    for stage in catalog.stages:
        if wanted in (stage.id, stage.title.lower()):
            return stage
    ids = [s.id for s in catalog.stages]
    close = difflib.get_close_matches(wanted, ids, n=1, cutoff=0.5)
    hint = f" Did you mean `{close[0]}`?" if close else f" Stages: {', '.join(ids)}."
    raise UserError(f"There is no stage `{text}`.{hint}")


def find_topic(catalog: Catalog, text: str) -> tuple[Stage, Topic]:
    """A topic named by `stage/topic`, by its id, or by its title."""
    wanted = text.strip().lower()
    stage_part, slash, topic_part = wanted.partition("/")
    found = [
        (s, t)
        for s in catalog.stages
        for t in s.topics
        if (slash and s.id == stage_part and t.id == topic_part)
        or (not slash and wanted in (t.id, t.title.lower()))
    ]
    if len(found) == 1:
        return found[0]
    if found:
        options = ", ".join(f"`{s.id}/{t.id}`" for s, t in found)
        raise UserError(f"`{text}` is a topic in more than one stage: say which, {options}.")
    names = {f"{s.id}/{t.id}": f"{s.id}/{t.id}" for s in catalog.stages for t in s.topics}
    names |= {t.title.lower(): f"{s.id}/{t.id}" for s in catalog.stages for t in s.topics}
    names |= {t.id: f"{s.id}/{t.id}" for s in catalog.stages for t in s.topics}
    close = difflib.get_close_matches(wanted, list(names), n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(dict.fromkeys(f'`{names[c]}`' for c in close))}?" if close else ""
    raise UserError(f"I don't know the topic `{text}`.{hint} See the topics with `/study roadmap <stage>`.")


def topic_title(catalog: Catalog, stage_id: str, topic_id: str) -> str:
    """A topic's title, or its id when the content no longer has it."""
    stage = catalog.stage(stage_id)
    return next((t.title for t in stage.topics if t.id == topic_id), topic_id) if stage else topic_id

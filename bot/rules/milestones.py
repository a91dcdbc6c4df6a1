"""Milestones: which a member reached, by kind. Pure; recording them once is the store's."""

from __future__ import annotations

# Streak lengths worth a word in the channel.
STREAK_MILESTONES = (7, 30, 100)
FIRST_ACCEPTED = "first-accepted"
GRADUATED = "graduated"  # every topic of every stage learned: the roadmap completed
STAGE_PREFIX = "stage:"


def streak_kinds(current: int) -> list[str]:
    """The streak milestones a current streak has reached (recorded once each, so re-reaching is quiet)."""
    return [f"streak-{n}" for n in STREAK_MILESTONES if current >= n]


def stage_kind(stage_id: str) -> str:
    return STAGE_PREFIX + stage_id

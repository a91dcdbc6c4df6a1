"""The feature modules studybot serves, and the registry of their commands that the core dispatches from."""

from __future__ import annotations

from bot.features import (
    challenges,
    cohorts,
    health,
    help,
    leaderboard,
    linking,
    lookup,
    membership,
    moderation,
    peer_review,
    pods,
    progress,
    reminders,
    restdays,
    review,
    roadmap,
    submissions,
)
from bot.kernel.registry import Registry

# Platforms list the commands in this order (Discord's command tree, Slack's and the console's help).
FEATURES = (
    challenges,
    cohorts,
    moderation,  # its commands (cohort fix, export, grant, revoke) follow cohorts' in the listed order
    health,
    help,
    leaderboard,
    lookup,
    membership,
    progress,
    reminders,
    restdays,
    review,
    roadmap,
    submissions,
    peer_review,
    pods,
    linking,
)


def command_registry() -> Registry:
    """Every feature's commands, declared on one new registry."""
    registry = Registry()
    for feature in FEATURES:
        registry.include(feature.COMMANDS)
    return registry

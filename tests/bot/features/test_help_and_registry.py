"""Every command is declared once, and help is written from the declarations."""

from __future__ import annotations

import pytest

from bot.composition.commands import command_registry
from bot.kernel.registry import tokenize
from bot.kernel.types import ConversationRef, UserRef
from tests.conftest import Bot, text_of

REGISTRY = command_registry()
ISSUE_COMMANDS = {
    "help",
    "today",
    "answer",
    "done",
    "streak",
    "leaderboard",
    "resources",
    "roadmap",
    "join",
    "leave",
    "timezone",
    "cohort create",
    "cohort set",
    "cohort pause",
    "cohort resume",
    "cohort list",
    "cohort fix",
    "cohort export",
}


def test_every_command_of_the_issue_is_registered_with_help_and_an_example() -> None:
    names = {spec.name for spec in REGISTRY}
    assert ISSUE_COMMANDS <= names
    for spec in REGISTRY:
        assert spec.summary.endswith(".") and spec.example.startswith(f"/study {spec.name}")


async def test_help_lists_every_command_once_grouped_as_a_member_looks_for_them(bot: Bot) -> None:
    reply = await bot.say("Ada", "help")
    assert [c.title for c in reply.cards] == [
        "📅 Daily challenge",
        "🤝 Peer review",
        "📈 Progress",
        "📚 Learning",
        "👥 Your cohort and settings",
        "🛡️ For moderators",
    ]
    assert "`/study help <command>` shows one with an example" in reply.text
    lines = {card.title: card.body.splitlines() for card in reply.cards}
    assert lines["📅 Daily challenge"][0].startswith("`/study today`: ")
    listed = [line for body in lines.values() for line in body]
    for spec in bot.core.registry:
        line = f"`{spec.usage()}`: {spec.summary}"
        if spec.name == "help":
            assert line not in listed  # the reply's first sentence says how to use it
        elif spec.moderator:
            assert line in lines["🛡️ For moderators"]
        else:
            assert listed.count(line) == 1 and line not in lines["🛡️ For moderators"]
    assert all("\n" not in spec.summary for spec in bot.core.registry)  # one line each


def test_every_member_command_has_its_own_section() -> None:
    from bot.features.help import MODERATORS, MORE, sections

    titles = [title for title, _ in sections(REGISTRY)]
    assert MORE not in titles  # a new member command is sorted into SECTIONS in bot/features/help.py
    assert titles[-1] == MODERATORS


@pytest.mark.parametrize("name", sorted(ISSUE_COMMANDS | {"cohort grant", "cohort revoke"}))
async def test_help_for_one_command_shows_usage_and_example(bot: Bot, name: str) -> None:
    spec = bot.core.registry.get(name)
    assert spec is not None
    shown = text_of(await bot.say("Ada", f"help {name}"))
    assert f"Usage: `{spec.usage()}`" in shown and f"Example: `{spec.example}`" in shown


async def test_help_for_the_cohort_group_lists_its_commands(bot: Bot) -> None:
    shown = text_of(await bot.say("Ada", "help cohort"))
    assert (
        "/study cohort create <name> [time=HH:MM] [tz=Area/City] [days=mon-fri] [start=YYYY-MM-DD]" in shown
    )


def test_typed_text_becomes_an_invocation_with_or_without_the_root_word() -> None:
    user, where = UserRef("console", "ada", "Ada"), ConversationRef("console", "w", "c")
    a = REGISTRY.invocation("/study cohort CREATE ml tz=Europe/Berlin", user, where)
    b = REGISTRY.invocation("cohort create ml tz=Europe/Berlin", user, where)
    assert a == b and a.command == "cohort create" and a.args == ("ml", "tz=Europe/Berlin")
    assert REGISTRY.invocation("   ", user, where).command == "help"


def test_tokenize_keeps_quoted_words_and_apostrophes() -> None:
    assert tokenize('done "two words" didn\'t') == ("done", "two words", "didn't")


def test_the_command_order_platforms_see_does_not_depend_on_what_was_imported_first() -> None:
    """A test or tool importing a feature module first must not reorder Discord's command tree."""
    import subprocess
    import sys

    probe = "{}\nfrom bot.composition.commands import command_registry\n"
    probe += "print([s.name for s in command_registry()])"
    orders = [
        subprocess.run(
            [sys.executable, "-c", probe.format(first)], capture_output=True, text=True, check=True
        ).stdout
        for first in (
            "",
            "import bot.features.roadmap, bot.features.leaderboard",
            "import bot.features.restdays, bot.features.review",
        )
    ]
    assert orders[0] and orders[0] == orders[1] == orders[2]


def test_every_feature_module_is_served() -> None:
    """A feature module left out of FEATURES would declare commands nobody can run."""
    import importlib
    import pkgutil

    import bot.features
    from bot.composition.commands import FEATURES

    names = [m.name for m in pkgutil.iter_modules(bot.features.__path__)]
    modules = [importlib.import_module(f"bot.features.{name}") for name in names]
    assert len(names) >= 12 and all(hasattr(m, "COMMANDS") for m in modules)
    assert sorted(m.__name__ for m in FEATURES) == sorted(m.__name__ for m in modules)

"""Hostile input through core.dispatch: arbitrary commands and arguments never raise, every error is a
clear message, and an error changes nothing in storage. 2,000 examples of each kind per database in CI."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.dispatch.core import Core
from bot.kernel.types import Invocation, UserRef
from tests.conftest import CHANNEL, Bot, snapshot

NASTY = [
    "'; DROP TABLE member; --",
    "<script>alert(1)</script>",
    "<@U123|x>",
    "@everyone",
    "\x00",
    "\u202e",
    "𝔘𝔫𝔦",
    "time=",
    "tz=../../etc/passwd",
    "days=mon-",
    "start=9999-99-99",
    "A",
    "b",
    "review:",
    "review:nope",
    "1e9",
    "-1",
    "0",
    "ml",
    "demo",
    " ",
    "\n",
    "\t",
    "%s%n",
    "{{7*7}}",
    "\\",
    '"',
    "x" * 2100,
    "y" * 10_000,
    "é" * 10_000,
]
words = st.one_of(
    st.sampled_from(NASTY), st.text(max_size=40), st.text(alphabet=st.characters(), max_size=300)
)
# The commands that store free text, drawn more often: that is where hostile text could get in.
WRITERS = ["done", "cohort fix", "cohort create", "cohort set", "join", "timezone", "learned", "remind"]


def command_names(core: Core) -> list[str]:
    return [spec.name for spec in core.registry] + ["cohort", "nope", "", "STREAK", "help me"]


@pytest.fixture
async def seeded(bot: Bot) -> Bot:
    bot.core.limiter = None  # thousands of examples at a standing clock: every one must reach the command
    bot.admins.add("Ada")
    assert not (await bot.say("Mia", "cohort create ml tz=UTC days=daily")).error
    await bot.say("Ada", "join ml")
    return bot


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
async def test_arbitrary_invocations_never_raise_and_errors_change_nothing(
    seeded: Bot, data: st.DataObject
) -> None:
    core = seeded.core
    name = data.draw(
        st.one_of(st.sampled_from(WRITERS), st.sampled_from(command_names(core))), label="command"
    )
    args = tuple(data.draw(st.lists(words, max_size=5), label="args"))
    who = data.draw(st.sampled_from(["Mia", "Ada", "Zed"]), label="user")
    inv = Invocation(name, args, UserRef("console", who.lower(), who, is_admin=who == "Mia"), CHANNEL)
    before = await snapshot(core.store)  # type: ignore[arg-type]
    reply = await core.dispatch(inv)
    if reply.error:
        assert reply.text.startswith("⚠️ ") and "Traceback" not in reply.text
        assert "Something went wrong on our side" not in reply.text, reply.text  # a bug, not bad input
        after = await snapshot(core.store)  # type: ignore[arg-type]
        # Registering a first-time member is not a change a user could notice; anything else is.
        assert {k: v for k, v in after.items() if k != "member"} == {
            k: v for k, v in before.items() if k != "member"
        }


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=2500), st.lists(words, max_size=8).map(" ".join)))
async def test_arbitrary_typed_lines_never_raise(seeded: Bot, text: str) -> None:
    reply = await seeded.say("Ada", text)
    assert reply.text or reply.cards
    assert "Something went wrong on our side" not in reply.text, reply.text

"""A filled-in form comes back through dispatch like a click: answers fill arguments whole, bounded and
cleaned like typed text, and a forged answer fills nothing it should not."""

from __future__ import annotations

from typing import Any

from bot.composition.app import make_core
from bot.kernel.clock import FakeClock
from bot.kernel.registry import Arg, ArgKind, CommandSpec
from bot.kernel.types import Invocation, Reply, UserRef
from storage.sql_store import SqlStore
from tests.conftest import CHANNEL, START

USER = UserRef("console", "ada", "Ada")


async def _echo(ctx: Any, args: dict[str, Any]) -> Reply:
    return Reply(text=repr(sorted(args.items())))


SPEC = CommandSpec(
    "rate",
    "Rate something.",
    _echo,
    (
        Arg("thing", ArgKind.WORD, hidden=True),
        Arg("verdict", ArgKind.CHOICE, required=False, choices=("accept", "needs-work")),
        Arg("checks", ArgKind.WORD, required=False, key="checks"),
        Arg("comment", ArgKind.REST, required=False),
    ),
)


async def _core(sqlite_store: SqlStore, catalog: Any) -> Any:
    core = make_core(sqlite_store, catalog, FakeClock(START))
    core.registry.add(SPEC)
    return core


async def test_answers_fill_arguments_whole_and_never_as_key_value(
    sqlite_store: SqlStore, catalog: Any
) -> None:
    core = await _core(sqlite_store, catalog)
    answers = (("verdict", "Accept"), ("checks", "1,3"), ("comment", "checks=all  and x=y\nsecond line"))
    reply = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=answers))
    comment = ("comment", "checks=all  and x=y\nsecond line")
    assert reply.text == repr([("checks", "1,3"), comment, ("thing", "7"), ("verdict", "accept")])


async def test_an_empty_answer_leaves_the_argument_out(sqlite_store: SqlStore, catalog: Any) -> None:
    core = await _core(sqlite_store, catalog)
    reply = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=(("comment", "  "),)))
    assert reply.text == repr([("thing", "7")])


async def test_a_forged_answer_for_a_hidden_or_unknown_argument_is_refused(
    sqlite_store: SqlStore, catalog: Any
) -> None:
    core = await _core(sqlite_store, catalog)
    for name in ("thing", "points"):
        reply = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=((name, "9"),)))
        assert reply.error and "does not take" in reply.text


async def test_answers_are_bounded_and_cleaned_like_typed_text(sqlite_store: SqlStore, catalog: Any) -> None:
    core = await _core(sqlite_store, catalog)
    long = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=(("comment", "x" * 2100),)))
    assert long.error and "too long" in long.text
    nul = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=(("comment", "a\x00b"),)))
    assert nul.error and "control characters" in nul.text
    bad = await core.dispatch(Invocation("rate", ("7",), USER, CHANNEL, fields=(("verdict", "maybe"),)))
    assert bad.error and "is not one of accept, needs-work" in bad.text

"""A studybot Form as a Slack modal, pure: within Slack's limits (checked by slack_sdk's View model and the
fake's contract), shortened visibly, escaped, and refused when it cannot fit; a submitted state as answers."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.models.views import View

from adapters.slack.forms import (
    ERROR_TEXT_MAX,
    OPTION_TEXT_MAX,
    VIEW_TITLE_MAX,
    answers,
    error_block,
    error_text,
    form_view,
    reply_view,
)
from adapters.slack.render import MRKDWN_LOOKALIKES, decode_action
from bot.kernel.types import Button, Card, FieldKind, Form, FormField, Option, Reply
from bot.kernel.untrusted import verbatim
from tests.fakes.slack.server import check_view, escaping_problems

HOSTILE = "<!channel> @everyone <@&1> <@U1> *bold* _it_ `code` > quote & co"


def form(**overrides: Any) -> Form:
    fields = (
        FormField(
            "verdict", "Verdict", FieldKind.ONE, (Option("accept", "Accept"), Option("needs-work", "x" * 200))
        ),
        FormField("checks", "Checks", FieldKind.MANY, tuple(Option(str(i), f"check {i}") for i in range(10))),
        FormField("comment", "Comment", FieldKind.TEXT, required=False, max_chars=5000, hint="What to fix"),
    )
    given: dict[str, Any] = {
        "title": "Review of a task with a long name",
        "command": "review",
        "args": ("7", "ada"),
        "fields": fields,
        "intro": "Review " + verbatim(HOSTILE),
    }
    return Form(**(given | overrides))


def valid(view: dict[str, Any]) -> dict[str, Any]:
    """`view`, after slack_sdk's View model and the fake Slack's contract accepted it."""
    View(**view).validate_json()
    check_view(view, lambda _: True, modal=True)
    return view


def test_a_form_is_a_modal_whose_ids_carry_the_command_and_channel() -> None:
    view = valid(form_view(form(), "C0GENERAL"))
    assert decode_action(view["callback_id"]) == ("review", ("7", "ada"))
    assert view["private_metadata"] == "C0GENERAL"
    assert view["submit"]["text"] == "Send" and view["close"]["text"] == "Cancel"
    intro, verdict, checks, comment = view["blocks"]
    assert intro["type"] == "section"
    assert [b["block_id"] for b in (verdict, checks, comment)] == ["verdict", "checks", "comment"]
    assert [b["element"]["action_id"] for b in (verdict, checks, comment)] == ["verdict", "checks", "comment"]
    assert verdict["element"]["type"] == "radio_buttons" and verdict["optional"] is False
    assert (
        checks["element"]["type"] == "checkboxes" and checks["optional"] is True
    )  # none ticked is an answer
    assert comment["element"] == {
        "type": "plain_text_input",
        "action_id": "comment",
        "multiline": True,
        "max_length": 3000,  # Slack's most, though the command would take 5,000
    }
    assert comment["optional"] is True and comment["hint"]["text"] == "What to fix"


def test_title_and_option_labels_are_shortened_visibly() -> None:
    view = valid(form_view(form(), "C1"))
    title = view["title"]["text"]
    assert len(title) == VIEW_TITLE_MAX and title.endswith("…") and title.startswith("Review of a task")
    long = view["blocks"][1]["element"]["options"][1]
    assert long["value"] == "needs-work"
    assert len(long["text"]["text"]) == OPTION_TEXT_MAX and long["text"]["text"] == "x" * 74 + "…"


def test_hostile_text_is_escaped_in_the_intro_and_literal_in_plain_text() -> None:
    labelled = FormField("note", HOSTILE, FieldKind.TEXT, hint=HOSTILE)
    view = valid(form_view(form(title=HOSTILE, fields=(labelled,)), "C1"))
    intro = view["blocks"][0]["text"]
    assert intro["verbatim"] is True and escaping_problems(intro["text"], "/intro") == []
    assert "&lt;!channel&gt;" in intro["text"] and "&lt;@&amp;1&gt;" in intro["text"]
    assert "*bold*".translate(MRKDWN_LOOKALIKES) in intro["text"] and "*" not in intro["text"]
    assert "`" not in intro["text"] and "\n&gt;" not in intro["text"]
    # plain_text is shown as written by Slack: never a mention, never formatting.
    label = view["blocks"][1]["label"]
    assert label["type"] == "plain_text" and label["text"] == HOSTILE
    assert view["title"]["type"] == "plain_text"


@pytest.mark.parametrize(
    ("overrides", "why"),
    [
        ({"fields": tuple(FormField(f"f{i}", "F", FieldKind.TEXT) for i in range(100))}, "fields"),
        (
            {"fields": (FormField("c", "C", FieldKind.MANY, tuple(Option(str(i), "o") for i in range(11))),)},
            "11",
        ),
        ({"fields": (FormField("c", "C", FieldKind.ONE),)}, "no options"),
        ({"fields": (FormField("c", "C", FieldKind.ONE, (Option("v" * 151, "long"),)),)}, "too long"),
        ({"fields": (FormField("c", "C", FieldKind.TEXT), FormField("c", "D", FieldKind.TEXT))}, "distinct"),
        ({"args": ("x" * 300,)}, "carries too much"),
    ],
)
def test_a_form_that_cannot_fit_raises(overrides: dict[str, Any], why: str) -> None:
    with pytest.raises(ValueError, match=why):
        form_view(form(**overrides), "C1")


def test_four_fields_with_ten_options_each_fit() -> None:
    options = tuple(Option(f"o{i}", "label " * 40) for i in range(10))
    fields = tuple(FormField(f"f{i}", "F " * 1500, FieldKind.MANY, options) for i in range(3))
    valid(form_view(form(fields=(*fields, FormField("t", "T", FieldKind.TEXT, max_chars=1))), "C1"))


def test_a_reply_shown_in_a_modal_keeps_its_cards_and_buttons() -> None:
    reply = Reply(
        text="Saved " + verbatim(HOSTILE), cards=(Card("Done", "body"),), buttons=(Button("Again", "review"),)
    )
    view = valid(reply_view(reply, "C1"))
    assert view["title"]["text"] == "studybot" and view["close"]["text"] == "Close" and "submit" not in view
    assert [b["type"] for b in view["blocks"]] == ["section", "header", "section", "actions"]
    assert valid(reply_view(Reply(), "C1"))["blocks"][0]["text"]["text"] == "studybot"


def test_a_submitted_state_becomes_the_answers_by_field_name() -> None:
    view = {
        "state": {
            "values": {
                "verdict": {"verdict": {"type": "radio_buttons", "selected_option": {"value": "accept"}}},
                "checks": {
                    "checks": {"type": "checkboxes", "selected_options": [{"value": "1"}, {"value": "3"}]}
                },
                "comment": {"comment": {"type": "plain_text_input", "value": "a\nb, c=d"}},
                "empty": {"empty": {"type": "plain_text_input", "value": None}},
                "none": {"none": {"type": "radio_buttons", "selected_option": None}},
            }
        }
    }
    assert answers(view) == (
        ("verdict", "accept"),
        ("checks", "1,3"),
        ("comment", "a\nb, c=d"),
        ("empty", ""),
        ("none", ""),
    )
    assert error_block(view) == "comment"  # the text field, where the member typed
    assert error_block({"state": {"values": {"verdict": {}, "checks": {}}}}) == "verdict"
    assert error_block({}) is None


def test_an_error_is_plain_and_shortened() -> None:
    text = error_text("⚠️ " + verbatim("<b>") + " " + "y" * 1000)
    assert len(text) == ERROR_TEXT_MAX and text.endswith("(shortened)") and text.startswith("⚠️ <b> y")

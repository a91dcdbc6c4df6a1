"""Slack Block Kit rendering within Slack's limits, and the app manifest a workspace admin pastes."""

from __future__ import annotations

from pathlib import Path

import yaml

from adapters.slack.render import (
    BLOCKS_MAX,
    SECTION_TEXT_MAX,
    SHORTENED,
    decode_action,
    encode_action,
    render,
)
from bot.kernel.types import Button, Card, Field, Image, Reply, Style

MANIFEST = Path(__file__).resolve().parents[3] / "adapters" / "slack" / "manifest.yaml"


def test_a_card_becomes_header_section_fields_and_context() -> None:
    reply = Reply(
        text="Hi <@everyone> & co",
        cards=(
            Card(
                "📚 Daily quiz",
                "Which is right?",
                (Field("Stage", "Python"),),
                "Cohort ml",
                url="https://x.org",
            ),
        ),
        buttons=(Button("A", "answer", ("A", "7"), Style.PRIMARY), Button("Done", "done")),
        ephemeral=True,
    )
    message = render(reply)
    types = [b["type"] for b in message.blocks]
    assert types == ["section", "header", "section", "section", "context", "actions"]
    assert message.blocks[0]["text"]["text"] == "Hi &lt;@everyone&gt; &amp; co"  # no accidental mention
    assert message.blocks[2]["text"]["text"].endswith("<https://x.org|https://x.org>")
    assert message.blocks[3]["fields"][0]["text"] == "*Stage*\nPython"
    first, second = message.blocks[5]["elements"]
    assert decode_action(first["action_id"]) == ("answer", ("A", "7")) and first["style"] == "primary"
    assert "style" not in second
    # The notification text is mrkdwn too: escaped the same way.
    assert message.ephemeral and message.text.startswith("Hi &lt;@everyone&gt; &amp; co")


def test_long_text_and_many_blocks_are_cut_visibly() -> None:
    many = tuple(Card(f"card {i}", "x" * 4000) for i in range(30))
    message = render(Reply(cards=many))
    assert len(message.blocks) == BLOCKS_MAX
    assert "more blocks not shown" in message.blocks[-1]["elements"][0]["text"]
    body = message.blocks[1]["text"]["text"]
    assert len(body) <= SECTION_TEXT_MAX and body.endswith(SHORTENED)
    assert len(message.text) <= 3000


def test_buttons_round_trip_and_images_become_uploads() -> None:
    button = Button("B", "answer", ("B", "review:python-numpy-1"))
    assert decode_action(encode_action(button)) == ("answer", ("B", "review:python-numpy-1"))
    assert decode_action("not-ours") is None
    message = render(Reply(images=(Image("streak.png", b"png", "heatmap"),)))
    assert message.files == [("streak.png", b"png", "heatmap")]


def test_the_manifest_declares_the_command_scopes_home_and_socket_mode() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert [c["command"] for c in manifest["features"]["slash_commands"]] == ["/study"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "files:write", "im:write", "users:read"} <= scopes
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["settings"]["interactivity"]["is_enabled"] and manifest["settings"]["socket_mode_enabled"]

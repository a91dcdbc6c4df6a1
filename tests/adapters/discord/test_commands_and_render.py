"""The Discord command tree comes from the core's registry, and replies fit Discord's limits."""

from __future__ import annotations

import json
import os
from pathlib import Path

import discord
import pytest

from adapters.discord.commands import install, payload
from adapters.discord.render import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    EMBED_TOTAL_MAX,
    FIELDS_MAX,
    SHORTENED,
    decode_custom_id,
    encode_custom_id,
    render,
)
from bot.catalog.model import Catalog
from bot.composition.app import make_core
from bot.kernel.clock import FakeClock
from bot.kernel.types import Button, Card, Field, Image, Reply
from tests.conftest import START

SNAPSHOT = Path(__file__).with_name("commands.snapshot.json")


@pytest.fixture
def sync_payload(catalog: Catalog) -> list[dict[str, object]]:
    client = discord.Client(intents=discord.Intents.none())
    core = make_core(None, catalog, FakeClock(START))  # type: ignore[arg-type]  # building the tree needs no store
    return payload(install(client, core))


def test_the_sync_payload_matches_the_snapshot(sync_payload: list[dict[str, object]]) -> None:
    if os.environ.get("STUDYBOT_UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(json.dumps(sync_payload, indent=2, sort_keys=True) + "\n")
    assert sync_payload == json.loads(SNAPSHOT.read_text()), (
        "run with STUDYBOT_UPDATE_SNAPSHOTS=1 after a change"
    )


def test_every_core_command_is_a_slash_command_once(
    sync_payload: list[dict[str, object]], catalog: Catalog
) -> None:
    study, cohort = sync_payload
    names = [f"study {o['name']}" for o in study["options"]] + [
        f"cohort {o['name']}" for o in cohort["options"]
    ]  # type: ignore[index, union-attr]
    core = make_core(None, catalog, FakeClock(START))  # type: ignore[arg-type]
    expected = [s.name if s.name.startswith("cohort ") else f"study {s.name}" for s in core.registry]
    assert sorted(names) == sorted(expected) and len(names) == len(set(names))


def test_moderator_commands_are_for_manage_server_and_never_in_dms(
    sync_payload: list[dict[str, object]],
) -> None:
    study, cohort = sync_payload
    assert cohort["default_member_permissions"] == 32 and cohort["dm_permission"] is False  # MANAGE_GUILD
    assert study["default_member_permissions"] is None


def test_options_are_typed_described_and_suggested(sync_payload: list[dict[str, object]]) -> None:
    study, cohort = sync_payload
    subs = {o["name"]: o for o in study["options"]} | {f"cohort {o['name']}": o for o in cohort["options"]}  # type: ignore[union-attr, index]
    for sub in subs.values():
        assert len(sub["description"]) <= DESCRIPTION_MAX  # type: ignore[arg-type]
        for option in sub.get("options", []):  # type: ignore[union-attr]
            assert option["type"] == 3 and 0 < len(option["description"]) <= DESCRIPTION_MAX
    [choice] = subs["answer"]["options"]  # type: ignore[index]  # the hidden button reference is not an option
    assert [c["value"] for c in choice["choices"]] == ["A", "B", "C", "D"]
    assert subs["join"]["options"][0]["autocomplete"] is True  # type: ignore[index]
    assert subs["cohort set"]["options"][0]["autocomplete"] is True  # type: ignore[index]
    assert "autocomplete" not in subs["cohort create"]["options"][0]  # type: ignore[index]  # a new name


def test_long_replies_are_shortened_visibly_within_discords_limits() -> None:
    fields = tuple(Field(f"field {i}", "v" * 900) for i in range(30))
    reply = Reply(text="t" * 3000, cards=(Card("title", "b" * 5000, fields, footer="foot"),) * 3)
    message = render(reply)
    assert len(message.content) <= CONTENT_MAX and message.content.endswith(SHORTENED)
    assert sum(len(e) for e in message.embeds) <= EMBED_TOTAL_MAX
    first = message.embeds[0]
    assert first.description is not None and first.description.endswith(SHORTENED)
    assert len(first.fields) <= FIELDS_MAX
    assert first.footer.text is not None and "more not shown" in first.footer.text


def test_buttons_carry_their_command_for_after_a_restart() -> None:
    button = Button("B", "answer", ("B", "42"))
    assert decode_custom_id(encode_custom_id(button)) == ("answer", ("B", "42"))
    assert decode_custom_id("someone-elses-button") is None
    message = render(Reply(buttons=(button, Button("Done", "done"))))
    view = message.view()
    assert view is not None and view.timeout is None  # persistent
    assert [b.custom_id for b in message.buttons] == [encode_custom_id(button), "study\x1fdone"]


def test_images_become_attachments() -> None:
    message = render(Reply(images=(Image("streak.png", b"\x89PNG", "heatmap"),)))
    assert [f.filename for f in message.files] == ["streak.png"]


def test_moderator_commands_are_spelled_the_discord_way() -> None:
    reply = Reply(
        text="⚠️ Try `/study cohort list`.",
        cards=(
            Card(
                "/study cohort create",
                "Use /study cohort fix",
                (Field("Usage", "`/study cohort set <name>`"),),
            ),
        ),
    )
    message = render(reply)
    assert message.content == "⚠️ Try `/cohort list`."
    embed = message.embeds[0]
    assert (embed.title, embed.description, embed.fields[0].value) == (
        "/cohort create",
        "Use /cohort fix",
        "`/cohort set <name>`",
    )
    assert render(Reply(text="`/study today`")).content == "`/study today`"

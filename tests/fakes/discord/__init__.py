"""A fake of Discord's REST API and gateway for running the real discord.py in tests; see ``server``."""

from tests.fakes.discord.server import (
    APPLICATION_ID,
    BOT_USER_ID,
    CHANNEL_ID,
    DEFAULT_TOKEN,
    GUILD_ID,
    USER_ID,
    FakeDiscord,
    FakeInteraction,
    RecordedRequest,
)

__all__ = [
    "APPLICATION_ID",
    "BOT_USER_ID",
    "CHANNEL_ID",
    "DEFAULT_TOKEN",
    "GUILD_ID",
    "USER_ID",
    "FakeDiscord",
    "FakeInteraction",
    "RecordedRequest",
]

"""Configuration from environment variables (and a .env file), read once at start."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///studybot.db"


class Settings(BaseSettings):
    """Every variable studybot reads; the README's configuration table lists the same."""

    # Empty variables count as unset (compose passes `${VAR:-}` through as "").
    model_config = SettingsConfigDict(
        env_prefix="STUDYBOT_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    # Left out of the repr: a PostgreSQL URL may hold a password.
    database_url: str = Field(default=DEFAULT_DATABASE_URL, repr=False)
    # PostgreSQL connections each process keeps open (SQLite ignores it); the scheduler's leader holds one.
    db_pool_size: int = Field(default=10, ge=2, le=500)
    log_level: str = "WARNING"
    files_dir: str = "studybot-files"
    # Community content packs, separated like PATH (":" on Linux and macOS, ";" on Windows).
    content_dirs: str = ""
    # Platform variables keep the names their own documentation uses. Secrets are SecretStr, so that a
    # printed or logged Settings shows ********** (read them with .get_secret_value()).
    discord_token: SecretStr = Field(default=SecretStr(""), validation_alias="DISCORD_TOKEN")
    discord_guild_id: int | None = Field(default=None, validation_alias="DISCORD_GUILD_ID")
    discord_api_base: str = Field(default="", validation_alias="DISCORD_API_BASE")
    discord_sharded: bool = Field(default=False, validation_alias="DISCORD_SHARDED")
    # With several instances, each takes its own shard, so each interaction reaches exactly one of them.
    discord_shard_id: int | None = Field(default=None, validation_alias="DISCORD_SHARD_ID")
    discord_shard_count: int | None = Field(default=None, validation_alias="DISCORD_SHARD_COUNT")
    slack_bot_token: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_BOT_TOKEN")
    slack_app_token: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_APP_TOKEN")
    slack_signing_secret: SecretStr = Field(default=SecretStr(""), validation_alias="SLACK_SIGNING_SECRET")
    slack_api_url: str = Field(default="", validation_alias="SLACK_API_URL")

    def community_packs(self) -> list[Path]:
        return [Path(p) for p in self.content_dirs.split(os.pathsep) if p.strip()]

"""Configuration from environment variables (and a .env file), read once at start."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///studybot.db"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class SettingError(Exception):
    """A setting studybot cannot start with; the message names the setting and says what to do."""


class Settings(BaseSettings):
    """Every variable studybot reads; the README's configuration table lists the same.

    Each field's description is what `studybot run --help` prints for its variable.
    """

    # Empty variables count as unset (compose passes `${VAR:-}` through as "").
    model_config = SettingsConfigDict(
        env_prefix="STUDYBOT_", env_file=".env", extra="ignore", env_ignore_empty=True
    )

    # Left out of the repr: a PostgreSQL URL may hold a password.
    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        repr=False,
        description="the database: sqlite+aiosqlite:///FILE or postgresql+asyncpg://user@host:5432/db",
    )
    # Kept apart from the URL so that any password works as it is (compose passes POSTGRES_PASSWORD here):
    # inside a URL, @ : / % and friends would have to be percent-encoded by hand.
    database_password: SecretStr = Field(
        default=SecretStr(""),
        description="the database password, any characters, unescaped; replaces one in the URL",
    )
    # PostgreSQL connections per pool, two pools a process (SQLite ignores it); the leader holds one.
    db_pool_size: int = Field(default=10, ge=2, le=500, description="PostgreSQL connections per pool (two)")
    log_level: str = Field(default="WARNING", description="DEBUG, INFO, WARNING or ERROR")
    log_format: str = Field(default="text", description="text, or json: one JSON object a line")
    http_port: int | None = Field(
        default=None, ge=1, le=65535, description="serve /healthz, /readyz and /metrics on this port"
    )
    files_dir: str = Field(default="studybot-files", description="where the console saves images and CSVs")
    # Community content packs, separated like PATH (":" on Linux and macOS, ";" on Windows).
    content_dirs: str = Field(default="", description=f"community content packs, separated by {os.pathsep}")
    # Platform variables keep the names their own documentation uses. Secrets are SecretStr, so that a
    # printed or logged Settings shows ********** (read them with .get_secret_value()).
    discord_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="DISCORD_TOKEN", description="the bot token: runs Discord"
    )
    discord_guild_id: int | None = Field(
        default=None, validation_alias="DISCORD_GUILD_ID", description="sync commands to this server only"
    )
    discord_api_base: str = Field(
        default="", validation_alias="DISCORD_API_BASE", description="REST base URL (a proxy)"
    )
    discord_sharded: bool = Field(
        default=False, validation_alias="DISCORD_SHARDED", description="true: discord.py's AutoShardedClient"
    )
    # With several instances, each takes its own shard, so each interaction reaches exactly one of them.
    discord_shard_id: int | None = Field(
        default=None, validation_alias="DISCORD_SHARD_ID", description="this instance's shard, from 0"
    )
    discord_shard_count: int | None = Field(
        default=None, validation_alias="DISCORD_SHARD_COUNT", description="how many shards in all"
    )
    slack_bot_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="SLACK_BOT_TOKEN", description="xoxb-...: runs Slack"
    )
    slack_app_token: SecretStr = Field(
        default=SecretStr(""), validation_alias="SLACK_APP_TOKEN", description="xapp-...: for Socket Mode"
    )
    slack_signing_secret: SecretStr = Field(
        default=SecretStr(""), validation_alias="SLACK_SIGNING_SECRET", description="for --slack-mode http"
    )
    slack_api_url: str = Field(
        default="", validation_alias="SLACK_API_URL", description="Web API base URL (a proxy)"
    )
    github_token: SecretStr = Field(
        default=SecretStr(""),
        validation_alias="GITHUB_TOKEN",
        description="optional: GitHub's rate limit for checking submitted links, 5,000 an hour instead of 60",
    )
    github_checks: bool = Field(
        default=True, description="false: never ask GitHub about submitted links (they stay unverified)"
    )
    github_api_url: str = Field(
        default="https://api.github.com", description="GitHub's REST API (GitHub Enterprise, a proxy)"
    )

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            # The message stays short of the value: the whole line must stay one line.
            raise ValueError(f"{value[:20]!r} is not a log level: use {', '.join(LOG_LEVELS[:-1])} or ERROR")
        return value.upper()

    @field_validator("log_format")
    @classmethod
    def _known_format(cls, value: str) -> str:
        if value.lower() not in ("text", "json"):
            raise ValueError(f"{value[:20]!r} is not a log format: use text or json")
        return value.lower()

    @model_validator(mode="after")
    def _password_into_url(self) -> Settings:
        password = self.database_password.get_secret_value()
        if password:
            self.database_url = with_password(self.database_url, password)
        return self

    def community_packs(self) -> list[Path]:
        return [Path(p) for p in self.content_dirs.split(os.pathsep) if p.strip()]

    @classmethod
    def variables(cls) -> list[tuple[str, str]]:
        """Each environment variable studybot reads, with what it does."""
        prefix = cls.model_config.get("env_prefix", "")
        return [
            (
                field.validation_alias
                if isinstance(field.validation_alias, str)
                else f"{prefix}{name}".upper(),
                field.description or "",
            )
            for name, field in cls.model_fields.items()
        ]


def with_password(url: str, password: str) -> str:
    """`url` with `password` percent-encoded in it (replacing any there); unchanged when it has no host."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url  # not a URL at all: the database check says so, naming the setting
    if not parts.netloc.rpartition("@")[2]:
        return url  # SQLite: a file has no password
    user = parts.netloc.rpartition("@")[0].partition(":")[0]
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))

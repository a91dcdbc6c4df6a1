"""Configuration from environment variables (and a .env file), read once at start."""

from __future__ import annotations

from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///studybot.db"


class Settings(BaseSettings):
    """Every variable studybot reads; the README's configuration table lists the same."""

    model_config = SettingsConfigDict(env_prefix="STUDYBOT_", env_file=".env", extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "WARNING"
    files_dir: str = "studybot-files"

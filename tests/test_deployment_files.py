"""The deployment files agree with the README and the code: compose passes every variable a deployer is told
to set, requires the PostgreSQL password and hands it over so that any characters work, and the README and
compose give the standby's takeover time the scheduler really has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from sqlalchemy import make_url

from bot.composition.settings import Settings
from bot.jobs.scheduler import LEADER_CHECK_EVERY

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
STUDYBOT_ENV: dict[str, str] = COMPOSE["services"]["studybot"]["environment"]
# compose sets these itself, from POSTGRES_PASSWORD and its own postgres service.
SET_BY_COMPOSE = {"STUDYBOT_DATABASE_URL", "STUDYBOT_DATABASE_PASSWORD"}
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message}, ${NAME?message}
_INTERPOLATION = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}")


def section(title: str) -> str:
    """The README's `## title` section."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.MULTILINE | re.DOTALL)
    assert match, title
    return match.group(1)


def readme_variables() -> dict[str, str]:
    """Each variable of the README's configuration table, with the row's description."""
    rows = {}
    for line in section("Configuration").splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")] if line.startswith("| `") else []
        for name in re.findall(r"`([A-Z][A-Z0-9_]+)`", cells[0] if cells else ""):
            rows[name] = cells[-1]
    assert len(rows) > 10
    return rows


def deployer_variables() -> set[str]:
    return {name for name, what in readme_variables().items() if not what.startswith("tests only")}


def interpolate(value: str, env: dict[str, str]) -> str:
    """What compose makes of `value` given the shell's `env`; ValueError where compose would stop."""

    def one(match: re.Match[str]) -> str:
        name, colon, kind, rest = match.groups()
        given = env.get(name)
        missing = given is None or (colon == ":" and given == "")
        if kind == "?" and missing:
            raise ValueError(f"{name}: {rest}")
        return rest if kind == "-" and missing else (given or "")

    return _INTERPOLATION.sub(one, value)


def test_the_readme_table_and_the_settings_list_the_same_variables() -> None:
    tests_only = set(readme_variables()) - deployer_variables()
    assert tests_only == {"STUDYBOT_TEST_POSTGRES_URL", "STUDYBOT_REQUIRE_POSTGRES", "STUDYBOT_LONG_TESTS"}
    assert deployer_variables() == {name for name, _ in Settings.variables()}


def test_compose_passes_every_variable_the_readme_tells_deployers_to_set() -> None:
    assert sorted(deployer_variables() - set(STUDYBOT_ENV)) == []
    for name in deployer_variables() - SET_BY_COMPOSE:
        # Passed through from the deployer's environment under its own name (a default at most).
        assert re.fullmatch(rf"\$\{{{name}(:-[^}}]*)?\}}", str(STUDYBOT_ENV[name])), (
            name,
            STUDYBOT_ENV[name],
        )


def test_compose_requires_the_postgres_password() -> None:
    assert "POSTGRES_PASSWORD:-" not in COMPOSE_TEXT  # never a default password
    uses = [
        COMPOSE["services"]["postgres"]["environment"]["POSTGRES_PASSWORD"],
        STUDYBOT_ENV["STUDYBOT_DATABASE_PASSWORD"],
    ]
    for value in uses:
        assert re.fullmatch(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}", value)
        with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
            interpolate(value, {})
        with pytest.raises(ValueError, match="POSTGRES_PASSWORD"):
            interpolate(value, {"POSTGRES_PASSWORD": ""})


@pytest.mark.parametrize("password", ["change-me", "p@ss:w/rd%41", "a/b?c#d[e]f g", "100%@@::"])
def test_any_postgres_password_reaches_studybot_intact(
    monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    shell = {"POSTGRES_PASSWORD": password, "DISCORD_TOKEN": "a-token"}
    for name, value in STUDYBOT_ENV.items():
        monkeypatch.setenv(name, interpolate(str(value), shell))
    settings = Settings()
    url = make_url(settings.database_url)
    postgres = COMPOSE["services"]["postgres"]["environment"]
    assert (url.drivername, url.host, url.port) == ("postgresql+asyncpg", "postgres", 5432)
    assert (url.username, url.password, url.database) == (
        postgres["POSTGRES_USER"],
        interpolate(postgres["POSTGRES_PASSWORD"], shell),
        postgres["POSTGRES_DB"],
    )
    assert url.password == password


def test_the_files_directory_is_the_images_default() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    image_default = re.search(r"STUDYBOT_FILES_DIR=(\S+)", dockerfile)
    assert image_default and interpolate(STUDYBOT_ENV["STUDYBOT_FILES_DIR"], {}) == image_default.group(1)


def test_readme_and_compose_give_the_standby_takeover_time_the_scheduler_has() -> None:
    seconds = int(LEADER_CHECK_EVERY.total_seconds())
    for where, text in [
        ("README, daily posts", section("Daily posts: exactly once")),
        ("README, deployment", section("Deployment")),
        ("compose.yaml", COMPOSE_TEXT),
    ]:
        said = re.findall(r"takes? over\s+within (\d+) seconds", text)
        assert said, where
        assert {int(s) for s in said} == {seconds}, where
        assert "within a minute" not in text and "within seconds" not in text, where

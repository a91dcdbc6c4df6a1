"""bot/ stays platform-neutral: no platform, ORM or scheduler imports outside the composition root."""

from __future__ import annotations

import ast
from pathlib import Path

BOT = Path(__file__).resolve().parent.parent / "bot"
FORBIDDEN = {
    "discord",
    "slack_bolt",
    "slack_sdk",
    "sqlalchemy",
    "sqlmodel",
    "apscheduler",
    "aiosqlite",
    "asyncpg",
    "alembic",
    "adapters",
    "storage",
}
# The composition root wires everything together, so it alone may import storage and adapters.
COMPOSITION_ROOT = {"app.py", "cli.py"}
# bot/jobs/scheduler.py is the one module that may import apscheduler.
ALLOWED = {"scheduler.py": {"apscheduler"}}


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots.add(node.module.split(".")[0])
    return roots


def test_the_core_imports_no_platform_orm_or_scheduler() -> None:
    offenders = {}
    files = sorted(BOT.glob("*.py"))
    assert len(files) > 10
    for path in files:
        if path.name in COMPOSITION_ROOT:
            continue
        bad = (imported_roots(path) & FORBIDDEN) - ALLOWED.get(path.name, set())
        if bad:
            offenders[path.name] = sorted(bad)
    assert offenders == {}


def test_the_core_never_reads_the_wall_clock() -> None:
    for path in BOT.glob("*.py"):
        if path.name in COMPOSITION_ROOT | {"clock.py"}:
            continue
        source = path.read_text()
        for call in ("datetime.now(", "date.today(", "datetime.utcnow(", "time.time("):
            assert call not in source, f"{path.name} calls {call}"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text("import sqlalchemy.orm\nfrom discord import Client\n")
    assert imported_roots(sample) >= {"sqlalchemy", "discord"}

"""The layers hold by themselves: every import in bot/, storage/ and adapters/ is read with `ast` (at module
level, inside functions and under TYPE_CHECKING alike), and a cycle or an import across a layer's wall fails.

The layers, lowest first (README "Architecture"):
    bot/kernel       types, ports, the command registry, replies, member text, dates
    bot/rules        pure rules: no I/O, no clock of their own
    bot/catalog      the roadmap: content, search, autocomplete, pace, the day's challenge
    bot/images       pictures (Pillow)
    bot/dispatch     Core.dispatch, the Context a handler gets, spam and workload limits
    bot/features     one module per command family
    bot/jobs         scheduler, posting, recaps, reminders
    bot/composition  wires storage and adapters to the core; the only place that imports everything
    storage/         implements the kernel's store ports
    adapters/        one package per platform; they call the core's dispatch
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "adapters")

# The project layers each layer may import (besides itself); anything unlisted is forbidden.
MAY_IMPORT = {
    "bot": set(),  # the package itself: a docstring
    "bot.kernel": set(),
    "bot.rules": {"bot.kernel"},
    "bot.catalog": {"bot.kernel", "bot.rules"},
    "bot.images": {"bot.kernel"},
    "bot.dispatch": {"bot.kernel", "bot.rules", "bot.catalog"},
    "bot.features": {"bot.kernel", "bot.rules", "bot.catalog", "bot.images", "bot.dispatch"},
    "bot.jobs": {"bot.kernel", "bot.rules", "bot.catalog", "bot.images", "bot.dispatch"},
    "bot.composition": {"*"},
    "storage": {"bot.kernel"},
    "adapters": {"bot.kernel", "bot.dispatch"},
}
# Libraries that do I/O, talk to a platform or a database, or schedule: who may import each.
LIBRARIES = {
    "discord": {"adapters.discord", "bot.composition"},
    "slack_bolt": {"adapters.slack", "bot.composition"},
    "slack_sdk": {"adapters.slack", "bot.composition"},
    "aiohttp": {"adapters.slack", "bot.composition"},
    "sqlalchemy": {"storage", "bot.composition"},
    "sqlmodel": {"storage"},
    "alembic": {"storage"},
    "aiosqlite": {"storage"},
    "asyncpg": {"storage"},
    "sqlite3": {"storage"},
    "apscheduler": {"bot.jobs.scheduler"},
    "PIL": {"bot.images"},
    "yaml": {"bot.catalog.content", "storage", "adapters.slack", "bot.composition"},
    "pydantic": {"bot.composition"},
    "pydantic_settings": {"bot.composition"},
}
# Pure layers: beyond the project's own lower layers, nothing that touches files, threads or the network.
PURE = {"bot.kernel", "bot.rules"}
IO_MODULES = {"asyncio", "threading", "socket", "subprocess", "os", "pathlib", "io", "shutil", "tempfile"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts, run by Alembic
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = modules()


def imports_of(path: Path) -> Iterator[str]:
    """Every module `path` imports, anywhere in the file, as a full dotted name."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                yield sub if sub in MODULES else node.module


def project_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {i for i in imports_of(path) if i in MODULES and i != name}
    return graph


def layer_of(module: str) -> str:
    for layer in sorted(MAY_IMPORT, key=len, reverse=True):
        if module == layer or module.startswith(layer + "."):
            return layer
    raise AssertionError(f"{module} is in no layer: put it in one and name it in MAY_IMPORT")


def within(module: str, prefixes: set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_there_is_no_import_cycle_anywhere() -> None:
    graph = project_graph()
    assert len(graph) > 60  # every module was read
    assert cycles(graph) == []


def test_the_cycle_finder_sees_a_cycle_through_a_type_only_import(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycles(graph) == [["a", "b", "c"]]
    sample = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from bot.dispatch.core import Core\n"
    path = tmp_path / "sample_type_only.py"
    path.write_text(sample)
    assert list(imports_of(path)) == ["typing", "bot.dispatch.core"]


def test_every_layer_imports_only_the_layers_below_it() -> None:
    offenders = []
    for module, targets in project_graph().items():
        layer = layer_of(module)
        allowed = MAY_IMPORT[layer]
        for target in targets:
            other = layer_of(target)
            if "*" in allowed or other in allowed:
                continue
            if other == layer:
                # Inside a layer: a feature never imports another feature, an adapter never another adapter.
                if layer in {"bot.features", "adapters"} and target.split(".")[:2] != module.split(".")[:2]:
                    offenders.append(f"{module} -> {target}")
                continue
            offenders.append(f"{module} -> {target}")
    assert offenders == []


def test_platform_database_and_scheduler_libraries_stay_where_they_belong() -> None:
    offenders = []
    for module, path in MODULES.items():
        for imported in imports_of(path):
            root = imported.split(".")[0]
            if root in LIBRARIES and not within(module, LIBRARIES[root]):
                offenders.append(f"{module} imports {root}")
    assert offenders == []


def test_the_pure_layers_do_no_io() -> None:
    offenders = []
    for module, path in MODULES.items():
        if layer_of(module) in PURE:
            bad = {i.split(".")[0] for i in imports_of(path)} & IO_MODULES
            if bad:
                offenders.append(f"{module} imports {sorted(bad)}")
    assert offenders == []


def test_only_the_composition_root_imports_storage_and_adapters() -> None:
    importers = {
        module
        for module, targets in project_graph().items()
        for target in targets
        if layer_of(target) in {"storage", "adapters"} and layer_of(target) != layer_of(module)
    }
    assert importers and all(layer_of(m) == "bot.composition" for m in importers)


def test_features_and_jobs_ask_only_for_the_store_areas_they_use() -> None:
    """`core.store` (the whole store) is for the composition root and tests; a feature, a job or the
    dispatch uses its areas: `core.members`, `.cohorts`, `.posts`, `.activity`, `.learning`, `.notices`."""
    offenders = []
    for module, path in MODULES.items():
        if layer_of(module) in {"bot.features", "bot.jobs", "bot.dispatch", "adapters"}:
            source = path.read_text()
            if "core.store." in source or "core.store)" in source or "core.store," in source:
                offenders.append(module)
    assert offenders == []


def test_the_core_never_reads_the_wall_clock() -> None:
    for module, path in MODULES.items():
        if not module.startswith("bot.") or within(module, {"bot.composition", "bot.kernel.clock"}):
            continue
        source = path.read_text()
        for call in ("datetime.now(", "date.today(", "datetime.utcnow(", "time.time("):
            assert call not in source, f"{module} calls {call}"


def test_every_module_says_what_it_is_for() -> None:
    missing = [m for m, path in MODULES.items() if not ast.get_docstring(ast.parse(path.read_text()))]
    assert missing == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import sqlalchemy.orm\nfrom discord import Client\n\ndef f():\n    import storage.sql_store\n"
    )
    assert set(imports_of(sample)) >= {"sqlalchemy.orm", "discord", "storage.sql_store"}

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
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("bot", "storage", "adapters")
# Top-level directories that may hold Python packages: the three above, the content data, tests, benchmarks.
TOP_LEVEL = {*PACKAGES, "content", "tests", "bench"}

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
# Every third-party library the code imports, and who may import it; one not listed here is refused
# everywhere but the composition root, so a new dependency is a decision made in this file.
LIBRARIES = {
    "discord": {"adapters.discord", "bot.composition"},
    "slack_bolt": {"adapters.slack", "bot.composition"},
    "slack_sdk": {"adapters.slack", "bot.composition"},
    "aiohttp": {"adapters.slack", "adapters.github", "adapters.ops", "adapters.discord", "bot.composition"},
    "prometheus_client": {"adapters.ops"},
    "gidgethub": {"adapters.github"},
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
    "rich": {"adapters.console"},
    "fsrs": {"bot.rules.review"},
}
STDLIB = set(sys.stdlib_module_names) | {"__future__"}
# Pure layers: beyond the project's own lower layers, nothing that touches files, threads or the network.
PURE = {"bot.kernel", "bot.rules"}
IO_MODULES = {
    *("asyncio", "threading", "multiprocessing", "concurrent", "socket", "select", "signal", "subprocess"),
    *("os", "pathlib", "io", "shutil", "tempfile", "glob", "urllib", "http", "time", "importlib"),
}
# Builtins that read or write the outside world.
IO_BUILTINS = {"open", "input", "print", "exec", "eval", "__import__"}


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


def _absolute(node: ast.ImportFrom, package: str) -> str:
    """The module a `from ... import` names, relative ones resolved against `package`."""
    if node.level == 0:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(path: Path, package: str = "") -> Iterator[str]:
    """Every module `path` imports, anywhere in the file (relative imports resolved against `package`, and
    `importlib.import_module("...")` or `__import__("...")` with a literal name), as a full dotted name."""
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            module = _absolute(node, package)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield sub if sub in MODULES else module
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                yield node.args[0].value


def package_of(module: str) -> str:
    """The package a module's relative imports start from: itself for a package's __init__."""
    return module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]


def imports(module: str) -> list[str]:
    return list(imports_of(MODULES[module], package_of(module)))


def project_graph() -> dict[str, set[str]]:
    return {name: {i for i in imports(name) if i in MODULES and i != name} for name in MODULES}


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
    relative = tmp_path / "relative.py"
    relative.write_text("from ..jobs.posting import post_now\nfrom . import help\n")
    assert list(imports_of(relative, "bot.features")) == ["bot.jobs.posting", "bot.features.help"]


# Layers whose parts stay apart: a feature is one module (bot.features.x), an adapter a package (adapters.x).
UNITS = {"bot.features": 3, "adapters": 2}


def test_a_feature_importing_another_feature_is_refused() -> None:
    unit = UNITS["bot.features"]
    assert "bot.features.cohorts".split(".")[:unit] != "bot.features.moderation".split(".")[:unit]


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
                if layer in UNITS and target.split(".")[: UNITS[layer]] != module.split(".")[: UNITS[layer]]:
                    offenders.append(f"{module} -> {target}")
                continue
            offenders.append(f"{module} -> {target}")
    assert offenders == []


def test_platform_database_and_scheduler_libraries_stay_where_they_belong() -> None:
    offenders = []
    for module in MODULES:
        for imported in imports(module):
            root = imported.split(".")[0]
            if root in STDLIB or root in PACKAGES or within(module, {"bot.composition"}):
                continue
            if not within(module, LIBRARIES.get(root, set())):
                offenders.append(f"{module} imports {root}")
    assert offenders == []


def test_every_python_package_is_one_the_layers_know() -> None:
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")}
    assert packages <= TOP_LEVEL


def test_the_pure_layers_do_no_io() -> None:
    offenders = []
    for module, path in MODULES.items():
        if layer_of(module) in PURE:
            bad = {i.split(".")[0] for i in imports(module)} & IO_MODULES
            tree = ast.parse(path.read_text())
            calls = {
                n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)
            }
            bad |= calls & IO_BUILTINS
            if bad:
                offenders.append(f"{module} uses {sorted(bad)}")
    assert offenders == []


def test_only_the_composition_root_imports_storage_and_adapters() -> None:
    importers = {
        module
        for module, targets in project_graph().items()
        for target in targets
        if layer_of(target) in {"storage", "adapters"} and layer_of(target) != layer_of(module)
    }
    assert importers and all(layer_of(m) == "bot.composition" for m in importers)


def whole_store_uses(source: str) -> list[int]:
    """Lines that read an attribute called `store` (the whole store), other than assigning it."""
    tree = ast.parse(source)
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and n.attr == "store" and isinstance(n.ctx, ast.Load)
    ]


def test_features_and_jobs_ask_only_for_the_store_areas_they_use() -> None:
    """`core.store` (the whole store) is for the composition root and tests; a feature, a job or the
    dispatch uses its areas: `core.members`, `.cohorts`, `.posts`, `.activity`, `.learning`, `.notices`."""
    offenders = []
    for module, path in MODULES.items():
        if layer_of(module) in {"bot.features", "bot.jobs", "bot.dispatch", "adapters"}:
            offenders += [f"{module}:{line}" for line in whole_store_uses(path.read_text())]
    # The area properties of the dispatch's Services are the one place that hands the store out.
    assert offenders and all(o.startswith("bot.dispatch.context:") for o in offenders)
    assert whole_store_uses("store = ctx.core.store\n") == [1]


def test_the_core_never_reads_the_wall_clock() -> None:
    for module, path in MODULES.items():
        if not module.startswith("bot.") or within(module, {"bot.composition", "bot.kernel.clock"}):
            continue
        source = path.read_text()
        for call in (
            "datetime.now(",
            "date.today(",
            "datetime.utcnow(",
            "time.time(",
            "time_ns(",
            "import time",
        ):
            assert call not in source, f"{module} calls {call}"


def test_every_module_says_what_it_is_for() -> None:
    docs = {m: ast.get_docstring(ast.parse(path.read_text())) or "" for m, path in MODULES.items()}
    assert [m for m, doc in docs.items() if len(doc.split()) < 4] == []


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    sample = tmp_path / "bad.py"
    sample.write_text(
        "import sqlalchemy.orm\nfrom discord import Client\n\ndef f():\n    import storage.sql_store\n"
    )
    assert set(imports_of(sample)) >= {"sqlalchemy.orm", "discord", "storage.sql_store"}

"""The import direction of ARCHITECTURE.md: bot -> handlers -> kpi, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = {
    "kpi": ("telegram", "bot", "handlers"),
    "handlers": ("bot",),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_never_imports_upwards(package: str) -> None:
    files = sorted((ROOT / package).rglob("*.py"))
    assert files, f"no modules found in {package}/"
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & set(FORBIDDEN[package])) for f in files
    }
    offenders = {k: v for k, v in offenders.items() if v}
    assert offenders == {}


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("from telegram import Bot\nimport bot.app\n", encoding="utf-8")
    assert _imports(bad) >= {"telegram", "bot"}


def test_kpi_does_not_import_matplotlib_at_start() -> None:
    # Start-up time (QUALITY.md P5): charts import matplotlib lazily.
    modules = sorted((ROOT / "kpi" / "charts").glob("*.py"))
    assert modules
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        top_level = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        assert not any("matplotlib" in ast.unparse(n) for n in top_level), module.name


PROJECT = ("kpi", "handlers", "bot")


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path) -> dict[str, set[str]]:
    """Map each project module to the project modules it imports, at any level of the file."""
    files = {
        _module_name(f, root): f
        for package in PROJECT
        for f in sorted((root / package).rglob("*.py"))
        if "migrations" not in f.relative_to(root).parts
    }

    def known(name: str) -> str | None:
        # `from kpi.parsing import text` names a module; `from kpi.parsing import parse_log`
        # names something in one: the longest known prefix is the module imported.
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(t for a in node.names if (t := known(a.name)))
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                for alias in node.names:
                    target = known(f"{base}.{alias.name}") or known(base)
                    if target:
                        targets.add(target)
        targets.discard(name)
        graph[name] = targets
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle (its modules in order, the first repeated at the end), or None."""
    state: dict[str, str] = {}  # "open" while on the path, "done" once all it imports is seen
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph.get(module, ())):
            if state.get(target) == "open":
                return [*path[path.index(target) :], target]
            if target not in state and (cycle := visit(target)):
                return cycle
        path.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            return cycle
    return None


def test_no_import_cycles() -> None:
    graph = import_graph(ROOT)
    assert "kpi.parsing.amounts" in graph  # the walk sees the packages' modules
    assert find_cycle(graph) is None


def test_the_cycle_finder_sees_a_cycle(tmp_path: Path) -> None:
    for package in PROJECT:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("", encoding="utf-8")
    (tmp_path / "kpi" / "a.py").write_text("from kpi import b\n", encoding="utf-8")
    (tmp_path / "kpi" / "b.py").write_text(
        "def f() -> None:\n    from kpi.a import g\n", encoding="utf-8"
    )
    (tmp_path / "kpi" / "c.py").write_text("from . import a\n", encoding="utf-8")
    graph = import_graph(tmp_path)
    assert graph["kpi.c"] == {"kpi.a"}
    assert find_cycle(graph) == ["kpi.a", "kpi.b", "kpi.a"]


def _modules(path: Path) -> set[str]:
    """Return the full names a module imports (`from kpi import store` names `kpi.store`,
    `from kpi.store import X` names `kpi.store.X`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


# What a handler family shares with the others: the unit of work, texts, sending, views.
SHARED_HANDLERS = ("handlers.context", "handlers.i18n", "handlers.render", "handlers.posts")
SHARED_HANDLERS += ("handlers.menu", "handlers.views")
# What handlers may call in kpi: the use cases, access (refusals, what a viewer sees), and the
# modules a post or an outbox row is read and settled through.
HANDLER_KPI = (
    "kpi.usecases",
    "kpi.access",
    "kpi.reading",
    "kpi.posts",
    "kpi.outbox",
    # Data in and out: its use cases, the report types, and the file builders run in a thread.
    "kpi.exports",
    "kpi.db",
    "kpi.models",
    "kpi.periods",
    "kpi.calendar",
    "kpi.teams",
    "kpi.parsing",
    "kpi.catalog",
    "kpi.names",
    "kpi.charts",
    "kpi.store.StoredEntry",
    "kpi.standings.Board",
    "kpi.standings.MemberRow",
    "kpi.scoring",
    "kpi.absences.AbsenceInfo",
    "kpi.closing.LateChange",
)


def _allowed(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _handler_families() -> list[Path]:
    shared = {p.rsplit(".", 1)[1] for p in SHARED_HANDLERS}
    return [
        f
        for f in sorted((ROOT / "handlers").glob("*.py"))
        if f.stem not in shared and f.stem not in ("__init__", "errors")
    ]


def test_handler_families_do_not_import_each_other() -> None:
    families = {f"handlers.{f.stem}" for f in _handler_families()}
    offenders = {
        f.stem: sorted(
            n
            for n in _modules(f)
            if n.startswith("handlers.")
            and not _allowed(n, SHARED_HANDLERS)
            and (n in families or n.rsplit(".", 1)[0] in families)
        )
        for f in _handler_families()
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_handlers_call_kpi_use_cases_and_access_only() -> None:
    files = sorted((ROOT / "handlers").rglob("*.py"))
    offenders = {
        str(f.relative_to(ROOT)): sorted(
            n
            for n in _modules(f)
            if (n == "kpi" or n.startswith("kpi."))
            and n != "kpi"
            and not _allowed(n, HANDLER_KPI)
            and not _allowed(n.rsplit(".", 1)[0], HANDLER_KPI)
        )
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_views_are_pure() -> None:
    files = sorted((ROOT / "handlers" / "views").rglob("*.py"))
    assert files
    offenders = {
        str(f.relative_to(ROOT)): sorted(
            n
            for n in _modules(f)
            if n.startswith(("telegram.ext", "telegram.error", "sqlalchemy", "bot"))
            or _allowed(n, ("kpi.db", "kpi.store.record_checkin", "handlers.context"))
        )
        for f in files
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_checkers_see_sideways_and_impure_imports(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from handlers.checkins import reply_logged\nfrom telegram.ext import Application\n"
        "from kpi import store\n",
        encoding="utf-8",
    )
    assert {"handlers.checkins.reply_logged", "telegram.ext.Application"} <= _modules(bad)
    assert "kpi.store" in _modules(bad)
    assert not _allowed("kpi.store", HANDLER_KPI)
    assert _allowed("kpi.usecases.checkins", HANDLER_KPI)

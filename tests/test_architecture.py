"""The import direction of ARCHITECTURE.md: bot -> handlers -> kpi, never back."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
    charts = (ROOT / "kpi" / "charts.py").read_text(encoding="utf-8")
    top_level = [n for n in ast.parse(charts).body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not any("matplotlib" in ast.unparse(n) for n in top_level)


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

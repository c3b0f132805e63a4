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

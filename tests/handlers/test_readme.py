"""The README tells the truth: its example conversation is the demo's output for a fixed date,
and every project file it names exists."""

from __future__ import annotations

import datetime as dt
import io
import re
from pathlib import Path

from bot.demo import run_demo

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
# The date the README's example was produced for (`kpibot demo --date 2026-11-20`).
EXAMPLE_DATE = dt.date(2026, 11, 20)


def _example_block() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## An example conversation", 1)[1]
    match = re.search(r"```\n(.*?)```", section, re.S)
    assert match is not None, "the example conversation has no code block"
    return match.group(1)


def _exchanges(text: str) -> list[str]:
    """Split a transcript into exchanges: what one person said and what the bot answered."""
    return [chunk.strip("\n") for chunk in re.split(r"\n\s*\n", text) if chunk.strip()]


async def test_readme_example_is_the_demo_output(tmp_path: Path) -> None:
    """Every exchange of the README's example appears, verbatim and in order, in the demo."""
    await run_demo(tmp_path / "demo", out=io.StringIO(), day=EXAMPLE_DATE)
    demo = _exchanges((tmp_path / "demo" / "conversation.txt").read_text(encoding="utf-8"))
    example = _exchanges(_example_block())
    assert len(example) >= 5
    position = 0
    for exchange in example:
        assert exchange in demo[position:], f"not in the demo's output (in order):\n{exchange}"
        position = demo.index(exchange, position) + 1


async def test_demo_is_the_same_for_the_same_date(tmp_path: Path) -> None:
    """Two runs of the demo for one date print the same conversation and posts."""
    outputs = []
    for run in ("a", "b"):
        await run_demo(tmp_path / run, out=io.StringIO(), day=EXAMPLE_DATE)
        files = sorted((tmp_path / run).glob("*.txt"))
        folder = str(tmp_path / run)
        outputs.append(
            {f.name: f.read_text(encoding="utf-8").replace(folder, "OUT") for f in files}
        )
    assert outputs[0] == outputs[1]
    assert "20/11/2026" in outputs[0]["conversation.txt"]


async def test_demo_reports_use_the_targets_of_their_own_time(tmp_path: Path) -> None:
    """The demo's October report uses the targets /setup gave, not the one set on 20/11.

    The demo team starts with 200tr a month per rep; five reps joined on 16/10, so October's
    prorated team target is 5 × 200tr × 11/22 working days = 500M. The leader's /target of
    250tr during the demo (20/11) must not leak into October.
    """
    await run_demo(tmp_path / "demo", out=io.StringIO(), day=EXAMPLE_DATE)
    report = (tmp_path / "demo" / "post-monthly.en.txt").read_text(encoding="utf-8")
    assert "Monthly report 10/2026" in report
    assert re.search(r"Revenue: [\d.,]+M/500M", report), report


# Files the README names that are made at run time, not shipped.
MADE_AT_RUN_TIME = {"config.toml", "kpibot.db"}


def test_readme_names_only_files_the_project_has() -> None:
    """Every path-like name in backticks or a link resolves to a file or folder of the repo."""
    text = README.read_text(encoding="utf-8")
    names = set(re.findall(r"`([\w./-]+\.(?:md|toml|py|ini|service|conf))`", text))
    names |= set(re.findall(r"\b([A-Z][A-Z-]+\.md)\b", text))
    names |= set(re.findall(r"`((?:bot|handlers|kpi|bench|tests|deploy|\.ci)/[\w./-]*)`", text))
    names |= set(re.findall(r"\]\((?!https?:)([^)#]+)\)", text))
    missing = []
    for name in sorted(names):
        name = name.removeprefix("./")
        if name in MADE_AT_RUN_TIME or name.startswith("kpibot-demo/"):
            continue
        if not (ROOT / name).exists() and not ("/" not in name and any(ROOT.rglob(name))):
            missing.append(name)
    assert not missing, f"the README names files the project lacks: {missing}"
    assert (ROOT / "LICENSE").read_text(encoding="utf-8").startswith("MIT License")

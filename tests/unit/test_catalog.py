"""The metric catalogue is complete: every built-in metric can be logged, shown and understood.

Adding a counted metric is one `kpi.catalog.MetricSpec` plus its texts; these tests say which
texts are missing, and that the handler table, the menus and the parser follow the catalogue.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from telegram.ext import ApplicationBuilder

from handlers import commands, menu, register
from handlers.i18n import catalog, languages
from handlers.onboarding import command_names
from handlers.views.onboarding import help_view
from kpi import catalog as metrics
from kpi import parsing, reading, scoring, standings
from kpi.parsing import build_vocabulary, normalize_text

SPECS = metrics.BUILTIN_METRICS


@pytest.mark.parametrize("spec", SPECS, ids=lambda m: m.key)
def test_every_metric_has_commands_in_latin_letters(spec: metrics.MetricSpec) -> None:
    assert spec.commands, f"{spec.key} has no command"
    for command in spec.commands:
        assert re.fullmatch(r"[a-z][a-z0-9_]{0,31}", command), command


def test_no_command_logs_two_metrics() -> None:
    commands = [c for m in SPECS for c in m.commands]
    assert len(commands) == len(set(commands))
    assert not set(commands) & set(metrics.LOG_COMMANDS)


@pytest.mark.parametrize("lang", languages())
@pytest.mark.parametrize("spec", SPECS, ids=lambda m: m.key)
def test_every_metric_command_has_an_example_in_each_language(
    spec: metrics.MetricSpec, lang: str
) -> None:
    for command in spec.commands:
        example = catalog(lang).get(f"example.{command}")
        assert example is not None, f"example.{command} missing in {lang}"
        assert example.startswith(f"/{command}"), example


def _help_commands(lang: str, *, leader: bool) -> set[str]:
    # A command is listed when its line starts with it: examples inside a line do not count.
    text = help_view(lang, leader)
    lines = [line.split("—")[0] for line in text.splitlines() if line.startswith("/")]
    return {m for line in lines for m in re.findall(r"/([a-z]+)", line)}


@pytest.mark.parametrize("lang", languages())
@pytest.mark.parametrize("spec", SPECS, ids=lambda m: m.key)
def test_every_metric_command_is_in_the_help(spec: metrics.MetricSpec, lang: str) -> None:
    shown = _help_commands(lang, leader=False)
    assert set(spec.commands) <= shown, sorted(set(spec.commands) - shown)


def test_the_handler_table_answers_exactly_the_command_table() -> None:
    application = ApplicationBuilder().token("1:x").build()
    register(application)
    table = {name for spec in commands.COMMANDS for name in spec.names}
    assert command_names(application) == table


@pytest.mark.parametrize("lang", languages())
def test_help_lists_every_command_of_the_table_with_its_text(lang: str) -> None:
    listed = {n for spec in commands.COMMANDS if spec.section is not None for n in spec.names}
    for spec in commands.COMMANDS:
        if spec.section is not None:
            assert catalog(lang).get(f"help.line.{spec.name}"), f"help.line.{spec.name} ({lang})"
        if spec.leaders_line:
            assert catalog(lang).get(f"help.leaders.{spec.name}"), f"help.leaders.{spec.name}"
    assert _help_commands(lang, leader=True) == listed
    leaders_only = {n for spec in commands.in_section("leaders") for n in spec.names}
    assert _help_commands(lang, leader=False) == listed - leaders_only


@pytest.mark.parametrize("spec", [m for m in SPECS if m.menu], ids=lambda m: m.key)
def test_menu_metrics_are_in_both_menus_with_a_description(spec: metrics.MetricSpec) -> None:
    command = spec.commands[0]
    assert command in menu.PRIVATE and command in menu.GROUP and command in menu.ADMINS
    for lang in languages():
        assert catalog(lang).get(f"commands.{command}"), f"commands.{command} missing in {lang}"


def test_the_menus_list_the_catalogues_menu_metrics_in_order() -> None:
    assert metrics.MENU_COMMANDS == ("call", "meeting", "deal")
    assert menu.PRIVATE[1:5] == ("call", "meeting", "deal", "log")
    assert menu.GROUP[:4] == ("call", "meeting", "deal", "log")


@pytest.mark.parametrize("spec", SPECS, ids=lambda m: m.key)
def test_every_metric_has_words_in_each_language(spec: metrics.MetricSpec) -> None:
    for lang in languages():
        assert metrics.metric_words(lang).get(spec.key), f"{spec.key} has no words in {lang}"


def test_the_parser_reads_the_catalogues_words_in_every_language() -> None:
    assert metrics.metric_words() == parsing.DEFAULT_ALIASES
    assert set(parsing.DEFAULT_ALIASES) == {m.key for m in SPECS}
    vocab = build_vocabulary(parsing.DEFAULT_ALIASES.items())
    for lang in languages():
        for key, words in metrics.metric_words(lang).items():
            for word in words:
                assert vocab[" ".join(normalize_text(word).split())] == key, (lang, word)


def test_the_logging_commands_are_the_catalogues() -> None:
    assert reading.LOGGING_COMMANDS == metrics.LOGGING_COMMANDS
    assert reading.COUNT_COMMANDS == {
        "call": "calls",
        "goi": "calls",
        "meeting": "meetings",
        "hen": "meetings",
        "lead": "leads",
        "email": "emails",
        "demo": "demos",
        "proposal": "proposals",
        "baogia": "proposals",
    }
    assert reading.DEAL_COMMANDS == ("deal", "chot")
    assert reading.LOST_COMMANDS == ("lost", "mat")


async def test_the_handler_table_answers_every_catalogue_command(app: Any) -> None:
    assert set(metrics.LOGGING_COMMANDS) <= command_names(app)


def test_every_counted_metric_is_scored_and_summed() -> None:
    kpis = {k.source for k in metrics.BUILTIN_KPIS}
    for spec in SPECS:
        assert f"metric:{spec.key}" in kpis, spec.key
    # The totals' named fields are catalogue metrics; any other metric lands in `extra`.
    fields = {f.name for f in dataclasses.fields(scoring.Totals)}
    assert fields & set(metrics.METRIC_KEYS) == standings.TOTALS_METRICS
    assert set(metrics.METRIC_KEYS) == standings.TOTALS_METRICS

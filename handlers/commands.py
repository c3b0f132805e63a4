"""The command table: every command's names and its place in `/help` (pure data).

The handler table (`handlers/__init__.py`) registers each command under the names given here,
the command menus (`handlers/menu.py`) pick from them, and `/help` lists them section by section
(`handlers/views/onboarding.help_view`). The logging commands come from the metric catalogue
(`kpi.catalog`): one per metric and `/log`.

Adding a command is one `CommandSpec` here, its handler in the table, and its texts in the
catalogs: `help.line.<name>` (what follows the command in `/help`) and, for a menu entry,
`commands.<name>`. `tests/unit/test_catalog.py` checks that nothing is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from kpi import catalog

Section = Literal["log", "numbers", "other", "leaders"]
# The order of `/help`; the leaders' section is shown to leaders and admins only.
SECTIONS: tuple[Section, ...] = ("log", "numbers", "other", "leaders")


@dataclass(frozen=True)
class CommandSpec:
    """A command: its English name first, then its Vietnamese aliases, and its help section."""

    names: tuple[str, ...]
    section: Section | None  # None: not listed in /help (/start)
    # Leaders get a second line, in their section, for what only they may do with it
    # (`help.leaders.<name>`).
    leaders_line: bool = False

    @property
    def name(self) -> str:
        """Return the command's English name (the key of its texts)."""
        return self.names[0]


def _logging() -> tuple[CommandSpec, ...]:
    by_order = sorted(catalog.BUILTIN_METRICS, key=lambda m: m.order)
    return (
        *(CommandSpec(m.commands, "log") for m in by_order if m.commands),
        CommandSpec(catalog.LOG_COMMANDS, "log"),
    )


COMMANDS: tuple[CommandSpec, ...] = (
    *_logging(),
    CommandSpec(("undo", "hoantac"), "log"),
    CommandSpec(("history", "lichsu"), "log"),
    CommandSpec(("edit", "sua"), "log"),
    CommandSpec(("void", "huy"), "log"),
    CommandSpec(("me", "toi"), "numbers"),
    CommandSpec(("today", "homnay"), "numbers"),
    CommandSpec(("week", "tuan"), "numbers"),
    CommandSpec(("month", "thang"), "numbers"),
    CommandSpec(("leaderboard", "bxh"), "numbers"),
    CommandSpec(("chart", "bieudo"), "numbers"),
    CommandSpec(("kpi",), "numbers"),
    CommandSpec(("join",), "other"),
    CommandSpec(("team", "doi"), "other", leaders_line=True),
    CommandSpec(("leave", "nghiphep"), "other", leaders_line=True),
    CommandSpec(("mute", "tatnhac"), "other"),
    CommandSpec(("unmute", "batnhac"), "other"),
    CommandSpec(("language", "ngonngu"), "other"),
    CommandSpec(("mydata", "dulieu"), "other"),
    CommandSpec(("help",), "other"),
    CommandSpec(("start",), None),
    CommandSpec(("setup",), "leaders"),
    CommandSpec(("target", "chitieu"), "leaders"),
    CommandSpec(("settings", "caidat"), "leaders"),
    CommandSpec(("invite", "moi"), "leaders"),
    CommandSpec(("approvals", "duyet"), "leaders"),
    CommandSpec(("audit", "nhatky"), "leaders"),
    CommandSpec(("org", "congty"), "leaders"),
    CommandSpec(("erase", "xoadulieu"), "leaders"),
    CommandSpec(("export", "xuat"), "leaders"),
    CommandSpec(("import", "nhap"), "leaders"),
)
BY_NAME: Mapping[str, CommandSpec] = MappingProxyType({c.name: c for c in COMMANDS})


def names(*commands: str) -> list[str]:
    """Return every name (English and aliases) of the given commands, for a CommandHandler."""
    return [n for c in commands for n in BY_NAME[c].names]


def in_section(section: Section) -> tuple[CommandSpec, ...]:
    """Return the commands `/help` lists in a section, in the table's order."""
    return tuple(c for c in COMMANDS if c.section == section)


def with_leaders_line() -> tuple[CommandSpec, ...]:
    """Return the commands with a second line in the leaders' section."""
    return tuple(c for c in COMMANDS if c.leaders_line)

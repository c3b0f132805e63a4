"""The metric and KPI catalogue: every built-in metric and KPI, and what derives from them.

A *metric* is what a rep logs (a count; deals also carry an amount). A *KPI* is what the team is
scored on: a metric's sum, money, or a formula over sums (kpi.scoring.derived).

One entry per metric holds its key, names, sanity bound, the commands that log it (English,
then the Vietnamese alias: Telegram allows Latin letters only), the words people type for it in
each language (`metric_words`: the parser's vocabulary files) and whether it is in the command
menus.
The handler table, the command menus, `/help`'s checks and the parser derive from it.

Adding a counted metric is one `MetricSpec` (and its KPI, if it is scored) plus its texts in the
catalogs: `commands.<command>` for a menu entry, `example.<command>` for each command and
`help.line.<command>` for its line in `/help` (handlers/commands.py lists it from here).
`tests/unit/test_catalog.py` checks that nothing is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from kpi.names import Names
from kpi.parsing import vocabulary

Unit = Literal["count", "vnd", "ratio"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricSpec:
    """A built-in counted metric."""

    key: str
    names: Names  # {language: name}; a language left out falls back to the default's
    daily_bound: int  # a day's value above this asks for confirmation (the sanity bound)
    order: int
    commands: tuple[str, ...] = ()  # the English command first, then its Vietnamese alias(es)
    menu: bool = False  # its first command is in the command menus Telegram shows


DEALS = "deals"
LOST = "lost"

BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec(
        "calls",
        {"vi": "cuộc gọi", "en": "calls"},
        300,
        10,
        commands=("call", "goi"),
        menu=True,
    ),
    MetricSpec(
        "emails",
        {"vi": "email", "en": "emails"},
        500,
        20,
        commands=("email",),
    ),
    MetricSpec(
        "meetings",
        {"vi": "cuộc hẹn", "en": "meetings"},
        30,
        30,
        commands=("meeting", "hen"),
        menu=True,
    ),
    MetricSpec(
        "demos",
        {"vi": "demo", "en": "demos"},
        30,
        40,
        commands=("demo",),
    ),
    MetricSpec(
        "leads",
        {"vi": "khách tiềm năng", "en": "leads"},
        100,
        50,
        commands=("lead",),
    ),
    MetricSpec(
        "proposals",
        {"vi": "báo giá", "en": "proposals"},
        50,
        60,
        commands=("proposal", "baogia"),
    ),
    MetricSpec(
        DEALS,
        {"vi": "hợp đồng", "en": "deals"},
        20,
        70,
        commands=("deal", "chot"),
        menu=True,
    ),
    MetricSpec(
        LOST,
        {"vi": "hợp đồng trượt", "en": "lost deals"},
        50,
        80,
        commands=("lost", "mat"),
    ),
)
METRIC_KEYS = tuple(m.key for m in BUILTIN_METRICS)
METRIC_BY_KEY: Mapping[str, MetricSpec] = MappingProxyType({m.key: m for m in BUILTIN_METRICS})
# `/log` takes several metrics at once (its words come from every metric's vocabulary).
LOG_COMMANDS = ("log", "ghi")
# Every command that logs: one per metric and language, and `/log`.
LOGGING_COMMANDS: tuple[str, ...] = (
    *(c for m in BUILTIN_METRICS for c in m.commands),
    *LOG_COMMANDS,
)
# The metrics whose commands take a count (`/call 3`): deals take an amount, lost a customer.
COUNT_COMMANDS: Mapping[str, str] = MappingProxyType(
    {c: m.key for m in BUILTIN_METRICS if m.key not in (DEALS, LOST) for c in m.commands}
)
# The logging commands in the menus, in the catalogue's order (`/call`, `/meeting`, `/deal`).
MENU_COMMANDS = tuple(
    m.commands[0] for m in sorted(BUILTIN_METRICS, key=lambda m: m.order) if m.menu
)


def metric_words(lang: str | None = None) -> dict[str, tuple[str, ...]]:
    """Return the words people type for each metric, in one language or (None) in all of them.

    The words are the parser's vocabulary data (`kpi/parsing/vocabulary/<lang>.toml`): a new
    language adds its file there, a new metric its entry here and its words there.
    """
    return vocabulary.metric_words(lang)


DEFAULT_DEAL_AMOUNT_BOUND = 50_000_000_000


@dataclass(frozen=True)
class KpiSpec:
    """A built-in KPI: how it is computed and how it is read."""

    key: str
    names: Names  # {language: name}; a language left out falls back to the default's
    unit: Unit
    source: str  # "metric:<key>" or the name of a formula in kpi.scoring.derived
    direction: Direction = "higher"
    period: str = "month"
    team_only: bool = False  # meaningful for the team, not per member
    order: int = 100
    # Names this KPI had before (teams set up then may still type them): found, never shown.
    former_names: tuple[str, ...] = ()


BUILTIN_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec(
        "calls", {"vi": "Cuộc gọi", "en": "Calls"}, "count", "metric:calls", period="day", order=10
    ),
    KpiSpec(
        "emails", {"vi": "Email", "en": "Emails"}, "count", "metric:emails", period="day", order=20
    ),
    KpiSpec(
        "meetings",
        {"vi": "Cuộc hẹn", "en": "Meetings"},
        "count",
        "metric:meetings",
        period="week",
        order=30,
    ),
    KpiSpec(
        "demos", {"vi": "Demo", "en": "Demos"}, "count", "metric:demos", period="week", order=40
    ),
    KpiSpec(
        "leads",
        {"vi": "Khách tiềm năng mới", "en": "New leads"},
        "count",
        "metric:leads",
        order=50,
        former_names=("Khách hàng tiềm năng mới",),
    ),
    KpiSpec(
        "proposals", {"vi": "Báo giá", "en": "Proposals"}, "count", "metric:proposals", order=60
    ),
    KpiSpec(
        "deals", {"vi": "Hợp đồng chốt", "en": "Deals closed"}, "count", "metric:deals", order=70
    ),
    KpiSpec(
        "lost",
        {"vi": "Hợp đồng trượt", "en": "Lost deals"},
        "count",
        "metric:lost",
        "lower",
        order=80,
        former_names=("Giao dịch thất bại",),
    ),
    KpiSpec("revenue", {"vi": "Doanh số", "en": "Revenue"}, "vnd", "revenue", order=5),
    KpiSpec(
        "average_deal_value",
        {"vi": "Giá trị hợp đồng trung bình", "en": "Average deal value"},
        "vnd",
        "average_deal_value",
        order=90,
        former_names=("Giá trị đơn hàng trung bình",),
    ),
    KpiSpec(
        "call_conversion",
        {"vi": "Tỷ lệ chuyển đổi cuộc gọi → hợp đồng", "en": "Call → deal conversion"},
        "ratio",
        "call_conversion",
        order=91,
        former_names=("Tỷ lệ chuyển đổi cuộc gọi",),
    ),
    KpiSpec(
        "meeting_rate",
        {"vi": "Tỷ lệ chấp nhận cuộc hẹn", "en": "Meeting rate"},
        "ratio",
        "meeting_rate",
        order=92,
    ),
    KpiSpec(
        "lead_conversion",
        {"vi": "Tỷ lệ chuyển đổi khách tiềm năng", "en": "Lead → customer rate"},
        "ratio",
        "lead_conversion",
        order=93,
        former_names=("Tỷ lệ kiếm được khách hàng",),
    ),
    KpiSpec("win_rate", {"vi": "Tỷ lệ thắng", "en": "Win rate"}, "ratio", "win_rate", order=94),
    KpiSpec(
        "new_customer_share",
        {"vi": "Tỷ trọng doanh số khách mới", "en": "New-customer share of revenue"},
        "ratio",
        "new_customer_share",
        order=95,
    ),
    KpiSpec(
        "revenue_per_rep",
        {"vi": "Doanh số trung bình / nhân viên", "en": "Revenue per rep"},
        "vnd",
        "revenue_per_rep",
        team_only=True,
        order=96,
    ),
    KpiSpec(
        "reps_on_target",
        {"vi": "Tỷ lệ nhân viên đạt chỉ tiêu", "en": "Reps on target"},
        "ratio",
        "reps_on_target",
        team_only=True,
        order=97,
        former_names=("Tỷ lệ sale đạt chỉ tiêu",),
    ),
)
KPI_BY_KEY = {k.key: k for k in BUILTIN_KPIS}

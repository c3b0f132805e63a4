"""The metric catalogue and the built-in KPI definitions (from the Vietnamese sales KPI templates).

A *metric* is what a rep logs (a count; deals also carry an amount). A *KPI* is what the team is
scored on: a metric's sum, money, or a formula over sums (kpi.scoring.derived).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kpi.names import Names

Unit = Literal["count", "vnd", "ratio"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricSpec:
    """A built-in counted metric."""

    key: str
    names: Names  # {language: name}; a language left out falls back to the default's
    daily_bound: int
    order: int


DEALS = "deals"
LOST = "lost"

BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("calls", {"vi": "cuộc gọi", "en": "calls"}, 300, 10),
    MetricSpec("emails", {"vi": "email", "en": "emails"}, 500, 20),
    MetricSpec("meetings", {"vi": "cuộc hẹn", "en": "meetings"}, 30, 30),
    MetricSpec("demos", {"vi": "demo", "en": "demos"}, 30, 40),
    MetricSpec("leads", {"vi": "khách tiềm năng", "en": "leads"}, 100, 50),
    MetricSpec("proposals", {"vi": "báo giá", "en": "proposals"}, 50, 60),
    MetricSpec(DEALS, {"vi": "hợp đồng", "en": "deals"}, 20, 70),
    MetricSpec(LOST, {"vi": "hợp đồng trượt", "en": "lost deals"}, 50, 80),
)
METRIC_KEYS = tuple(m.key for m in BUILTIN_METRICS)
# One deal above this is a typo more often than a record (PRODUCT.md: one deal 50 tỷ).
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

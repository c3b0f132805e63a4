"""The metric catalogue and the built-in KPI definitions (from the Vietnamese sales KPI templates).

A *metric* is what a rep logs (a count; deals also carry an amount). A *KPI* is what the team is
scored on: a metric's sum, money, or a formula over sums (kpi.scoring.derived).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Unit = Literal["count", "vnd", "ratio"]
Direction = Literal["higher", "lower"]


@dataclass(frozen=True)
class MetricSpec:
    """A built-in counted metric."""

    key: str
    name_vi: str
    name_en: str
    daily_bound: int
    order: int


DEALS = "deals"
LOST = "lost"

BUILTIN_METRICS: tuple[MetricSpec, ...] = (
    MetricSpec("calls", "cuộc gọi", "calls", 300, 10),
    MetricSpec("emails", "email", "emails", 500, 20),
    MetricSpec("meetings", "cuộc hẹn", "meetings", 30, 30),
    MetricSpec("demos", "demo", "demos", 30, 40),
    MetricSpec("leads", "khách tiềm năng", "leads", 100, 50),
    MetricSpec("proposals", "báo giá", "proposals", 50, 60),
    MetricSpec(DEALS, "hợp đồng", "deals", 20, 70),
    MetricSpec(LOST, "hợp đồng trượt", "lost deals", 50, 80),
)
METRIC_KEYS = tuple(m.key for m in BUILTIN_METRICS)
# One deal above this is a typo more often than a record (PRODUCT.md: one deal 50 tỷ).
DEFAULT_DEAL_AMOUNT_BOUND = 50_000_000_000


@dataclass(frozen=True)
class KpiSpec:
    """A built-in KPI: how it is computed and how it is read."""

    key: str
    name_vi: str
    name_en: str
    unit: Unit
    source: str  # "metric:<key>" or the name of a formula in kpi.scoring.derived
    direction: Direction = "higher"
    period: str = "month"
    team_only: bool = False  # meaningful for the team, not per member
    order: int = 100
    # Names this KPI had before (teams set up then may still type them): found, never shown.
    former_names: tuple[str, ...] = ()


BUILTIN_KPIS: tuple[KpiSpec, ...] = (
    KpiSpec("calls", "Cuộc gọi", "Calls", "count", "metric:calls", period="day", order=10),
    KpiSpec("emails", "Email", "Emails", "count", "metric:emails", period="day", order=20),
    KpiSpec(
        "meetings", "Cuộc hẹn", "Meetings", "count", "metric:meetings", period="week", order=30
    ),
    KpiSpec("demos", "Demo", "Demos", "count", "metric:demos", period="week", order=40),
    KpiSpec(
        "leads",
        "Khách tiềm năng mới",
        "New leads",
        "count",
        "metric:leads",
        order=50,
        former_names=("Khách hàng tiềm năng mới",),
    ),
    KpiSpec("proposals", "Báo giá", "Proposals", "count", "metric:proposals", order=60),
    KpiSpec("deals", "Hợp đồng chốt", "Deals closed", "count", "metric:deals", order=70),
    KpiSpec(
        "lost",
        "Hợp đồng trượt",
        "Lost deals",
        "count",
        "metric:lost",
        "lower",
        order=80,
        former_names=("Giao dịch thất bại",),
    ),
    KpiSpec("revenue", "Doanh số", "Revenue", "vnd", "revenue", order=5),
    KpiSpec(
        "average_deal_value",
        "Giá trị hợp đồng trung bình",
        "Average deal value",
        "vnd",
        "average_deal_value",
        order=90,
        former_names=("Giá trị đơn hàng trung bình",),
    ),
    KpiSpec(
        "call_conversion",
        "Tỷ lệ chuyển đổi cuộc gọi → hợp đồng",
        "Call → deal conversion",
        "ratio",
        "call_conversion",
        order=91,
        former_names=("Tỷ lệ chuyển đổi cuộc gọi",),
    ),
    KpiSpec(
        "meeting_rate",
        "Tỷ lệ chấp nhận cuộc hẹn",
        "Meeting rate",
        "ratio",
        "meeting_rate",
        order=92,
    ),
    KpiSpec(
        "lead_conversion",
        "Tỷ lệ chuyển đổi khách tiềm năng",
        "Lead → customer rate",
        "ratio",
        "lead_conversion",
        order=93,
        former_names=("Tỷ lệ kiếm được khách hàng",),
    ),
    KpiSpec("win_rate", "Tỷ lệ thắng", "Win rate", "ratio", "win_rate", order=94),
    KpiSpec(
        "new_customer_share",
        "Tỷ trọng doanh số khách mới",
        "New-customer share of revenue",
        "ratio",
        "new_customer_share",
        order=95,
    ),
    KpiSpec(
        "revenue_per_rep",
        "Doanh số trung bình / nhân viên",
        "Revenue per rep",
        "vnd",
        "revenue_per_rep",
        team_only=True,
        order=96,
    ),
    KpiSpec(
        "reps_on_target",
        "Tỷ lệ nhân viên đạt chỉ tiêu",
        "Reps on target",
        "ratio",
        "reps_on_target",
        team_only=True,
        order=97,
        former_names=("Tỷ lệ sale đạt chỉ tiêu",),
    ),
)
KPI_BY_KEY = {k.key: k for k in BUILTIN_KPIS}

"""Attainment, weighted score, ranking with ties and movement, the built-in derived KPIs, and a
KPI definition's value, lines and score from summed totals.

Pure arithmetic: no database, no Telegram, no text. An undefined figure (an empty denominator,
a KPI without a target) is ``None``, which the UI shows as "—"; nothing here divides by zero.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

from kpi import periods
from kpi.names import Names, name_in

__all__ = [
    "DEFAULT_CAP",
    "DERIVED_KEYS",
    "TIE_ABS_TOL",
    "TIE_REL_TOL",
    "Attainment",
    "Direction",
    "KpiDef",
    "KpiLine",
    "PreviousTotals",
    "Ranked",
    "Totals",
    "additive",
    "attainment",
    "derived",
    "evaluate",
    "gap_to_next",
    "growth",
    "kpi_attainment",
    "kpi_value",
    "overall_score",
    "rank",
    "ratio",
    "reps_on_target",
    "revenue_per_rep",
    "same_value",
    "top_n",
]

Direction = Literal["higher", "lower"]
K = TypeVar("K", bound=Hashable)

DEFAULT_CAP = 1.5
# Values computed along different paths (2/3*100 vs a weighted mean) differ in the last bits;
# they must still tie. The absolute floor keeps rounding residue around zero from splitting ties.
TIE_REL_TOL = 1e-9
TIE_ABS_TOL = 1e-12

DERIVED_KEYS = (
    "revenue",
    "average_deal_value",
    "call_conversion",
    "meeting_rate",
    "lead_conversion",
    "win_rate",
    "new_customer_share",
)


def same_value(a: float, b: float) -> bool:
    """Tell whether two scores are equal up to float rounding."""
    return math.isclose(a, b, rel_tol=TIE_REL_TOL, abs_tol=TIE_ABS_TOL)


def _reaches(value: float, level: float) -> bool:
    # 0.1 * 3 / 0.3 is 1.0000000000000002 or 0.9999999999999999 depending on the path: a value a
    # rounding error short of the level has reached it.
    return value >= level or same_value(value, level)


def ratio(num: float, den: float) -> float | None:
    """Divide num by den, or return None when den is zero."""
    if den == 0:
        return None
    return num / den


@dataclass(frozen=True, slots=True)
class Attainment:
    """One KPI's attainment against its target.

    ``raw`` is the uncapped fraction (1.0 = 100%), ``capped`` the value used for scoring; both are
    None when the KPI is not scored (no target, or no measurable actual). A lower-is-better KPI
    at zero has an unbounded ratio: raw and capped are then the cap, and it is met.
    """

    raw: float | None
    capped: float | None
    below_minimum: bool
    met: bool


_NOT_SCORED = Attainment(raw=None, capped=None, below_minimum=False, met=False)


def attainment(
    actual: float | None,
    target: float | None,
    direction: Direction,
    *,
    cap: float = DEFAULT_CAP,
    minimum: float | None = None,
) -> Attainment:
    """Compute the attainment of actual against target for a KPI with the given direction."""
    if not (cap > 0 and math.isfinite(cap)):
        raise ValueError(f"cap must be a positive finite number, got {cap!r}")
    # A target of zero or less cannot be attained in any meaningful sense: the KPI is unscored,
    # like one without a target. A missing actual (e.g. an average over no deals) is unscored too.
    if target is None or actual is None or not math.isfinite(target) or target <= 0:
        return _NOT_SCORED
    if not math.isfinite(actual):
        return _NOT_SCORED
    if direction == "higher":
        raw = actual / target
    elif direction == "lower":
        if actual <= 0:
            # Zero of a lower-is-better KPI (no complaints, no cost) is perfect: the full cap.
            return Attainment(raw=cap, capped=cap, below_minimum=False, met=True)
        raw = target / actual
    else:
        raise ValueError(f"unknown direction {direction!r}")
    capped = min(max(raw, 0.0), cap)
    below = minimum is not None and not _reaches(raw, minimum)
    return Attainment(raw=raw, capped=capped, below_minimum=below, met=_reaches(raw, 1.0))


def overall_score(parts: Iterable[tuple[float | None, float]]) -> float | None:
    """Return the weighted mean of capped attainments × 100, or None when nothing is scorable."""
    usable = [
        (value, weight)
        for value, weight in parts
        if value is not None and math.isfinite(value) and math.isfinite(weight) and weight > 0
    ]
    if not usable:
        return None
    # Normalising by the largest weight keeps huge weights from overflowing the products.
    top_weight = max(weight for _, weight in usable)
    weights = [weight / top_weight for _, weight in usable]
    values = [value for value, _ in usable]
    mean = math.fsum(v * w for v, w in zip(values, weights, strict=True)) / math.fsum(weights)
    # A mean lies between its smallest and largest term; clamping only removes rounding drift,
    # so one part scores exactly its attainment and a mean of capped values never exceeds the cap.
    mean = min(max(mean, min(values)), max(values))
    return mean * 100


@dataclass(frozen=True, slots=True)
class Ranked(Generic[K]):
    """One entry of a ranking: rank None means listed after the ranked entries, unranked."""

    key: K
    value: float | None
    rank: int | None
    active: bool
    movement: int | None


def rank(
    entries: Sequence[tuple[K, float | None, bool]],
    *,
    higher_is_better: bool = True,
    previous: Mapping[K, int] | None = None,
) -> list[Ranked[K]]:
    """Rank (key, value, active) entries with standard competition ranking ("1224")."""
    rankable: list[tuple[int, float]] = []
    unranked: list[int] = []
    for i, (_, value, active) in enumerate(entries):
        if active and value is not None and not math.isnan(value):
            rankable.append((i, value))
        else:
            unranked.append(i)

    # sorted() stays stable with reverse=True, so exact ties keep the caller's (name) order.
    ordered = sorted(rankable, key=lambda item: item[1], reverse=higher_is_better)

    # Neighbours that tie are chained into one group; tolerance ties are not transitive, and
    # chaining guarantees that two values that tie never get different ranks.
    groups: list[list[tuple[int, float]]] = []
    for item in ordered:
        if groups and same_value(groups[-1][-1][1], item[1]):
            groups[-1].append(item)
        else:
            groups.append([item])

    prev = previous or {}
    result: list[Ranked[K]] = []
    for group in groups:
        place = len(result) + 1
        # Inside a group of near-equal values the caller's order decides, not the last bits.
        for i, _ in sorted(group):
            key, value, active = entries[i]
            before = prev.get(key)
            movement = None if before is None else before - place
            result.append(Ranked(key, value, place, active, movement))
    for i in unranked:
        key, value, active = entries[i]
        result.append(Ranked(key, value, None, active, None))
    return result


def gap_to_next(ranked: Sequence[Ranked[K]], key: K) -> float | None:
    """Return how much value the member needs to tie the next better place, or None.

    None for a leader and for unranked members; raises KeyError for a key not in the ranking.
    """
    entry = next((r for r in ranked if r.key == key), None)
    if entry is None:
        raise KeyError(key)
    if entry.rank is None or entry.value is None:
        return None
    own_rank, own_value = entry.rank, entry.value
    better = [
        (r.rank, r.value)
        for r in ranked
        if r.rank is not None and r.value is not None and r.rank < own_rank
    ]
    if not better:
        return None
    next_place = max(place for place, _ in better)
    # The distance is a magnitude: for a lower-is-better KPI it is how much to come down.
    return min(abs(value - own_value) for place, value in better if place == next_place)


def top_n(ranked: Sequence[Ranked[K]], n: int) -> list[Ranked[K]]:
    """Return the ranked entries placed n or better, ties at the boundary included."""
    return [r for r in ranked if r.rank is not None and r.rank <= n]


def reps_on_target(attainments: Iterable[float | None]) -> tuple[int, int]:
    """Count (reps at or above 100% attainment, reps with an attainment at all)."""
    met = counted = 0
    for value in attainments:
        if value is None or math.isnan(value):
            continue
        counted += 1
        if _reaches(value, 1.0):
            met += 1
    return met, counted


def growth(current: float | None, previous: float | None) -> float | None:
    """Return the change from previous to current as a fraction of previous, or None."""
    if current is None or previous is None or previous == 0:
        return None
    # Dividing by the magnitude keeps the sign meaning "went up" even for a negative base.
    return (current - previous) / abs(previous)


@dataclass(frozen=True, slots=True)
class Totals:
    """Summed activity of one member or team over one period, as the data layer aggregates it."""

    calls: int = 0
    emails: int = 0
    meetings: int = 0
    demos: int = 0
    leads: int = 0
    proposals: int = 0
    deals: int = 0
    lost: int = 0
    revenue: int = 0
    new_revenue: int = 0
    extra: Mapping[str, int] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        """Reject totals that no set of stored activities can sum to."""
        counts = {
            "calls": self.calls,
            "emails": self.emails,
            "meetings": self.meetings,
            "demos": self.demos,
            "leads": self.leads,
            "proposals": self.proposals,
            "deals": self.deals,
            "lost": self.lost,
            "revenue": self.revenue,
            "new_revenue": self.new_revenue,
            **self.extra,
        }
        negative = sorted(name for name, value in counts.items() if value < 0)
        if negative:
            raise ValueError(f"totals must not be negative: {', '.join(negative)}")
        if self.new_revenue > self.revenue:
            raise ValueError("new_revenue cannot exceed revenue")


def derived(totals: Totals) -> dict[str, float | None]:
    """Compute the built-in derived KPIs (keyed as DERIVED_KEYS) from summed totals."""
    return {
        "revenue": totals.revenue,
        "average_deal_value": ratio(totals.revenue, totals.deals),
        "call_conversion": ratio(totals.deals, totals.calls),
        "meeting_rate": ratio(totals.meetings, totals.calls),
        "lead_conversion": ratio(totals.deals, totals.leads),
        "win_rate": ratio(totals.deals, totals.deals + totals.lost),
        "new_customer_share": ratio(totals.new_revenue, totals.revenue),
    }


def revenue_per_rep(team_revenue: int, active_reps: int) -> float | None:
    """Divide the team's revenue by its active reps, or return None without reps."""
    return ratio(team_revenue, active_reps)


# --- a team's KPIs: value, attainment, lines and score --------------------------------------


@dataclass(frozen=True)
class KpiDef:
    """A KPI definition as scoring and reports need it."""

    key: str
    names: Names
    unit: str
    source: str
    direction: str
    period: str
    weight: float
    minimum: float | None

    def name(self, lang: str) -> str:
        """Return the name in a language (the default language's when it has none)."""
        return name_in(self.names, lang)


def additive(kpi: KpiDef) -> bool:
    """Tell whether a KPI sums over time (counts, revenue), so that its target prorates."""
    return kpi.source.startswith("metric:") or kpi.source == "revenue"


def kpi_value(kpi: KpiDef, totals: Totals) -> float | None:
    """Compute one KPI's actual value from totals (None when its formula is undefined)."""
    if kpi.source.startswith("metric:"):
        metric = kpi.source.removeprefix("metric:")
        value = getattr(totals, metric, None)
        if isinstance(value, int):
            return float(value)
        return float(totals.extra.get(metric, 0))
    value = derived(totals).get(kpi.source)
    return None if value is None else float(value)


def kpi_attainment(
    kpi: KpiDef, actual: float | None, target: float | None, cap: float
) -> Attainment:
    """Compute a KPI's attainment in its direction, with its minimum, under the team's cap."""
    return attainment(
        actual,
        target,
        kpi.direction,  # type: ignore[arg-type]
        cap=cap,
        minimum=kpi.minimum,
    )


@dataclass(frozen=True)
class KpiLine:
    """One KPI of one member (or the team) over one span."""

    key: str
    unit: str
    direction: str
    weight: float
    actual: float | None
    target: float | None
    attainment: Attainment
    pace: float | None
    previous: float | None
    growth: float | None
    minimum: float | None = None

    @property
    def behind_minimum(self) -> bool:
        """Tell whether the KPI is below its minimum acceptable level, taking pace into account.

        Mid-period the comparison is on pace (where the member should be by now), so a rep
        is not flagged on a Monday morning for a monthly target.
        """
        if self.minimum is None or self.target is None or self.attainment.raw is None:
            return False
        level = self.pace if self.pace is not None else self.attainment.raw
        return level < self.minimum


@dataclass(frozen=True)
class PreviousTotals:
    """What growth compares with: the baseline's whole days, and those plus its partial day."""

    whole: Totals
    with_partial: Totals | None = None
    fraction: float = 0.0

    def value(self, kpi: KpiDef) -> float | None:
        """Return the KPI's value at the baseline, a share of the way into its partial day."""
        before = kpi_value(kpi, self.whole)
        if self.with_partial is None:
            return before
        after = kpi_value(kpi, self.with_partial)
        if before is None or after is None:
            # A rate that only becomes defined on the partial day: take the nearer end.
            return after if self.fraction >= 0.5 else before
        return before + self.fraction * (after - before)


def evaluate(
    kpis: Sequence[KpiDef],
    totals: Totals,
    previous: PreviousTotals | None,
    target_of: Mapping[str, float | None],
    share: float,
    cap: float,
) -> tuple[list[KpiLine], float | None]:
    """Evaluate KPIs against targets; return the lines and the weighted overall score."""
    lines: list[KpiLine] = []
    for k in kpis:
        actual = kpi_value(k, totals)
        target = target_of.get(k.key)
        att = kpi_attainment(k, actual, target, cap)
        # Pace ("ahead of or behind where you should be by now") means something for amounts
        # that grow towards a target, not for rates or for lower-is-better counts.
        pace = (
            periods.pace(actual, target, share)
            if actual is not None and target and additive(k) and k.direction == "higher"
            else None
        )
        prev = previous.value(k) if previous is not None else None
        lines.append(
            KpiLine(
                k.key,
                k.unit,
                k.direction,
                k.weight,
                actual,
                target,
                att,
                pace,
                prev,
                growth(actual, prev),
                k.minimum,
            )
        )
    score = overall_score((ln.attainment.capped, ln.weight) for ln in lines)
    return lines, score

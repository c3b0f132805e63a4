"""Tests for kpi.scoring: attainment, weighted score, ranking, derived KPIs."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from kpi.scoring import (
    DERIVED_KEYS,
    Attainment,
    Direction,
    Ranked,
    Totals,
    attainment,
    derived,
    gap_to_next,
    growth,
    overall_score,
    rank,
    ratio,
    reps_on_target,
    revenue_per_rep,
    top_n,
)


def ranks(result: list[Ranked[str]]) -> dict[str, int | None]:
    return {r.key: r.rank for r in result}


# --- ratio, growth, revenue per rep ---------------------------------------------------------


def test_ratio_divides_and_has_no_value_for_an_empty_denominator() -> None:
    assert ratio(3, 4) == 0.75
    assert ratio(0, 5) == 0.0
    assert ratio(5, 0) is None
    assert ratio(0, 0) is None


def test_growth_against_previous_period() -> None:
    assert growth(120, 100) == pytest.approx(0.2)
    assert growth(80, 100) == pytest.approx(-0.2)
    assert growth(50, 0) is None
    assert growth(None, 10) is None
    assert growth(10, None) is None
    # A negative base still reports an increase as positive growth.
    assert growth(-5, -10) == pytest.approx(0.5)


def test_revenue_per_rep() -> None:
    assert revenue_per_rep(90_000_000, 3) == 30_000_000
    assert revenue_per_rep(90_000_000, 0) is None


# --- attainment -----------------------------------------------------------------------------


def test_attainment_higher_is_better() -> None:
    result = attainment(15, 20, "higher")
    assert result == Attainment(raw=0.75, capped=0.75, below_minimum=False, met=False)
    assert attainment(20, 20, "higher").met
    assert attainment(25, 20, "higher").met


def test_attainment_is_capped_at_150_percent_for_scoring() -> None:
    result = attainment(300, 100, "higher")
    assert result.raw == 3.0
    assert result.capped == 1.5
    assert attainment(300, 100, "higher", cap=2.0).capped == 2.0
    assert attainment(120, 100, "higher").capped == pytest.approx(1.2)


def test_attainment_of_a_negative_actual_scores_zero() -> None:
    result = attainment(-10, 100, "higher")
    assert result.raw == -0.1
    assert result.capped == 0.0
    assert not result.met


def test_attainment_below_minimum_is_flagged() -> None:
    assert attainment(40, 100, "higher", minimum=0.5).below_minimum
    assert not attainment(50, 100, "higher", minimum=0.5).below_minimum
    assert not attainment(10, 100, "higher").below_minimum
    # The flag does not stop the KPI from being scored.
    assert attainment(40, 100, "higher", minimum=0.5).capped == pytest.approx(0.4)


def test_attainment_lower_is_better() -> None:
    # e.g. hours to answer a customer: target 2 h, took 4 h -> half the target's quality.
    assert attainment(4, 2, "lower").raw == 0.5
    assert attainment(1, 2, "lower").raw == 2.0
    assert attainment(1, 2, "lower").capped == 1.5
    assert attainment(2, 2, "lower").met
    assert not attainment(3, 2, "lower").met
    assert attainment(8, 2, "lower", minimum=0.5).below_minimum


def test_attainment_lower_is_better_with_zero_actual_is_perfect() -> None:
    result = attainment(0, 2, "lower")
    assert result == Attainment(raw=1.5, capped=1.5, below_minimum=False, met=True)
    assert attainment(0, 2, "lower", cap=1.2).capped == 1.2


@pytest.mark.parametrize("target", [None, 0, 0.0, -5])
def test_attainment_without_a_target_is_not_scored(target: float | None) -> None:
    result = attainment(10, target, "higher", minimum=0.5)
    assert result == Attainment(raw=None, capped=None, below_minimum=False, met=False)


def test_attainment_without_an_actual_is_not_scored() -> None:
    assert attainment(None, 10, "higher").raw is None
    assert attainment(None, 10, "lower").capped is None


def test_attainment_met_tolerates_float_rounding() -> None:
    actual = 0.1 * 3  # 0.30000000000000004
    assert attainment(actual, 0.3, "higher").met
    assert attainment(0.3, actual, "higher").met
    assert not attainment(0.3, actual, "higher", minimum=1.0).below_minimum


def test_attainment_rejects_a_meaningless_cap() -> None:
    with pytest.raises(ValueError):
        attainment(1, 1, "higher", cap=0)
    with pytest.raises(ValueError):
        attainment(1, 1, "higher", cap=math.inf)


# --- overall score --------------------------------------------------------------------------


def test_overall_score_is_the_weighted_mean_times_100() -> None:
    # calls 80% weight 1, revenue 120% weight 3 -> (0.8 + 3.6) / 4 = 1.1
    assert overall_score([(0.8, 1), (1.2, 3)]) == pytest.approx(110.0)


def test_overall_score_ignores_unscored_and_weightless_parts() -> None:
    assert overall_score([(0.5, 1), (None, 5), (1.5, 0), (1.0, -2)]) == pytest.approx(50.0)
    assert overall_score([(None, 1), (0.9, 0)]) is None
    assert overall_score([]) is None


def test_new_hire_with_lower_target_outranks_senior_with_higher_numbers() -> None:
    # Senior: target 100 calls and 200tr, did 90 calls and 180tr.
    # New hire: target 40 calls and 60tr, did 44 calls and 66tr.
    senior_parts = [
        (attainment(90, 100, "higher").capped, 1.0),
        (attainment(180_000_000, 200_000_000, "higher").capped, 2.0),
    ]
    new_parts = [
        (attainment(44, 40, "higher").capped, 1.0),
        (attainment(66_000_000, 60_000_000, "higher").capped, 2.0),
    ]
    senior = overall_score(senior_parts)
    new_hire = overall_score(new_parts)
    assert senior == pytest.approx(90.0)
    assert new_hire == pytest.approx(110.0)
    result = rank([("an", senior, True), ("binh", new_hire, True)])
    assert [(r.key, r.rank) for r in result] == [("binh", 1), ("an", 2)]


# --- ranking --------------------------------------------------------------------------------


def test_equal_values_share_a_rank_and_the_next_rank_skips() -> None:
    result = rank([("a", 90, True), ("b", 120, True), ("c", 90, True), ("d", 50, True)])
    assert [(r.key, r.rank) for r in result] == [("b", 1), ("a", 2), ("c", 2), ("d", 4)]


def test_ties_keep_the_given_order() -> None:
    result = rank([("zoe", 5, True), ("anh", 5, True), ("minh", 5, True)])
    assert [r.key for r in result] == ["zoe", "anh", "minh"]
    assert {r.rank for r in result} == {1}


def test_members_without_activity_come_last_unranked_in_given_order() -> None:
    result = rank(
        [
            ("an", 0.0, False),
            ("binh", 10.0, True),
            ("chi", None, True),
            ("dung", 30.0, True),
            ("em", 99.0, False),
        ]
    )
    assert [r.key for r in result] == ["dung", "binh", "an", "chi", "em"]
    assert [r.rank for r in result] == [1, 2, None, None, None]
    assert [r.active for r in result] == [True, True, False, True, False]
    # An inactive member keeps the value to display but takes no place.
    assert result[-1].value == 99.0


def test_a_rep_with_zero_but_active_is_ranked() -> None:
    result = rank([("a", 0.0, True), ("b", 3.0, True)])
    assert ranks(result) == {"b": 1, "a": 2}


def test_movement_against_previous_period() -> None:
    previous = {"a": 1, "b": 2, "c": 3, "e": 1}
    result = rank(
        [("a", 10, True), ("b", 30, True), ("c", 20, True), ("d", 5, True), ("e", 1, False)],
        previous=previous,
    )
    movement = {r.key: r.movement for r in result}
    # b: 2 -> 1 (▲1), c: 3 -> 2 (▲1), a: 1 -> 3 (▼2), d new, e unranked now.
    assert movement == {"b": 1, "c": 1, "a": -2, "d": None, "e": None}


def test_lower_is_better_ranking() -> None:
    # e.g. average hours to answer a lead.
    result = rank(
        [("a", 5.0, True), ("b", 1.5, True), ("c", 3.0, True), ("d", 1.5, True)],
        higher_is_better=False,
    )
    assert [(r.key, r.rank) for r in result] == [("b", 1), ("d", 1), ("c", 3), ("a", 4)]


def test_values_computed_differently_tie() -> None:
    direct = 2 / 3 * 100
    via_score = overall_score([(1 / 3, 1), (1.0, 1)])
    via_sum = (0.1 + 0.2) / 0.45 * 100
    assert via_score is not None
    assert len({direct, via_score, via_sum}) > 1  # the point: they differ in the last bits
    result = rank([("a", direct, True), ("b", via_score, True), ("c", via_sum, True)])
    assert {r.rank for r in result} == {1}


def test_gap_to_next_place() -> None:
    result = rank(
        [("a", 10, True), ("b", 8, True), ("c", 8, True), ("d", 5, True), ("e", 0, False)]
    )
    assert gap_to_next(result, "a") is None
    assert gap_to_next(result, "b") == 2
    assert gap_to_next(result, "c") == 2
    assert gap_to_next(result, "d") == 3
    assert gap_to_next(result, "e") is None
    with pytest.raises(KeyError):
        gap_to_next(result, "nobody")


def test_gap_to_next_place_when_lower_is_better() -> None:
    result = rank([("a", 2.0, True), ("b", 3.5, True)], higher_is_better=False)
    assert gap_to_next(result, "b") == 1.5


def test_top_n_includes_ties_at_the_boundary() -> None:
    result = rank([("a", 10, True), ("b", 9, True), ("c", 9, True), ("d", 5, True)])
    assert [r.key for r in top_n(result, 2)] == ["a", "b", "c"]
    assert [r.key for r in top_n(result, 1)] == ["a"]
    assert top_n(result, 0) == []
    unranked = rank([("a", 1, False)])
    assert top_n(unranked, 3) == []


def test_reps_on_target() -> None:
    assert reps_on_target([1.0, 0.99, None, 1.5, 0.1 * 3 / 0.3, 0.0]) == (3, 5)
    assert reps_on_target([]) == (0, 0)
    assert reps_on_target([None]) == (0, 0)


# --- derived KPIs ---------------------------------------------------------------------------


def test_derived_kpis_from_totals() -> None:
    totals = Totals(
        calls=100,
        meetings=20,
        leads=40,
        deals=5,
        lost=15,
        revenue=250_000_000,
        new_revenue=100_000_000,
    )
    result = derived(totals)
    assert tuple(result) == DERIVED_KEYS
    assert result["revenue"] == 250_000_000
    assert result["average_deal_value"] == 50_000_000
    assert result["call_conversion"] == 0.05
    assert result["meeting_rate"] == 0.2
    assert result["lead_conversion"] == 0.125
    assert result["win_rate"] == 0.25
    assert result["new_customer_share"] == 0.4


def test_derived_kpis_of_an_empty_period() -> None:
    result = derived(Totals())
    assert result["revenue"] == 0
    assert all(result[key] is None for key in DERIVED_KEYS if key != "revenue")


def test_totals_reject_impossible_sums() -> None:
    with pytest.raises(ValueError):
        Totals(calls=-1)
    with pytest.raises(ValueError):
        Totals(revenue=10, new_revenue=11)
    with pytest.raises(ValueError):
        Totals(extra={"visits": -2})
    assert Totals(extra={"visits": 3}).extra["visits"] == 3


def test_totals_are_hashable_despite_extra() -> None:
    assert hash(Totals(calls=1, extra={"visits": 3})) == hash(Totals(calls=1))


# --- properties -----------------------------------------------------------------------------

# Scores arrive through different arithmetic paths; values from one base must tie, and values
# from different bases are far apart, so "equal" below is unambiguous.
_PATHS: list[Callable[[int], float]] = [
    lambda k: k * 100 / 3,
    lambda k: k / 3 * 100,
    lambda k: math.fsum([k / 9] * 3) * 100,
    lambda k: float(k) * (100 / 3),
]

_values = st.one_of(
    st.none(),
    st.builds(lambda k, path: path(k), st.integers(0, 40), st.sampled_from(_PATHS)),
)


@st.composite
def _entries(draw: st.DrawFn) -> list[tuple[str, float | None, bool]]:
    values = draw(st.lists(st.tuples(_values, st.booleans()), max_size=25))
    return [(f"m{i}", value, active) for i, (value, active) in enumerate(values)]


def _close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@given(_entries(), st.booleans())
def test_ranking_properties(entries: list[tuple[str, float | None, bool]], higher: bool) -> None:
    result = rank(entries, higher_is_better=higher)
    assert sorted(r.key for r in result) == sorted(key for key, _, _ in entries)

    ranked = [r for r in result if r.rank is not None]
    unranked = [r for r in result if r.rank is None]
    # Ranked entries first, then the unranked ones in the given order.
    assert result == ranked + unranked
    given_order = [key for key, _, _ in entries]
    assert [r.key for r in unranked] == [k for k in given_order if k in {r.key for r in unranked}]
    # Exactly the active entries with a value are ranked.
    assert {r.key for r in ranked} == {k for k, v, a in entries if a and v is not None}
    assert all(r.active for r in ranked)

    placed = [(r.rank, r.value) for r in ranked if r.rank is not None and r.value is not None]
    assert [p for p, _ in placed] == sorted(p for p, _ in placed)
    for place, value in placed:
        strictly_better = sum(
            1
            for _, other in placed
            if not _close(other, value) and (other > value if higher else other < value)
        )
        assert place == 1 + strictly_better
        for other_place, other in placed:
            assert (other_place == place) == _close(other, value)


@given(
    _entries(), st.dictionaries(st.sampled_from([f"m{i}" for i in range(30)]), st.integers(1, 30))
)
def test_movement_is_previous_rank_minus_rank(
    entries: list[tuple[str, float | None, bool]], previous: dict[str, int]
) -> None:
    for r in rank(entries, previous=previous):
        if r.rank is not None and r.key in previous:
            assert r.movement == previous[r.key] - r.rank
        else:
            assert r.movement is None


@given(_entries(), st.integers(0, 30))
def test_top_n_properties(entries: list[tuple[str, float | None, bool]], n: int) -> None:
    result = rank(entries)
    top = top_n(result, n)
    assert top == result[: len(top)]
    assert all(r.rank is not None and r.rank <= n for r in top)
    ranked_count = sum(1 for r in result if r.rank is not None)
    assert len(top) >= min(n, ranked_count)


@given(_entries(), st.booleans(), st.data())
def test_closing_the_gap_reaches_the_next_place(
    entries: list[tuple[str, float | None, bool]], higher: bool, data: st.DataObject
) -> None:
    result = rank(entries, higher_is_better=higher)
    ranked = [r for r in result if r.rank is not None and r.value is not None]
    assume(ranked)
    member = data.draw(st.sampled_from(ranked))
    assert member.rank is not None and member.value is not None
    gap = gap_to_next(result, member.key)
    if member.rank == 1:
        assert gap is None
        return
    assert gap is not None and gap > 0
    better_places = [r.rank for r in ranked if r.rank is not None and r.rank < member.rank]
    improved = member.value + gap if higher else member.value - gap
    moved = [(k, improved if k == member.key else v, a) for k, v, a in entries]
    new_rank = {r.key: r.rank for r in rank(moved, higher_is_better=higher)}[member.key]
    assert new_rank == max(better_places)


_finite = st.floats(min_value=0, max_value=1e12, allow_nan=False, allow_infinity=False)
_caps = st.floats(min_value=0.1, max_value=10)
_directions: st.SearchStrategy[Direction] = st.sampled_from(["higher", "lower"])


@given(_finite, st.one_of(st.none(), _finite), _directions, _caps, st.one_of(st.none(), _caps))
def test_capped_attainment_lies_within_zero_and_cap(
    actual: float, target: float | None, direction: Direction, cap: float, minimum: float | None
) -> None:
    result = attainment(actual, target, direction, cap=cap, minimum=minimum)
    if target is None or target == 0:
        assert result.raw is None and result.capped is None
        return
    assert result.raw is not None and result.capped is not None
    assert 0 <= result.capped <= cap
    if direction == "lower" and actual == 0:
        # Perfect: target / 0 is unbounded, so it scores the full cap whatever the cap is.
        assert result.capped == cap and result.met and not result.below_minimum
        return
    assert result.met == (result.raw >= 1 or _close(result.raw, 1))
    if minimum is not None:
        assert result.below_minimum == (result.raw < minimum and not _close(result.raw, minimum))


_weights = st.floats(min_value=1e-6, max_value=1e6)


@given(_caps, st.data())
def test_overall_score_lies_within_zero_and_cap(cap: float, data: st.DataObject) -> None:
    parts = data.draw(
        st.lists(
            st.tuples(st.one_of(st.none(), st.floats(min_value=0, max_value=cap)), _weights),
            min_size=1,
            max_size=12,
        )
    )
    score = overall_score(parts)
    if all(value is None for value, _ in parts):
        assert score is None
    else:
        assert score is not None
        assert 0 <= score <= cap * 100


@given(st.floats(min_value=0, max_value=10), _weights)
def test_overall_score_of_one_part_is_that_attainment(value: float, weight: float) -> None:
    assert overall_score([(value, weight)]) == value * 100


@given(st.floats(min_value=0, max_value=10), st.lists(_weights, min_size=1, max_size=12))
def test_overall_score_of_equal_attainments_is_that_attainment(
    value: float, weights: list[float]
) -> None:
    # A rep at the cap on every KPI scores exactly the cap, not a rounding error above or below.
    assert overall_score([(value, weight) for weight in weights]) == value * 100


@given(
    st.lists(st.tuples(st.floats(min_value=0, max_value=1.5), _weights), min_size=1, max_size=12),
    st.floats(min_value=1e-3, max_value=1e3),
)
def test_overall_score_is_invariant_to_weight_scale(
    parts: list[tuple[float, float]], k: float
) -> None:
    scaled = [(value, weight * k) for value, weight in parts]
    assert overall_score(scaled) == pytest.approx(overall_score(parts), rel=1e-9, abs=1e-9)


_counts = st.integers(min_value=0, max_value=10**6)
_money = st.integers(min_value=0, max_value=2**62)


@st.composite
def _totals(draw: st.DrawFn) -> Totals:
    revenue = draw(_money)
    return Totals(
        calls=draw(_counts),
        emails=draw(_counts),
        meetings=draw(_counts),
        demos=draw(_counts),
        leads=draw(_counts),
        proposals=draw(_counts),
        deals=draw(_counts),
        lost=draw(_counts),
        revenue=revenue,
        new_revenue=draw(st.integers(min_value=0, max_value=revenue)),
    )


@given(_totals())
def test_derived_kpis_never_raise_and_proportions_lie_in_unit_interval(totals: Totals) -> None:
    result = derived(totals)
    assert tuple(result) == DERIVED_KEYS
    assert result["revenue"] == totals.revenue
    for key in ("win_rate", "new_customer_share"):
        value = result[key]
        assert value is None or 0 <= value <= 1
    assert (result["win_rate"] is None) == (totals.deals + totals.lost == 0)
    assert (result["new_customer_share"] is None) == (totals.revenue == 0)
    assert (result["average_deal_value"] is None) == (totals.deals == 0)
    assert all(value is None or value >= 0 for value in result.values())


@given(st.lists(st.one_of(st.none(), st.floats(min_value=0, max_value=3))))
def test_reps_on_target_counts(values: list[float | None]) -> None:
    met, counted = reps_on_target(values)
    assert counted == sum(1 for v in values if v is not None)
    assert met <= counted
    # Exactly 100% counts, and so does a value a rounding error short of it; 99.9% does not.
    assert sum(1 for v in values if v is not None and v >= 1) <= met
    assert met <= sum(1 for v in values if v is not None and v >= 1 - 1e-6)

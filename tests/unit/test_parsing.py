"""Tests for kpi.parsing: real examples as tables, plus property tests."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from kpi.parsing import (
    DEFAULT_ALIASES,
    MAX_AMOUNT,
    MAX_COUNT,
    AmbiguousAmount,
    Amount,
    CountNote,
    DealItem,
    DealRequest,
    Item,
    LostRequest,
    ParseError,
    build_vocabulary,
    check_backdate,
    closest_command,
    format_amount_short,
    normalize_text,
    parse_amount,
    parse_count,
    parse_count_note,
    parse_deal,
    parse_free_text,
    parse_log,
    parse_lost,
)
from tests.support.parsing_days import extract_day, parse_day

TODAY = dt.date(2026, 11, 25)  # a Wednesday
YESTERDAY = dt.date(2026, 11, 24)
VOCAB = build_vocabulary(DEFAULT_ALIASES.items())
TR = 1_000_000
TY = 1_000_000_000


def amb(a: int, b: int) -> tuple[str, int, int]:
    """Expect an ambiguous amount with these candidates."""
    return ("ambiguous", a, b)


def code_of(call: Callable[[], object]) -> str:
    """Run a call that must fail and return its error code."""
    with pytest.raises(ParseError) as info:
        call()
    return info.value.code


# --------------------------------------------------------------------------- amounts

AMOUNT_CASES: list[tuple[str, int | tuple[str, int, int] | str]] = [
    ("50000000", 50 * TR),
    ("50.000.000", 50 * TR),
    ("50,000,000", 50 * TR),
    ("50 000 000", 50 * TR),
    ("50\u00a0000\u00a0000", 50 * TR),
    ("50.000.000\u00a0₫", 50 * TR),
    ("50.000.000đ", 50 * TR),
    ("50.000.000 VND", 50 * TR),
    ("50000000 vnđ", 50 * TR),
    ("50.000 dong", 50_000),
    ("200.000 đồng", 200_000),
    ("VND 50.000", 50_000),
    ("₫50.000", 50_000),
    ("50tr", 50 * TR),
    ("50 triệu", 50 * TR),
    ("50 trieu", 50 * TR),
    ("50TR", 50 * TR),
    ("50m", 50 * TR),
    ("50 mil", 50 * TR),
    ("50 million", 50 * TR),
    ("45trđ", 45 * TR),
    ("45tr vnđ", 45 * TR),
    ("1.5 tỷ", 1_500_000_000),
    ("1,5 tỷ", 1_500_000_000),
    ("1,5 tỉ", 1_500_000_000),
    ("1.5b", 1_500_000_000),
    ("1.5 billion", 1_500_000_000),
    ("2 bn", 2 * TY),
    ("2 ty", 2 * TY),
    ("2.25tr", 2_250_000),
    ("500k", 500_000),
    ("500 ngàn", 500_000),
    ("500 nghìn", 500_000),
    ("500 ngan", 500_000),
    ("1.5k", 1_500),
    ("1tr2", 1_200_000),
    ("1tr25", 1_250_000),
    ("1tr250", 1_250_000),
    ("1ty2", 1_200_000_000),
    ("1tỷ2", 1_200_000_000),
    ("2 tỷ 300", 2_300_000_000),
    ("2 tỷ 300 triệu", 2_300_000_000),
    ("2 tỷ 50 triệu", 2_050_000_000),
    ("1 triệu 250 nghìn", 1_250_000),
    ("50,000,000.00", 50 * TR),
    ("+45tr", 45 * TR),
    ("1.500.000tr", 1_500_000 * TR),
    ("1 500", 1_500),
    ("1000000000000000", MAX_AMOUNT),
    # ambiguous: a single separator followed by exactly three digits
    ("1.500", amb(1_500, 1_500_000)),
    ("1,500", amb(1_500, 1_500_000)),
    ("12.500", amb(12_500, 12_500_000)),
    ("123.456", amb(123_456, 123_456_000)),
    ("1.500tr", amb(1_500_000, 1_500_000_000)),
    ("1,500 triệu", amb(1_500_000, 1_500_000_000)),
    ("2.250k", amb(2_250, 2_250_000)),
    # currency named, no unit: 1,5 dong is no amount, so 1.500 đ is one thousand five hundred
    ("1.500đ", 1_500),
    # errors
    ("", "amount.missing"),
    ("   ", "amount.missing"),
    ("abc", "amount.invalid"),
    ("45 usd", "amount.invalid"),
    ("5x", "amount.invalid"),
    ("2 45tr", "amount.invalid"),
    ("1.500.00", "amount.invalid"),
    ("2 tỷ 1500 triệu", "amount.invalid"),
    ("1,5", "amount.not_whole"),
    ("2.25", "amount.not_whole"),
    ("1.500,50", "amount.not_whole"),
    ("1.2345678tr", "amount.not_whole"),
    ("0.500", "amount.not_whole"),
    ("-5tr", "amount.negative"),
    ("−50.000", "amount.negative"),
    ("0", "amount.zero"),
    ("0tr", "amount.zero"),
    ("0 đ", "amount.zero"),
    ("1000000000000001", "amount.too_large"),
    ("2000000 tỷ", "amount.too_large"),
    ("9" * 40, "amount.too_large"),
]


@pytest.mark.parametrize(("text", "expected"), AMOUNT_CASES)
def test_parse_amount_table(text: str, expected: int | tuple[str, int, int] | str) -> None:
    if isinstance(expected, str):
        assert code_of(lambda: parse_amount(text)) == expected
    elif isinstance(expected, tuple):
        result = parse_amount(text)
        assert result == AmbiguousAmount(text.strip(), (expected[1], expected[2]))
    else:
        assert parse_amount(text) == Amount(expected)


def test_amount_errors_carry_the_typed_text_and_the_limit() -> None:
    with pytest.raises(ParseError) as info:
        parse_amount("1000000000000001")
    assert info.value.params == {"text": "1000000000000001", "max": MAX_AMOUNT}
    with pytest.raises(ParseError) as info:
        parse_amount(" 1,5 ")
    assert info.value.params == {"text": "1,5"}


FORMAT_CASES: list[tuple[int, str, str]] = [
    (45 * TR, "45tr", "45M"),
    (1_500_000_000, "1,5 tỷ", "1.5B"),
    (2 * TY, "2 tỷ", "2B"),
    (500_000, "500k", "500K"),
    (1_200_000, "1,2tr", "1.2M"),
    (1_250_000, "1,25tr", "1.25M"),
    (1_234_567, "1,23tr", "1.23M"),
    (999_999_999, "1 tỷ", "1B"),
    (999_999, "1tr", "1M"),
    (750, "750", "750"),
    (0, "0", "0"),
    (1_500 * TY, "1500 tỷ", "1500B"),
    (-45 * TR, "-45tr", "-45M"),
]


@pytest.mark.parametrize(("value", "vi", "en"), FORMAT_CASES)
def test_format_amount_short_table(value: int, vi: str, en: str) -> None:
    assert format_amount_short(value, "vi") == vi
    assert format_amount_short(value, "en") == en


def test_format_amount_short_falls_back_to_english_for_other_languages() -> None:
    assert format_amount_short(45 * TR, "fr") == "45M"
    assert format_amount_short(45 * TR, "vi_VN") == "45tr"


# --------------------------------------------------------------------------- counts


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("12", 12),
        (" 7 ", 7),
        ("+3", 3),
        ("007", 7),
        ("1000000", MAX_COUNT),
        ("0", "count.invalid"),
        ("-3", "count.invalid"),
        ("1.5", "count.invalid"),
        ("1,000", "count.invalid"),
        ("abc", "count.invalid"),
        ("", "count.invalid"),
        ("1000001", "count.too_large"),
        ("9" * 5000, "count.too_large"),
    ],
)
def test_parse_count_table(token: str, expected: int | str) -> None:
    if isinstance(expected, str):
        assert code_of(lambda: parse_count(token)) == expected
    else:
        assert parse_count(token) == expected


# --------------------------------------------------------------------------- dates

DAY_CASES: list[tuple[str, dt.date | str | None]] = [
    ("hôm nay", TODAY),
    ("hom nay", TODAY),
    ("Today", TODAY),
    ("hôm qua", YESTERDAY),
    ("HOM QUA", YESTERDAY),
    ("yesterday", YESTERDAY),
    ("ngày hôm qua", YESTERDAY),
    ("hôm kia", dt.date(2026, 11, 23)),
    ("hom kia", dt.date(2026, 11, 23)),
    ("20/11", dt.date(2026, 11, 20)),
    ("20-11", dt.date(2026, 11, 20)),
    ("ngày 20/11", dt.date(2026, 11, 20)),
    ("5/1", dt.date(2026, 1, 5)),
    ("25/11", TODAY),
    ("26/11", dt.date(2025, 11, 26)),  # without a year: the most recent, never the future
    ("20/11/2026", dt.date(2026, 11, 20)),
    ("20/11/26", dt.date(2026, 11, 20)),
    ("2026-11-20", dt.date(2026, 11, 20)),
    ("20.11.2026", dt.date(2026, 11, 20)),
    ("29/02/2024", dt.date(2024, 2, 29)),
    ("29/02", "date.invalid"),  # 2026 is not a leap year
    ("31/02/2026", "date.invalid"),
    ("20/13", "date.invalid"),
    ("0/11", "date.invalid"),
    ("20/11/202", "date.invalid"),
    ("20/11/2099", "date.future"),
    ("2026-11-26", "date.future"),
    ("ngày mai", "date.future"),
    ("tomorrow", "date.future"),
    ("20.11", None),  # as likely a decimal as a date
    ("1.5", None),
    ("calls", None),
    ("hôm", None),
    ("", None),
]


@pytest.mark.parametrize(("text", "expected"), DAY_CASES)
def test_parse_day_table(text: str, expected: dt.date | str | None) -> None:
    if isinstance(expected, str):
        assert code_of(lambda: parse_day(text, TODAY)) == expected
    else:
        assert parse_day(text, TODAY) == expected


def test_29_february_without_a_year_is_found_in_a_leap_year() -> None:
    assert parse_day("29/02", dt.date(2028, 3, 1)) == dt.date(2028, 2, 29)
    assert code_of(lambda: parse_day("29/02", dt.date(2027, 3, 1))) == "date.invalid"


def test_day_and_month_ahead_of_today_mean_last_year() -> None:
    assert parse_day("31/12", dt.date(2027, 1, 2)) == dt.date(2026, 12, 31)


def test_check_backdate() -> None:
    check_backdate(TODAY, TODAY, 7)
    check_backdate(TODAY - dt.timedelta(days=7), TODAY, 7)
    with pytest.raises(ParseError) as info:
        check_backdate(TODAY - dt.timedelta(days=8), TODAY, 7)
    assert (info.value.code, info.value.params) == ("date.too_old", {"days": 7})
    assert code_of(lambda: check_backdate(TODAY + dt.timedelta(days=1), TODAY, 7)) == (
        "date.future"
    )


@pytest.mark.parametrize(
    ("tokens", "day", "rest"),
    [
        (["calls", "12", "hôm", "qua"], YESTERDAY, ["calls", "12"]),
        (["hom", "qua,", "calls", "12"], YESTERDAY, ["calls", "12"]),
        (["calls", "20/11", "12"], dt.date(2026, 11, 20), ["calls", "12"]),
        (["ngày", "20/11", "ABC"], dt.date(2026, 11, 20), ["ABC"]),
        (["calls", "12"], None, ["calls", "12"]),
        (["hôm", "qua", "24/11"], YESTERDAY, []),  # the same day twice is fine
        ([], None, []),
    ],
)
def test_extract_day(tokens: list[str], day: dt.date | None, rest: list[str]) -> None:
    assert extract_day(tokens, TODAY) == (day, rest)


def test_extract_day_refuses_two_different_days() -> None:
    assert code_of(lambda: extract_day(["hôm", "qua", "20/11"], TODAY)) == "date.multiple"


# --------------------------------------------------------------------------- vocabulary


def test_vocabulary_is_normalised_and_covers_keys_and_multi_word_aliases() -> None:
    assert VOCAB["calls"] == "calls"
    assert VOCAB["cuoc goi"] == "calls"
    assert VOCAB["bao gia"] == "proposals"
    assert VOCAB["hop dong"] == "deals"
    assert VOCAB["khach hang tiem nang"] == "leads"
    assert "cuộc gọi" not in VOCAB


def test_default_aliases_map_each_word_to_one_metric() -> None:
    seen: dict[str, str] = {}
    for key, aliases in DEFAULT_ALIASES.items():
        for alias in aliases:
            phrase = normalize_text(alias)
            assert seen.setdefault(phrase, key) == key, phrase


def test_build_vocabulary_refuses_an_alias_given_to_two_metrics() -> None:
    with pytest.raises(ParseError) as info:
        build_vocabulary([("calls", ["gọi"]), ("visits", ["goi"])])
    assert info.value.code == "vocab.conflict"
    assert info.value.params == {"alias": "goi", "metrics": ("calls", "visits")}


def test_team_metrics_extend_the_vocabulary() -> None:
    vocab = build_vocabulary([*DEFAULT_ALIASES.items(), ("site_visits", ["khảo sát", "survey"])])
    request = parse_log("khao sat 3 calls 2", vocab, TODAY)
    assert request.items == (("site_visits", 3), ("calls", 2))


# --------------------------------------------------------------------------- /log

LOG_CASES: list[tuple[str, tuple[tuple[str, int], ...] | str, dt.date | None]] = [
    ("calls 12 meetings 2 emails 30", (("calls", 12), ("meetings", 2), ("emails", 30)), None),
    ("goi 12 hen 2", (("calls", 12), ("meetings", 2)), None),
    ("gọi 12 hẹn 2", (("calls", 12), ("meetings", 2)), None),
    ("12 calls 2 meetings", (("calls", 12), ("meetings", 2)), None),
    ("calls 12, meetings 2", (("calls", 12), ("meetings", 2)), None),
    ("CALLS 12;  meetings\u00a02", (("calls", 12), ("meetings", 2)), None),
    ("calls=12 meetings:2", (("calls", 12), ("meetings", 2)), None),
    ("calls12 2meetings", (("calls", 12), ("meetings", 2)), None),
    ("cuộc gọi 5 báo giá 2", (("calls", 5), ("proposals", 2)), None),
    ("cuoc hen 3 de xuat 1", (("meetings", 3), ("proposals", 1)), None),
    ("calls 12 calls 3", (("calls", 15),), None),
    ("calls 12 hôm qua", (("calls", 12),), YESTERDAY),
    ("hom qua calls 12", (("calls", 12),), YESTERDAY),
    ("calls 12 20/11", (("calls", 12),), dt.date(2026, 11, 20)),
    ("lost 1 leads 4", (("lost", 1), ("leads", 4)), None),
    ("gọi 12 cuộc, gặp 3 khách", (("calls", 12), ("meetings", 3)), None),
    ("", "log.empty", None),
    ("hôm qua", "log.empty", None),
    ("calls", "log.dangling", None),
    ("calls 12 meetings", "log.dangling", None),
    ("calls 12 5", "log.no_metric", None),
    ("12", "log.no_metric", None),
    ("deals 2", "log.use_deal", None),
    ("calls 3 chốt 2", "log.use_deal", None),
    ("foo 3", "metric.unknown", None),
    ("calls 0", "count.invalid", None),
    ("calls 1.5", "count.invalid", None),
    ("calls -2", "count.invalid", None),
    ("calls 2000000", "count.too_large", None),
    ("calls 12 hôm qua 20/11", "date.multiple", None),
    ("calls 12 ngày mai", "date.future", None),
]


@pytest.mark.parametrize(("text", "items", "day"), LOG_CASES)
def test_parse_log_table(
    text: str, items: tuple[tuple[str, int], ...] | str, day: dt.date | None
) -> None:
    if isinstance(items, str):
        assert code_of(lambda: parse_log(text, VOCAB, TODAY)) == items
    else:
        request = parse_log(text, VOCAB, TODAY)
        assert (request.items, request.day) == (items, day)


def test_log_errors_name_the_word() -> None:
    with pytest.raises(ParseError) as info:
        parse_log("calls 3 Cafés 2", VOCAB, TODAY)
    assert info.value.params == {"word": "Cafés"}
    with pytest.raises(ParseError) as info:
        parse_log("emails 3 meetings", VOCAB, TODAY)
    assert info.value.params == {"word": "meetings"}


# --------------------------------------------------------------------------- /deal


def deal(
    amount: Amount | AmbiguousAmount,
    count: int = 1,
    customer: str | None = None,
    is_new: bool = False,
    note: str | None = None,
    day: dt.date | None = None,
) -> DealRequest:
    """Build the expected DealRequest."""
    return DealRequest(count, amount, customer, is_new, note, day)


DEAL_CASES: list[tuple[str, DealRequest | str]] = [
    ("45tr", deal(Amount(45 * TR))),
    ("2 45tr", deal(Amount(45 * TR), count=2)),
    ("45tr ABC Corp", deal(Amount(45 * TR), customer="ABC Corp")),
    ("45tr ABC Corp new", deal(Amount(45 * TR), customer="ABC Corp", is_new=True)),
    (
        "45tr ABC Corp - ghi chú dài",
        deal(Amount(45 * TR), customer="ABC Corp", note="ghi chú dài"),
    ),
    (
        "50 triệu Công ty An Phát mới",
        deal(Amount(50 * TR), customer="Công ty An Phát", is_new=True),
    ),
    (
        "50 trieu cong ty an phat moi",
        deal(Amount(50 * TR), customer="cong ty an phat", is_new=True),
    ),
    ("1,5 tỷ", deal(Amount(1_500_000_000))),
    ("1.500", deal(AmbiguousAmount("1.500", (1_500, 1_500_000)))),
    ("3 1.500 XYZ", deal(AmbiguousAmount("1.500", (1_500, 1_500_000)), count=3, customer="XYZ")),
    ("50.000.000đ Nhà sách  Phương Nam", deal(Amount(50 * TR), customer="Nhà sách  Phương Nam")),
    ("50 000 000 Cty 3M", deal(Amount(50 * TR), customer="Cty 3M")),
    ("45tr 3M Company", deal(Amount(45 * TR), customer="3M Company")),
    ("2 tỷ 300 triệu Vinamilk", deal(Amount(2_300_000_000), customer="Vinamilk")),
    ("1tr2 Cô Lan", deal(Amount(1_200_000), customer="Cô Lan")),
    ("45tr kh mới ABC", deal(Amount(45 * TR), customer="ABC", is_new=True)),
    ("45tr ABC (new)", deal(Amount(45 * TR), customer="ABC", is_new=True)),
    ("hôm qua 45tr ABC", deal(Amount(45 * TR), customer="ABC", day=YESTERDAY)),
    ("45tr ABC hôm qua", deal(Amount(45 * TR), customer="ABC", day=YESTERDAY)),
    (
        "45tr ABC Corp hom qua | giao 20/11",
        deal(Amount(45 * TR), customer="ABC Corp", note="giao 20/11", day=YESTERDAY),
    ),
    ("45tr, ABC Corp: hẹn 14:30", deal(Amount(45 * TR), customer="ABC Corp", note="hẹn 14:30")),
    ("45tr - chỉ ghi chú", deal(Amount(45 * TR), note="chỉ ghi chú")),
    ("45tr An-Phát", deal(Amount(45 * TR), customer="An-Phát")),
    ("", "amount.missing"),
    ("ABC Corp 45tr", "amount.missing"),
    ("- 45tr", "amount.missing"),
    ("1,5 ABC", "amount.not_whole"),
    ("2 1,5", "amount.not_whole"),
    ("-45tr", "amount.negative"),
    ("0 45tr", "count.invalid"),
    ("0", "amount.zero"),
    ("45tr " + "A" * 201, "text.too_long"),
    ("45tr ABC - " + "n" * 501, "text.too_long"),
    ("45tr ABC 20/11 hôm qua", "date.multiple"),
]


@pytest.mark.parametrize(("text", "expected"), DEAL_CASES)
def test_parse_deal_table(text: str, expected: DealRequest | str) -> None:
    if isinstance(expected, str):
        assert code_of(lambda: parse_deal(text, TODAY)) == expected
    else:
        assert parse_deal(text, TODAY) == expected


def test_deal_text_too_long_names_the_field() -> None:
    with pytest.raises(ParseError) as info:
        parse_deal("45tr " + "A" * 201, TODAY)
    assert info.value.params == {"field": "customer", "max": 200}
    customer = "A" * 200
    assert parse_deal("45tr " + customer, TODAY).customer == customer


# --------------------------------------------------------------------------- /call, /lost

COUNT_NOTE_CASES: list[tuple[str, CountNote | str]] = [
    ("", CountNote(1, None, None)),
    ("5", CountNote(5, None, None)),
    ("5 khách ABC", CountNote(5, "khách ABC", None)),
    ("khách ABC", CountNote(1, "khách ABC", None)),
    ("hôm qua 3", CountNote(3, None, YESTERDAY)),
    ("3 hôm qua", CountNote(3, None, YESTERDAY)),
    ("3 gọi lại anh B  hôm qua", CountNote(3, "gọi lại anh B", YESTERDAY)),
    ("2 hẹn 20/11 gặp lại", CountNote(2, "hẹn 20/11 gặp lại", None)),
    ("2 ghi chú 31/02 sai ngày", CountNote(2, "ghi chú 31/02 sai ngày", None)),
    ("0", "count.invalid"),
    ("1.5 abc", "count.invalid"),
    ("n" * 501, "text.too_long"),
    # A botched number is refused, never a note on one call (issue 8).
    ("12O", "count.not_number"),
    ("1e3", "count.not_number"),
    ("0x10", "count.not_number"),
    ("5-", "count.not_number"),
    ("½", "count.not_number"),
    ("٣", "count.not_number"),
    ("NaN", "count.not_number"),
    ("-inf", "count.not_number"),
    ("hôm qua 12O khách", "count.not_number"),
    # Words that are no number stay a note: times of day, "nản" ("nan" without accents), a name.
    ("14:30 gọi lại", CountNote(1, "14:30 gọi lại", None)),
    ("9h sáng", CountNote(1, "9h sáng", None)),
    ("8h-9h", CountNote(1, "8h-9h", None)),
    ("2pm", CountNote(1, "2pm", None)),
    ("nản quá", CountNote(1, "nản quá", None)),
    ("NaN Corp", CountNote(1, "NaN Corp", None)),
    ("3 12O", CountNote(3, "12O", None)),
]


@pytest.mark.parametrize(("text", "expected"), COUNT_NOTE_CASES)
def test_parse_count_note_table(text: str, expected: CountNote | str) -> None:
    if isinstance(expected, str):
        assert code_of(lambda: parse_count_note(text, TODAY)) == expected
    else:
        assert parse_count_note(text, TODAY) == expected


def test_count_note_unpacks_as_a_tuple() -> None:
    count, note, day = parse_count_note("4 anh Nam hom qua", TODAY)
    assert (count, note, day) == (4, "anh Nam", YESTERDAY)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", LostRequest(1, None, None, None)),
        ("ABC Corp", LostRequest(1, "ABC Corp", None, None)),
        ("ABC Corp - giá cao quá", LostRequest(1, "ABC Corp", "giá cao quá", None)),
        ("2 hôm qua ABC", LostRequest(2, "ABC", None, YESTERDAY)),
        ("ABC hôm qua", LostRequest(1, "ABC", None, YESTERDAY)),
    ],
)
def test_parse_lost(text: str, expected: LostRequest) -> None:
    assert parse_lost(text, TODAY) == expected


# --------------------------------------------------------------------------- plain language

FREE_CASES: list[
    tuple[str, tuple[Item, ...], tuple[DealItem, ...], dt.date | None, tuple[str, ...]]
]
FREE_CASES = [
    (
        "goi 12 cuoc, gap 3 khach, chot 2 deal 45tr",
        (Item("calls", 12), Item("meetings", 3)),
        (DealItem(2, Amount(45 * TR), False),),
        None,
        (),
    ),
    (
        "gọi 12 cuộc, gặp 3 khách, chốt 2 deal 45tr",
        (Item("calls", 12), Item("meetings", 3)),
        (DealItem(2, Amount(45 * TR), False),),
        None,
        (),
    ),
    (
        "hôm nay gọi 20 cuộc, gặp 2 khách",
        (Item("calls", 20), Item("meetings", 2)),
        (),
        TODAY,
        (),
    ),
    (
        "12 calls, 3 meetings, closed 2 deals worth 45m",
        (Item("calls", 12), Item("meetings", 3)),
        (DealItem(2, Amount(45 * TR), False),),
        None,
        (),
    ),
    (
        "chốt 1 hợp đồng 1,5 tỷ khách mới",
        (),
        (DealItem(1, Amount(1_500_000_000), True),),
        None,
        (),
    ),
    ("called 5 people yesterday", (Item("calls", 5),), (), YESTERDAY, ()),
    (
        "Hôm qua gọi 10 cuộc và gửi 3 báo giá\ngặp 1 khách",
        (Item("calls", 10), Item("proposals", 3), Item("meetings", 1)),
        (),
        YESTERDAY,
        (),
    ),
    (
        "goi 5 cuoc; goi them 3 cuoc",
        (Item("calls", 8),),
        (),
        None,
        (),
    ),
    ("gọi 12 cuộc. email 5", (Item("calls", 12), Item("emails", 5)), (), None, ()),
    ("chốt deal 45000000", (), (DealItem(1, Amount(45 * TR), False),), None, ()),
    ("chot 2 deal", (), (DealItem(2, None, False),), None, ()),
    ("chot hop dong 2 ty", (), (DealItem(1, Amount(2 * TY), False),), None, ()),
    (
        "won 1 deal 1.500",
        (),
        (DealItem(1, AmbiguousAmount("1.500", (1_500, 1_500_000)), False),),
        None,
        (),
    ),
    ("gọi 5 abc", (Item("calls", 5),), (), None, ("abc",)),
    ("@kpibot gọi 5 cuộc", (Item("calls", 5),), (), None, ()),
    ("made 20 calls and 2 demos today", (Item("calls", 20), Item("demos", 2)), (), TODAY, ()),
    ("12 calls 3", (Item("calls", 12),), (), None, ("3",)),
    (
        "chốt 2 deal 45tr; 1 deal 30tr",
        (),
        (DealItem(2, Amount(45 * TR), False), DealItem(1, Amount(30 * TR), False)),
        None,
        (),
    ),
    (
        "khách mới chốt 1 hợp đồng 50tr",
        (),
        (DealItem(1, Amount(50 * TR), True),),
        None,
        (),
    ),
    ("45tr chốt 1 deal", (), (DealItem(1, Amount(45 * TR), False),), None, ()),
    ("vừa mới gọi 3 cuộc", (Item("calls", 3),), (), None, ()),
    ("chốt 1 deal mới 45tr", (), (DealItem(1, Amount(45 * TR), False),), None, ()),
    ("xin chào bot", (), (), None, ("xin", "chào", "bot")),
    ("gọi cho anh Nam", (), (), None, ("gọi", "Nam")),
    ("gọi 12 cuộc lúc 14h30", (Item("calls", 12),), (), None, ("lúc", "14h30")),
    ("", (), (), None, ()),
]


@pytest.mark.parametrize(("text", "items", "deals", "day", "unknown"), FREE_CASES)
def test_parse_free_text_table(
    text: str,
    items: tuple[Item, ...],
    deals: tuple[DealItem, ...],
    day: dt.date | None,
    unknown: tuple[str, ...],
) -> None:
    result = parse_free_text(text, VOCAB, TODAY)
    assert (result.items, result.deals, result.day, result.unknown) == (
        items,
        deals,
        day,
        unknown,
    )


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("chốt 1 deal 1,5", "amount.not_whole"),
        ("gọi 0 cuộc", "count.invalid"),
        ("gọi 2000000 cuộc", "count.too_large"),
        ("hôm qua gọi 5, 20/11 gặp 2", "date.multiple"),
    ],
)
def test_parse_free_text_errors(text: str, code: str) -> None:
    assert code_of(lambda: parse_free_text(text, VOCAB, TODAY)) == code


# --------------------------------------------------------------------------- properties


def group(n: int, sep: str) -> str:
    """Write n with a thousands separator."""
    return f"{n:,}".replace(",", sep)


@given(st.integers(min_value=1, max_value=10**12), st.sampled_from([".", ",", " ", "\u00a0"]))
@example(1_500, ".")
@example(999, ",")
def test_grouped_integers_parse_back(n: int, sep: str) -> None:
    text = group(n, sep)
    result = parse_amount(text)
    if sep in ".," and 1_000 <= n < 1_000_000:
        # One separator and three digits: a thousands separator or a decimal point (triệu).
        assert result == AmbiguousAmount(text, (n, n * 1_000))
    else:
        assert result == Amount(n)


@given(
    st.integers(min_value=1, max_value=10**12),
    st.sampled_from(["", ".", ",", " "]),
    st.sampled_from([" đ", "đ", " ₫", " VND", "vnđ", " đồng"]),
)
def test_amounts_with_a_currency_parse_back(n: int, sep: str, suffix: str) -> None:
    text = (group(n, sep) if sep else str(n)) + suffix
    assert parse_amount(text) == Amount(n)


@given(
    st.sampled_from([10**3, 10**6, 10**9]),
    st.integers(min_value=100, max_value=99_999),
    st.sampled_from(["vi", "en"]),
)
def test_short_format_round_trips_when_exact(unit: int, hundredths: int, lang: str) -> None:
    value = hundredths * unit // 100
    short = format_amount_short(value, lang)
    assert parse_amount(short) == Amount(value)


@given(st.integers(min_value=1, max_value=999), st.sampled_from(["vi", "en"]))
def test_short_format_of_small_amounts_is_the_number(value: int, lang: str) -> None:
    assert format_amount_short(value, lang) == str(value)
    assert parse_amount(format_amount_short(value, lang)) == Amount(value)


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), st.sampled_from(["vi", "en"]))
def test_short_format_is_close_and_parses(value: int, lang: str) -> None:
    short = format_amount_short(value, lang)
    parsed = parse_amount(short)
    assert isinstance(parsed, Amount)
    # Two decimals of the unit: off by at most half a hundredth of it (0.5%).
    assert abs(parsed.value - value) * 200 <= value


@given(st.integers(min_value=1, max_value=MAX_COUNT))
def test_counts_parse_back(n: int) -> None:
    assert parse_count(str(n)) == n
    assert parse_count(f" {n},") == n


@given(
    st.integers(min_value=0, max_value=20_000),
    st.sampled_from(["%d/%m/%Y", "%d-%m-%Y", "%Y-%m-%d", "%d.%m.%Y", "%d/%m/%y"]),
    st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 31)),
)
def test_formatted_past_dates_parse_back(back: int, fmt: str, today: dt.date) -> None:
    day = today - dt.timedelta(days=back)
    assume(day.year >= 2000 or "%y" not in fmt)
    assert parse_day(day.strftime(fmt), today) == day


@given(
    st.integers(min_value=0, max_value=364),
    st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 31)),
    st.sampled_from(["/", "-"]),
    st.booleans(),
)
def test_dates_without_a_year_within_a_year_parse_back(
    back: int, today: dt.date, sep: str, padded: bool
) -> None:
    day = today - dt.timedelta(days=back)
    text = f"{day.day:02d}{sep}{day.month:02d}" if padded else f"{day.day}{sep}{day.month}"
    assert parse_day(text, today) == day


@given(st.dates(min_value=dt.date(2001, 1, 1), max_value=dt.date(2099, 12, 30)))
def test_future_dates_are_refused(today: dt.date) -> None:
    tomorrow = today + dt.timedelta(days=1)
    assert code_of(lambda: parse_day(tomorrow.isoformat(), today)) == "date.future"


def test_diacritics_and_case_do_not_matter() -> None:
    with_marks = parse_free_text(
        "Gọi 12 cuộc, GẶP 3 khách, chốt 2 hợp đồng 45 triệu", VOCAB, TODAY
    )
    without = parse_free_text("goi 12 cuoc, gap 3 khach, chot 2 hop dong 45 trieu", VOCAB, TODAY)
    assert with_marks == without
    assert with_marks.items == (Item("calls", 12), Item("meetings", 3))


FRAGMENTS = [
    "gọi",
    "goi",
    "calls",
    "chốt",
    "deal",
    "hợp đồng",
    "báo giá",
    "khách mới",
    "new",
    "hôm qua",
    "hôm",
    "ngày",
    "mai",
    "20/11",
    "31/02",
    "29/02",
    "2026-13-01",
    "12",
    "0",
    "-3",
    "+5",
    "1.500",
    "1,5",
    "45tr",
    "1tr2",
    "2 tỷ 300",
    "tỷ",
    "k",
    "đ",
    "₫",
    "VND",
    "vnd",
    "9" * 30,
    "1.2.3,4",
    ",",
    ";",
    ":",
    " - ",
    "|",
    "\n",
    "\u00a0",
    "và",
    "and",
    "(",
    ")",
    "…",
    ".",
    "<b>",
    "'; DROP TABLE",
    "١٢",
    "²",
    "\u200b",
]
messy_text = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map(" ".join),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
)


@given(messy_text, st.dates(min_value=dt.date(1, 1, 3), max_value=dt.date(9999, 12, 31)))
def test_random_text_raises_only_parse_errors(text: str, today: dt.date) -> None:
    calls: list[Callable[[], object]] = [
        lambda: parse_amount(text),
        lambda: parse_count(text),
        lambda: parse_day(text, today),
        lambda: extract_day(text.split(), today),
        lambda: parse_log(text, VOCAB, today),
        lambda: parse_deal(text, today),
        lambda: parse_count_note(text, today),
        lambda: parse_lost(text, today),
        lambda: parse_free_text(text, VOCAB, today),
    ]
    for call in calls:
        try:
            call()
        except ParseError as exc:
            assert isinstance(exc.code, str) and "." in exc.code


@given(messy_text)
def test_results_keep_their_invariants(text: str) -> None:
    try:
        amount = parse_amount(text)
    except ParseError:
        amount = None
    if isinstance(amount, Amount):
        assert 1 <= amount.value <= MAX_AMOUNT
    elif isinstance(amount, AmbiguousAmount):
        low, high = amount.candidates
        assert 1 <= low < high <= MAX_AMOUNT
    try:
        result = parse_free_text(text, VOCAB, TODAY)
    except ParseError:
        return
    assert all(1 <= item.count <= MAX_COUNT for item in result.items)
    assert len({item.metric for item in result.items}) == len(result.items)
    assert result.day is None or result.day <= TODAY


def test_built_in_metric_names_join_the_default_aliases_without_conflict() -> None:
    from kpi.catalog import BUILTIN_METRICS

    vocab = build_vocabulary(
        (m.key, (*DEFAULT_ALIASES.get(m.key, ()), *m.names.values())) for m in BUILTIN_METRICS
    )
    for m in BUILTIN_METRICS:
        assert set(m.names) >= {"vi", "en"}
        for name in m.names.values():
            assert vocab[normalize_text(name)] == m.key


COMMANDS = ("call", "goi", "meeting", "help", "leaderboard", "settings", "caidat", "me", "kpi")


@pytest.mark.parametrize(
    ("typed", "closest"),
    [
        ("cal", "call"),
        ("CALL", "call"),
        ("gọi", "goi"),
        ("hlep", "help"),
        ("leaderbord", "leaderboard"),
        ("setings", "settings"),
        ("caidatt", "caidat"),
        ("xyzzy", None),
        ("", None),
        ("🔥", None),
    ],
)
def test_closest_command(typed: str, closest: str | None) -> None:
    assert closest_command(typed, COMMANDS) == closest

"""The Vietnamese a sales team reads (shared/docs/VI-WORDING.md): the glossary holds across the
catalog and the KPI names, examples are per language, and renamed terms are still understood."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.i18n import catalog, fmt_money_short, t, t_plain
from handlers.render import fmt_figure
from handlers.views.onboarding import help_view
from kpi.catalog import BUILTIN_KPIS, BUILTIN_METRICS
from kpi.parsing import MAX_AMOUNT, Amount, parse_amount
from tests.support.chat import Talk

# --- the glossary ----------------------------------------------------------------------------

# (pattern, why): wording the review replaced. A match in the Vietnamese catalog is a regression.
BANNED: list[tuple[str, str]] = [
    (r"trưởng nhóm", 'the role is "quản lý": "nhóm" is the Telegram group'),
    (r"giao dịch", 'a lost deal is "hợp đồng trượt" ("giao dịch thất bại" is a failed payment)'),
    (r"điểm tổng", 'the score is "điểm KPI" (an average, not a sum)'),
    (r"đơn hàng", 'a deal is "hợp đồng" ("đơn hàng" is retail)'),
    (r"(?<!/)\bdeal\b", 'bot text says "hợp đồng" (people may still type "deal")'),
    (r"khách hàng tiềm năng", 'a lead is "khách tiềm năng"'),
    (r"\bsale\b", 'members are "nhân viên" in KPI names'),
    (r"ghi nhận", 'logging is "ghi" / "ghi số"'),
    (r"ghi quá khứ", 'backdating is "ghi bù"'),
    (r"bài đăng|đăng bài", 'scheduled posts are "tin tự động"'),
    (r"nhóm thấy", '"hiển thị trong nhóm"'),
    (r"không biết", '"không tìm thấy" (not the calque of "Unknown")'),
    (r"không hiểu:", '"Bỏ qua (không hiểu): …"'),
    (r"(?<!của )\btôi\b", 'the bot calls itself "bot"'),
    (r"vui lòng", 'the friendly register: "Bạn … nhé"'),
    (r"khả dụng", '"không còn hoạt động"'),
    (r"đội bán hàng", '"đội kinh doanh"'),
    (r"doanh thu", 'revenue is "doanh số"'),
    (r"mục tiêu|kế hoạch", 'a target is "chỉ tiêu"'),
    (r"đề xuất", 'a proposal is "báo giá"'),
    (r"phím bấm", '"vài thao tác"'),
    (r"chỉ số tổng", '"tổng của đội"'),
    (r"lên hạng trên", '"lên một hạng"'),
    (r"tiến độ \{pct\}", '"{pct} so với tiến độ" (next to the attainment %)'),
    (r"\d{4}-\d{2}-\d{2}", "dates read 20/11/2026, not ISO"),
    (r"; ", "semicolons are not chat punctuation"),
]


def violations(key: str, text: str) -> list[str]:
    """Return the glossary rules a Vietnamese text breaks."""
    found = []
    text = re.sub(r"&[a-z]+;", " ", text)  # &lt; is markup, not punctuation
    for pattern, why in BANNED:
        if re.search(pattern, text, re.IGNORECASE):
            found.append(f"{key}: {why}: {text!r}")
    return found


def test_the_vietnamese_catalog_keeps_the_glossary() -> None:
    found = [v for key, text in catalog("vi").items() for v in violations(key, text)]
    assert found == []


def test_built_in_metric_and_kpi_names_keep_the_glossary() -> None:
    names = [(f"metric.{m.key}", m.names["vi"]) for m in BUILTIN_METRICS]
    names += [(f"kpi.{k.key}", k.names["vi"]) for k in BUILTIN_KPIS]
    found = [v for key, name in names for v in violations(key, name)]
    assert found == []
    by_key = {k.key: k.names["vi"] for k in BUILTIN_KPIS}
    assert by_key["lost"] == "Hợp đồng trượt"
    assert by_key["call_conversion"] == "Tỷ lệ chuyển đổi cuộc gọi → hợp đồng"


def test_the_glossary_scan_finds_what_the_review_fixed() -> None:
    # The scan itself must bite: the strings the review replaced are caught.
    old = {
        "scope.leader_only": "Chỉ trưởng nhóm mới dùng được lệnh này.",
        "me.score": "Điểm tổng: <b>{score}</b>",
        "help.line.lost": "[khách hàng] — giao dịch thất bại",
        "log.understood": "Tôi hiểu là:",
        "me.pace": "tiến độ {pct}",
        "board.you": "Bạn đang hạng {rank}/{total}; còn {gap} điểm nữa để lên hạng trên.",
    }
    assert all(violations(key, text) for key, text in old.items())
    assert violations("commands.me", "KPI của tôi") == []


def test_a_weekly_title_names_the_week_once() -> None:
    span = t("vi", "digest.span_week", start="30/11", end="06/12")
    title = t("vi", "digest.weekly_title", span=span)
    assert title == "🏆 <b>Bảng xếp hạng</b> · tuần 30/11–06/12"


@pytest.mark.parametrize("period", ["month", "quarter", "year"])
def test_a_span_does_not_read_as_a_month_number(period: str) -> None:
    # "tháng 01/11–30/11" reads as "January"; the dates go in parentheses as in span_label.
    text = t("vi", f"digest.span_{period}", start="01/11", end="30/11")
    assert text.endswith(" (01/11–30/11)")


# --- examples per language --------------------------------------------------------------------

# Words with a Vietnamese form the parsers accept: a Vietnamese example uses that form.
ENGLISH_ONLY = {
    "new",
    "yesterday",
    "today",
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "calls",
    "meetings",
    "emails",
    "deals",
    "revenue",
    "competitor",
}
VIETNAMESE_WORDS = {"mới", "moi", "tuần", "tháng", "ngày", "hôm", "doanhso", "gọi", "hẹn", "cuộc"}


def words(text: str) -> set[str]:
    """Return the lowercase words of a text, leaving out commands (`/deal`) and markup."""
    text = re.sub(r"<[^>]+>|&[a-z]+;|/[a-z_]+|@\w+", " ", text)
    return {w.lower() for w in re.findall(r"\w+", text)}


def test_every_example_exists_in_both_languages_in_its_own_words() -> None:
    vi = {k: v for k, v in catalog("vi").items() if k.startswith("example.")}
    en = {k: v for k, v in catalog("en").items() if k.startswith("example.")}
    assert set(vi) == set(en) and len(vi) >= 20
    assert {
        k: sorted(words(v) & ENGLISH_ONLY) for k, v in vi.items() if words(v) & ENGLISH_ONLY
    } == {}
    assert {
        k: sorted(words(v) & VIETNAMESE_WORDS)
        for k, v in en.items()
        if words(v) & VIETNAMESE_WORDS
    } == {}
    assert [k for k, v in en.items() if re.search(r"[^\x00-\x7f]", v)] == []


def test_help_shows_examples_in_the_readers_language() -> None:
    vi_help, en_help = help_view("vi", True), help_view("en", True)
    assert words(vi_help) & ENGLISH_ONLY == set()
    assert words(en_help) & VIETNAMESE_WORDS == set()
    for key in ("help.footer", "admin.kpi.add_usage"):
        assert words(catalog("vi")[key]) & ENGLISH_ONLY == set(), key
        assert words(catalog("en")[key]) & VIETNAMESE_WORDS == set(), key
    assert "<code>/deal 45tr Công ty An Phát mới</code>" in vi_help
    assert "<code>/goi 5</code>" in vi_help
    assert "<code>/target doanhso 300tr tháng</code>" in vi_help
    assert "<code>/deal 45m An Phat new</code>" in en_help


# A bad input per command, and who sends it where: every answer ends with that command's example.
BAD = [
    ("deal", "/deal -5tr"),
    ("chot", "/chot"),
    ("lost", "/lost -5"),
    ("log", "/log banana 5"),
    ("ghi", "/ghi 5"),
    ("free_text", "chuối"),
    ("me", "/me abc"),
    ("leaderboard", "/leaderboard chuối"),
    ("chart", "/chart chuối"),
    ("target", "/target bananas 5"),
    ("kpi", "/kpi weight bananas 20%"),
]


@pytest.mark.parametrize(("key", "text"), BAD)
@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_bad_input_ends_with_an_example_in_the_readers_language(
    talk: Talk, team: Any, key: str, text: str, lang: str
) -> None:
    leader_command = key in ("target", "kpi")
    user = team.leader if leader_command else (team.minh if lang == "vi" else team.hoa)
    chat = team.leader_dm if leader_command else (team.minh_dm if lang == "vi" else team.hoa_dm)
    if leader_command and lang == "en":
        await talk.say(user, chat, "/language en")
    answer = await talk.reply(user, chat, text)
    last = answer.splitlines()[-1]
    assert last == ("Ví dụ: " if lang == "vi" else "Example: ") + t_plain(lang, f"example.{key}")
    if lang == "vi":
        assert words(last) & ENGLISH_ONLY == set(), last
    else:
        assert words(last) & VIETNAMESE_WORDS == set(), last


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_every_example_is_accepted_as_it_is_shown(talk: Talk, team: Any, lang: str) -> None:
    # An example that the bot itself refuses would teach the wrong thing.
    if lang == "en":
        for user, chat in ((team.leader, team.leader_dm), (team.minh, team.minh_dm)):
            await talk.say(user, chat, "/language en")
    examples = {
        k[len("example.") :]: v for k, v in catalog(lang).items() if k.startswith("example.")
    }
    assert len(examples) >= 20
    for key, example in examples.items():
        if key in ("edit", "void"):
            continue  # they name entry #123, which a fresh team does not have
        leader = key in ("target", "kpi")
        user, chat = (team.leader, team.leader_dm) if leader else (team.minh, team.minh_dm)
        answers = await talk.say(user, chat, example)
        texts = [a.text or "" for a in answers if a.kind == "text" and a.chat_id == chat.id]
        assert texts or key == "chart", (key, example)
        for text in texts:
            assert "Ví dụ:" not in text and "Example:" not in text, (key, example, text)
            assert not text.startswith(("Bỏ qua", "Not understood")), (key, example, text)
            assert "\nBỏ qua" not in text and "\nNot understood" not in text, (key, example, text)


# --- renamed terms are still understood --------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "/mat",
        "/log giao dịch thất bại 1",
        "/log hợp đồng trượt 1",
        "trượt 1 hợp đồng",
        "rớt 1",
        "giao dịch thất bại 1",
    ],
)
async def test_lost_deals_are_called_hop_dong_truot_and_the_old_name_still_logs(
    talk: Talk, team: Any, text: str
) -> None:
    answer = await talk.reply(team.minh, team.minh_dm, text)
    assert "✅ +1 hợp đồng trượt" in answer.splitlines()[:2]
    assert "Bỏ qua" not in answer


async def test_lost_deals_in_english_plain_text_are_not_a_deal(talk: Talk, team: Any) -> None:
    answer = await talk.reply(team.hoa, team.hoa_dm, "lost 2 deals")
    assert answer.splitlines()[1] == "✅ +2 lost deals"
    assert "Not understood" not in answer


async def test_leads_log_under_their_short_name_and_the_old_one(talk: Talk, team: Any) -> None:
    assert (await talk.reply(team.minh, team.minh_dm, "/lead 2")).startswith(
        "✅ +2 khách tiềm năng"
    )
    answer = await talk.reply(team.minh, team.minh_dm, "/log khách hàng tiềm năng 3")
    assert answer.startswith("✅ +3 khách tiềm năng")


@pytest.mark.parametrize(
    ("old_name", "shown"),
    [
        ("tỷ lệ kiếm được khách hàng", "Tỷ lệ chuyển đổi khách tiềm năng"),
        ("tỷ lệ sale đạt chỉ tiêu", "Tỷ lệ nhân viên đạt chỉ tiêu"),
        ("giá trị đơn hàng trung bình", "Giá trị hợp đồng trung bình"),
    ],
)
async def test_a_kpis_former_name_still_finds_it(
    talk: Talk, team: Any, old_name: str, shown: str
) -> None:
    answer = await talk.reply(team.leader, team.leader_dm, f"/leaderboard tháng {old_name}")
    assert answer.startswith(f"🏆 {shown} · tháng này")


# --- money the way chat writes it ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "vi", "en"),
    [
        (279_890_000, "280tr", "280M"),
        (54_350_000, "54,4tr", "54.4M"),
        (29_210_000, "29,2tr", "29.2M"),
        (1_250_000_000, "1,25 tỷ", "1.25B"),
        (99_960_000, "100tr", "100M"),
        (999_999_999, "1 tỷ", "1B"),
        (45_000_000, "45tr", "45M"),
        (500_000, "500k", "500K"),
    ],
)
def test_computed_money_has_at_most_three_digits(value: int, vi: str, en: str) -> None:
    # Totals, targets and averages: "279,89tr" reads like a spreadsheet, chat writes "280tr".
    assert fmt_figure(value, "vnd", "vi") == vi
    assert fmt_figure(value, "vnd", "en") == en


def test_an_amount_someone_typed_is_echoed_in_full() -> None:
    assert fmt_money_short(279_890_000, "vi") == "279,89tr"
    assert fmt_money_short(1_250_000, "en") == "1.25M"


@given(st.integers(min_value=1, max_value=MAX_AMOUNT), st.sampled_from(["vi", "en"]))
def test_computed_money_is_close_and_parses(value: int, lang: str) -> None:
    parsed = parse_amount(fmt_figure(value, "vnd", lang))
    assert isinstance(parsed, Amount)
    assert abs(parsed.value - value) * 200 <= value  # three digits: within 0.5%


async def test_a_typed_target_is_echoed_in_full_and_team_totals_read_like_chat(
    talk: Talk, team: Any
) -> None:
    set_ = await talk.reply(team.leader, team.leader_dm, "/target doanhso 123,45tr tháng")
    assert set_ == "🎯 Chỉ tiêu Doanh số cho từng thành viên: 123,45tr mỗi tháng."
    assert "chỉ tiêu 123,45tr mỗi tháng" in await talk.reply(team.leader, team.leader_dm, "/kpi")
    # The team's target for the month is prorated (both joined mid-month): three digits at most.
    text = await talk.reply(team.leader, team.leader_dm, "/month")
    [revenue] = [line for line in text.splitlines() if line.startswith("Doanh số:")]
    assert re.fullmatch(r"Doanh số: 0/(\d{1,3}|\d\d,\d|\d,\d\d)tr \(0%\)", revenue), revenue


@pytest.mark.parametrize("lang", ["vi", "en"])
async def test_every_command_the_help_shows_is_accepted(talk: Talk, team: Any, lang: str) -> None:
    # Help, hints and usage lines quote commands in <code>: each must work as it is shown.
    if lang == "en":
        for user, chat in ((team.leader, team.leader_dm), (team.minh, team.minh_dm)):
            await talk.say(user, chat, "/language en")
    skip = ("/edit 123", "/void 123", "/settings topic")  # an entry id; a forum topic
    shown = {
        code
        for text in catalog(lang).values()
        for code in re.findall(r"<code>(.*?)</code>", text)
        if re.search(r"\d|^/", code) and not code.startswith(("#", *skip))
    }
    assert len(shown) >= 15
    for code in sorted(shown):
        leader = code.startswith(("/kpi", "/target", "/settings"))
        user, chat = (team.leader, team.leader_dm) if leader else (team.minh, team.minh_dm)
        answers = await talk.say(user, chat, code)
        texts = [a.text or "" for a in answers if a.kind == "text" and a.chat_id == chat.id]
        assert texts, code
        for text in texts:
            assert "Ví dụ:" not in text and "Example:" not in text, (code, text)
            assert "Bỏ qua" not in text and "Not understood" not in text, (code, text)

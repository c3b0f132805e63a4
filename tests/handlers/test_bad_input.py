"""QUALITY.md R5: bad input gets a clear answer and changes nothing, for every command.

A property test sends random arguments (unicode and control characters, huge and negative
numbers, decimals, markup, injection strings, format strings, very long text, emoji) to every
command and as plain text, through the real Application, and checks that no exception reaches
the error handler, that every answer is a message Telegram accepted, and that an answer which
refuses the input left the activities and check-ins as they were. A table then checks that the
typical mistakes are answered with what was wrong and a correct example.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.sandbox import ManualClock, Sandbox, SentMessage
from kpi.models import Absence, Activity, Checkin
from tests.support.chat import Talk

MAX_TEXT = 4096  # Telegram's limit for one message
EXAMPLES = 40

# Every command of the handler table, in both languages (a test checks none is missing).
COMMAND_GROUPS: dict[str, tuple[str, ...]] = {
    "counts": ("call", "goi", "meeting", "hen", "lead", "email", "demo", "proposal", "baogia"),
    "deals": ("deal", "chot", "lost", "mat"),
    "log": ("log", "ghi"),
    "corrections": ("undo", "hoantac", "history", "lichsu", "edit", "sua", "void", "huy"),
    "people": ("me", "toi", "join", "setup", "start", "help", "language", "ngonngu"),
    "reports": (
        *("leaderboard", "bxh", "today", "homnay", "week", "tuan", "month", "thang"),
        *("chart", "bieudo"),
    ),
    "leaders": (
        *("target", "chitieu", "kpi", "settings", "caidat"),
        *("mute", "tatnhac", "unmute", "batnhac"),
        *("invite", "moi"),
        *("leave", "nghiphep"),
        *("approvals", "duyet"),
    ),
    "exports": ("export", "xuat", "import", "nhap"),
    "team": ("team", "doi"),
    "records": ("audit", "nhatky", "org", "congty", "mydata", "dulieu", "erase", "xoadulieu"),
    # Commands the bot does not have: a typo is answered with the closest command and /help.
    "unknown": ("cal", "hlep", "setings", "xyz", "start_", "a" * 32),
}

NASTY = (
    "<b>",
    "</code>",
    "<a href='x'>y</a>",
    "&amp;",
    "&",
    "&lt;",
    "'; DROP TABLE activities;--",
    '" OR 1=1 --',
    "%s",
    "%(x)s",
    "{0}",
    "{}",
    "{items}",
    "\\",
    "\x00",
    "\u202e",
    "\u200b",
    "\t",
    "\n",
    "🔥",
    "👍🏽",
    "１２",
    "٣",
    "½",
    "1e309",
    "NaN",
    "inf",
    "-0",
    "0x10",
    "99999999999999999999999999999",
    "-5",
    "0",
    "1,5",
    "1.500",
    "1.5",
    "45tr",
    "1,5 tỷ",
    "-5tr",
    "500k",
    "₫",
    "hôm qua",
    "yesterday",
    "20/11",
    "18/11",
    "2026-02-30",
    "31/02",
    "29/02/2027",
    "new",
    "mới",
    "@kpi_test_bot",
    "calls",
    "gọi",
    "deals",
    "#1",
    "1",
    "2",
    "5",
    "400",
    "en",
    "vi",
    # /team's words: a change needs a leader, an @member and, for rank, on or off.
    "leader",
    "rep",
    "remove",
    "rank",
    "xephang",
    "off",
    "@minh_tran",
    "@hoa_le",
)

token = st.one_of(
    st.sampled_from(NASTY),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(str),
    st.text(max_size=20),
)
arguments = st.one_of(
    st.lists(token, max_size=6).map(" ".join),
    st.text(max_size=120),
    # Very long input: one repeated piece, up to about 5,000 characters.
    st.builds(
        lambda piece, n: (piece * n)[:5000],
        st.sampled_from(("x", "9", "ầ", "🔥", "<b>", "&amp;", "gọi 1 ", "calls 1 ", "a ")),
        st.integers(min_value=300, max_value=5000),
    ),
)
# (who, where): reps, the leader, and someone in no team; private chat or the team's group.
callers = st.sampled_from(
    (
        ("minh", "dm"),
        ("hoa", "dm"),
        ("leader", "dm"),
        ("minh", "group"),
        ("hoa", "group"),
        ("leader", "group"),
        ("stranger", "dm"),
    )
)

ERROR_MARKS = ("\nVí dụ: ", "\nExample: ")
SUCCESS_MARKS = ("✅", "↩️", "🗑", "✏️", "⏳")  # ⏳: a leave asked of the leaders


# --- fixtures and helpers --------------------------------------------------------------------


@pytest.fixture
def failures(app: Any) -> list[BaseException]:
    """Record every exception that reaches the application's error handlers."""
    seen: list[BaseException] = []

    async def record(update: object, context: Any) -> None:
        seen.append(context.error)

    app.add_error_handler(record)
    return seen


@pytest.fixture
def people(team: Any, sandbox: Sandbox) -> dict[str, tuple[Any, Any]]:
    """Who may speak where: name -> (user, {"dm": chat, "group": chat})."""
    stranger = sandbox.user("Khách", language_code="en")
    return {
        "minh": (team.minh, {"dm": team.minh_dm, "group": team.group}),
        "hoa": (team.hoa, {"dm": team.hoa_dm, "group": team.group}),
        "leader": (team.leader, {"dm": team.leader_dm, "group": team.group}),
        "stranger": (stranger, {"dm": sandbox.private(stranger)}),
    }


def fingerprint(db: Any) -> tuple[Any, ...]:
    """Summarise what activities and check-ins hold (rows, statuses, values, amounts)."""
    with db.transaction() as s:
        entries = s.execute(
            select(
                Activity.status,
                func.count(),
                func.coalesce(func.sum(Activity.value), 0),
                func.coalesce(func.sum(Activity.amount), 0),
            )
            .group_by(Activity.status)
            .order_by(Activity.status)
        ).all()
        checkins = s.execute(
            select(Checkin.status, func.count()).group_by(Checkin.status).order_by(Checkin.status)
        ).all()
        leave = s.execute(
            select(Absence.status, func.count()).group_by(Absence.status).order_by(Absence.status)
        ).all()
    return tuple(map(tuple, entries)), tuple(map(tuple, checkins)), tuple(map(tuple, leave))


def is_refusal(text: str) -> bool:
    """Tell whether an answer refuses the input (it shows a correct example)."""
    return any(mark in text for mark in ERROR_MARKS)


def is_success(text: str) -> bool:
    """Tell whether an answer reports something stored or corrected."""
    return any(line.startswith(SUCCESS_MARKS) for line in text.splitlines())


async def send_and_check(
    talk: Talk,
    db: Any,
    sandbox: Sandbox,
    failures: list[BaseException],
    user: Any,
    chat: Any,
    text: str,
    *,
    must_answer: bool,
    group: Any,
) -> list[SentMessage]:
    """Send one message and check R5 for it; return the answers."""
    failures.clear()  # examples share the app: judge this message alone
    before = fingerprint(db)
    calls_before = len(sandbox.calls)
    answers = await talk.say(user, chat, text)
    after = fingerprint(db)
    assert failures == [], (text, failures)
    refused = [c for c in sandbox.calls[calls_before:] if not c.ok]
    assert refused == [], (text, [(c.method, c.response) for c in refused])
    if must_answer:
        assert answers, text
    for answer in answers:
        if answer.kind == "photo":
            # A chart: after a text answer (/me, a leaderboard), or the answer itself (/chart).
            assert answer.photo, (text, answer)
            assert len(answer.text or "") <= 1024  # Telegram's limit for a caption
            continue
        assert answer.text, (text, answer)
        assert len(answer.text) <= MAX_TEXT
        # Answers go to the sender's chat; a logged deal is also celebrated in the group, and
        # one person's numbers asked for in the group go to their private chat.
        assert answer.chat_id in (chat.id, group.id, user.id)
        assert "Xin lỗi, đã có lỗi" not in answer.text
        assert "Sorry, something went wrong" not in answer.text
    texts = [a.text or "" for a in answers]
    if any(is_refusal(t) for t in texts) or not any(is_success(t) for t in texts):
        # Nothing half-stored: a refusal, a question or a listing leaves the data as it was.
        assert after == before, (text, texts)
    return answers


def property_test(commands: tuple[str, ...], *, address: bool = False) -> Callable[..., Any]:
    """Build the R5 property test for one group of commands (`address`: `/x@bot` in groups)."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(command=st.sampled_from(commands), args=arguments, caller=callers)
    async def check(
        talk: Talk,
        db: Any,
        sandbox: Sandbox,
        failures: list[BaseException],
        people: dict[str, tuple[Any, Any]],
        command: str,
        args: str,
        caller: tuple[str, str],
    ) -> None:
        user, chats = people[caller[0]]
        chat = chats[caller[1]]
        if address and caller[1] == "group":
            command += "@kpi_test_bot"  # a bare unknown command in a group may be another bot's
        text = f"/{command} {args}" if args else f"/{command}"
        # /join in the group by a member answers too; every command answers in private.
        group = people["minh"][1]["group"]
        await send_and_check(
            talk, db, sandbox, failures, user, chat, text, must_answer=True, group=group
        )

    return check


test_counting_commands_survive_any_arguments = property_test(COMMAND_GROUPS["counts"])
test_deal_and_lost_commands_survive_any_arguments = property_test(COMMAND_GROUPS["deals"])
test_log_commands_survive_any_arguments = property_test(COMMAND_GROUPS["log"])
test_corrections_survive_any_arguments = property_test(COMMAND_GROUPS["corrections"])
test_other_commands_survive_any_arguments = property_test(COMMAND_GROUPS["people"])
test_report_commands_survive_any_arguments = property_test(COMMAND_GROUPS["reports"])
test_leader_commands_survive_any_arguments = property_test(COMMAND_GROUPS["leaders"])
test_export_commands_survive_any_arguments = property_test(COMMAND_GROUPS["exports"])
test_team_commands_survive_any_arguments = property_test(COMMAND_GROUPS["team"])
test_records_and_personal_data_survive_any_arguments = property_test(COMMAND_GROUPS["records"])
test_unknown_commands_survive_any_arguments = property_test(
    COMMAND_GROUPS["unknown"], address=True
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    data=st.one_of(
        st.builds(
            "ap:{}:{}".format,
            st.integers(min_value=0, max_value=10**30),
            st.sampled_from(("ok", "no")),
        ),
        st.builds("fv:{}".format, st.integers(min_value=0, max_value=10**30)),
    ),
    caller=callers,
)
async def test_approval_and_flag_buttons_survive_any_payload(
    talk: Talk,
    db: Any,
    sandbox: Sandbox,
    failures: list[BaseException],
    people: dict[str, tuple[Any, Any]],
    data: str,
    caller: tuple[str, str],
) -> None:
    """Approve/Reject (`ap:`) and a flag's void (`fv:`) with any entry id, from anyone."""
    user, chats = people[caller[0]]
    chat = chats[caller[1]]
    if not sandbox.sent(chat):
        await talk.say(user, chat, "/help")
    failures.clear()
    before = fingerprint(db)
    calls_before = len(sandbox.calls)
    message = sandbox.sent(chat)[-1]
    await talk.deliver(sandbox.press(user, chat, message.message_id, data, check=False))
    assert failures == [], (data, failures)
    refused = [c for c in sandbox.calls[calls_before:] if not c.ok]
    assert refused == [], (data, [(c.method, c.response) for c in refused])
    if caller[0] != "leader" or int(data.split(":")[1]) > 10**6:
        # Only a leader of the entry's team changes anything, and only with an existing entry.
        assert fingerprint(db) == before, data


def test_the_property_tests_cover_every_command(app: Any) -> None:
    from handlers.onboarding import command_names

    covered = {c for name, group in COMMAND_GROUPS.items() if name != "unknown" for c in group}
    assert covered == command_names(app)
    assert not set(COMMAND_GROUPS["unknown"]) & command_names(app)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=arguments.filter(lambda t: t.strip() and not t.startswith("/")))
async def test_plain_text_in_private_survives_anything(
    talk: Talk,
    db: Any,
    sandbox: Sandbox,
    failures: list[BaseException],
    team: Any,
    text: str,
) -> None:
    await send_and_check(
        talk,
        db,
        sandbox,
        failures,
        team.minh,
        team.minh_dm,
        text,
        must_answer=True,
        group=team.group,
    )


@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(text=arguments.filter(lambda t: t.strip() and not t.startswith("/")))
async def test_plain_text_mentioning_the_bot_in_the_group_survives_anything(
    talk: Talk,
    db: Any,
    sandbox: Sandbox,
    failures: list[BaseException],
    team: Any,
    text: str,
) -> None:
    await send_and_check(
        talk,
        db,
        sandbox,
        failures,
        team.hoa,
        team.group,
        f"@kpi_test_bot {text}",
        must_answer=True,
        group=team.group,
    )


# --- the typical mistakes, answered with what was wrong and an example ------------------------

BAD_INPUTS = [
    # (who, text, the first line of the answer)
    ("minh", "/call -3", "Số lượng phải là số nguyên dương."),
    ("minh", "/call 0", "Số lượng phải là số nguyên dương."),
    ("minh", "/call 2.5", "Số lượng phải là số nguyên dương."),
    ("minh", "/call 99999999999999999999", "Số lượng quá lớn."),
    ("minh", "/goi -1", "Số lượng phải là số nguyên dương."),
    ("minh", "/hen 0", "Số lượng phải là số nguyên dương."),
    ("minh", "/call 5 32/13", "Ngày không hợp lệ. Ghi theo dạng 20/11 hoặc 20/11/2026."),
    ("minh", "/call " + "x" * 600, "Nội dung quá dài (tối đa 500 ký tự)."),
    ("minh", "/deal", "Thiếu số tiền."),
    ("minh", "/chot", "Thiếu số tiền."),
    ("minh", "/deal abc", "Thiếu số tiền."),
    ("minh", "/deal -5tr", "Số tiền không được âm."),
    ("minh", "/deal 0", "Số tiền phải lớn hơn 0."),
    (
        "minh",
        "/deal 1.5",
        "Số tiền tính bằng đồng, không có phần lẻ. "
        "Nếu ý bạn là triệu, hãy thêm đơn vị, ví dụ 1,5tr.",
    ),
    ("minh", "/deal 99999999999999999999999", "Số tiền quá lớn."),
    ("minh", "/lost -5", "Số lượng phải là số nguyên dương."),
    ("minh", "/log calls", 'Thiếu số lượng cho "calls".'),
    ("minh", "/log calls -3", "Số lượng phải là số nguyên dương."),
    ("minh", "/log banana 5", 'Không tìm thấy chỉ số "banana".'),
    ("minh", "/log 5", "Không rõ số 5 là của chỉ số nào."),
    ("minh", "/log deals 2", "Hợp đồng ghi bằng /deal kèm số tiền."),
    ("minh", "/log " + "z" * 5000, 'Không tìm thấy chỉ số "' + "z" * 59 + '…".'),
    ("minh", "/edit", "Hãy ghi số mục và giá trị mới."),
    ("minh", "/edit 1", "Hãy ghi số mục và giá trị mới."),
    ("minh", "/edit x 5", "Số mục không hợp lệ. Xem số mục bằng /history."),
    (
        "minh",
        "/sua 99999 5",
        "Không tìm thấy mục này (hoặc mục đã bị hủy). Xem số mục bằng /history.",
    ),
    ("minh", "/void", "Hãy ghi số mục muốn hủy."),
    ("minh", "/void abc", "Số mục không hợp lệ. Xem số mục bằng /history."),
    (
        "minh",
        "/void 99999",
        "Không tìm thấy mục này (hoặc mục đã bị hủy). Xem số mục bằng /history.",
    ),
    ("hoa", "/call -3", "The number must be a positive whole number."),
    ("hoa", "/call 0", "The number must be a positive whole number."),
    ("hoa", "/deal", "The amount is missing."),
    ("hoa", "/deal abc", "The amount is missing."),
    ("hoa", "/deal -5tr", "The amount cannot be negative."),
    ("hoa", "/log calls", 'A number is missing for "calls".'),
    ("hoa", "/log banana 5", 'Unknown metric "banana".'),
    ("hoa", "/edit", "Give the entry number and the new value."),
    ("hoa", "/edit x 5", "That is not an entry number; see them with /history."),
    (
        "hoa",
        "/void 99999",
        "That entry was not found (or is already voided). See entry numbers with /history.",
    ),
]


@pytest.mark.parametrize(("who", "text", "first_line"), BAD_INPUTS)
async def test_typical_mistakes_say_what_was_wrong_and_show_an_example(
    talk: Talk, team: Any, db: Any, who: str, text: str, first_line: str
) -> None:
    await talk.say(team.minh, team.minh_dm, "/call 2")  # something that must stay as it is
    before = fingerprint(db)
    user, chat = getattr(team, who), getattr(team, f"{who}_dm")
    answer = await talk.reply(user, chat, text)
    lines = answer.splitlines()
    assert lines[0] == first_line
    example = "Ví dụ: /" if who == "minh" else "Example: /"
    assert len(lines) == 2 and lines[1].startswith(example), lines
    assert fingerprint(db) == before


async def test_a_call_with_words_is_a_call_with_a_note(talk: Talk, team: Any, db: Any) -> None:
    # PRODUCT.md: `/call [n] [note]`, the count defaults to 1: "abc" is a note, not an error.
    text = await talk.reply(team.minh, team.minh_dm, "/call abc")
    assert text.splitlines()[0] == "✅ +1 cuộc gọi · abc"
    with db.transaction() as s:
        a = s.scalars(select(Activity)).one()
        assert (a.value, a.note) == (1, "abc")


async def test_bad_input_in_the_group_is_answered_in_the_group(
    talk: Talk, team: Any, db: Any
) -> None:
    answer = await talk.reply(team.hoa, team.group, "/deal -5tr")
    assert answer.splitlines() == [
        "The amount cannot be negative.",
        "Example: /deal 45m An Phat Co new",
    ]
    assert fingerprint(db) == ((), (), ())


async def test_long_notes_keep_history_within_telegrams_limit(
    talk: Talk, team: Any, sandbox: Sandbox, failures: list[BaseException]
) -> None:
    for i in range(16):
        await talk.say(team.minh, team.minh_dm, f"/call 1 {str(i) * 3} {'ghi chú dài ' * 41}")
        await talk.say(team.minh, team.minh_dm, f"/deal 1tr {'Công ty & <b>' * 15}")
    text = await talk.reply(team.minh, team.minh_dm, "/history")
    assert len(text) <= MAX_TEXT
    assert text.count("\n#") == 15 and "…" in text
    assert failures == []


async def test_many_unknown_words_are_quoted_short(
    talk: Talk, team: Any, failures: list[BaseException]
) -> None:
    text = await talk.reply(
        team.hoa, team.hoa_dm, "12 calls " + " ".join(f"word{i}" * 20 for i in range(300))
    )
    assert text.splitlines()[1] == "✅ +12 calls"
    unknown = text.splitlines()[-1]
    assert unknown.startswith("Not understood: ") and unknown.endswith(", …")
    assert len(text) <= MAX_TEXT
    assert failures == []


async def test_control_characters_are_kept_out_of_the_database(
    talk: Talk, team: Any, db: Any, sandbox: Sandbox, failures: list[BaseException]
) -> None:
    # PostgreSQL refuses NUL in text: what people typed is stored without it, on both databases.
    await talk.say(team.minh, team.minh_dm, "/call 2 a\x00b\x01c")
    question = (await talk.say(team.minh, team.minh_dm, "/deal 1.500 Cty\x00 X"))[0]
    await talk.press(team.minh, team.minh_dm, question, question.buttons()[1][1])
    question = (await talk.say(team.minh, team.minh_dm, "/call 400 \x00"))[0]
    await talk.press(team.minh, team.minh_dm, question, question.buttons()[0][1])
    sent = sandbox.text(team.minh, team.minh_dm, "gặp 2 khách \x00")
    await talk.deliver(sent)
    sandbox.clock = ManualClock(float(int(sandbox.clock())) + 1)
    await talk.deliver(sandbox.edit(sent, "gặp 3 khách \x00\x00"))
    assert failures == []
    with db.transaction() as s:
        notes = s.execute(
            select(Activity.metric, Activity.value, Activity.note, Activity.customer)
            .where(Activity.status == "active")
            .order_by(Activity.id)
        ).all()
        texts = list(s.scalars(select(Checkin.text).order_by(Checkin.id)))
    assert [tuple(n) for n in notes] == [
        ("calls", 2, "ab\x01c", None),
        ("deals", 1, None, "Cty X"),
        ("calls", 400, None, None),
        ("meetings", 3, None, None),
    ]
    assert not any("\x00" in (t or "") for t in texts)

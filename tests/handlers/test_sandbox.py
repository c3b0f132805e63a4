"""Tests for the offline Bot API stand-in, driven through a real python-telegram-bot app."""

from __future__ import annotations

import ast
import asyncio
import datetime as dtm
import html
import json
import struct
import sys
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
)
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from bot.sandbox import (
    FloodLimits,
    ManualClock,
    Sandbox,
    SandboxRequest,
    SChat,
    SUser,
    TelegramHtmlError,
    deliver,
    parse_telegram_html,
)

App = Application[Any, Any, Any, Any, Any, Any]


def tiny_png(width: int = 3, height: int = 2) -> bytes:
    """Build a valid PNG of the given size (grey pixels)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    rows = b"".join(b"\x00" + b"\x80" * width for _ in range(height))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def seconds(exc: RetryAfter) -> float:
    """Read RetryAfter.retry_after as seconds."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, dtm.timedelta) else float(value)


def sandbox_bot(sandbox: Sandbox) -> Bot:
    """Build a bare Bot whose every request, getUpdates included, goes to the sandbox."""
    return Bot(
        sandbox.token,
        request=SandboxRequest(sandbox),
        get_updates_request=SandboxRequest(sandbox),
    )


class Seen:
    """What the test handlers saw."""

    def __init__(self) -> None:
        self.commands: list[tuple[int, list[str]]] = []
        self.edits: list[str] = []
        self.presses: list[str] = []


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Reply with the arguments, in bold, with two buttons."""
    seen: Seen = context.bot_data["seen"]
    message = update.effective_message
    assert message is not None and update.effective_chat is not None
    seen.commands.append((update.effective_chat.id, list(context.args or [])))
    keyboard = InlineKeyboardMarkup(
        [
            [InlineKeyboardButton("Đồng ý", callback_data="yes:1")],
            [InlineKeyboardButton("Mở", url="https://t.me/kpi_test_bot?start=x")],
        ]
    )
    text = html.escape(" ".join(context.args or []))
    await message.reply_html(f"<b>echo:</b> {text}", reply_markup=keyboard)


async def on_edit(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Remember the new text of an edited message."""
    assert update.edited_message is not None
    context.bot_data["seen"].edits.append(update.edited_message.text or "")


async def on_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer a button press and replace the message text."""
    query = update.callback_query
    assert query is not None and query.data is not None
    context.bot_data["seen"].presses.append(query.data)
    await query.answer("Đã ghi nhận")
    await query.edit_message_text(f"chose {query.data}")


def build(sandbox: Sandbox, *, base_url: str | None = None, updater: bool = False) -> App:
    """Build an echo Application on the sandbox, in process or over HTTP."""
    builder = ApplicationBuilder().token(sandbox.token)
    if base_url is None:
        builder = builder.request(SandboxRequest(sandbox)).get_updates_request(
            SandboxRequest(sandbox)
        )
    else:
        builder = builder.base_url(base_url).base_file_url(base_url.replace("/bot", "/file/bot"))
    if not updater:
        builder = builder.updater(None)
    app = builder.build()
    app.bot_data["seen"] = Seen()
    app.add_handler(CommandHandler("echo", echo, filters=filters.UpdateType.MESSAGE))
    app.add_handler(MessageHandler(filters.UpdateType.EDITED_MESSAGE, on_edit))
    app.add_handler(CallbackQueryHandler(on_press))
    return app


@pytest.fixture(autouse=True)
def timedelta_retry_after(monkeypatch: pytest.MonkeyPatch) -> None:
    # Opt in to PTB's future RetryAfter type so its deprecation warning stays out of the output.
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sandbox(clock: ManualClock) -> Sandbox:
    return Sandbox(clock=clock)


@pytest.fixture
async def app(sandbox: Sandbox) -> AsyncIterator[App]:
    application = build(sandbox)
    async with application:
        yield application


@pytest.fixture
def people(sandbox: Sandbox) -> dict[str, SUser]:
    return {
        "lan": sandbox.user("Lan", username="lan_sales", last_name="Nguyễn"),
        "minh": sandbox.user("Minh", username="minh_sales"),
        "hoa": sandbox.user("Hoa", language_code="en"),
        "tuan": sandbox.user("Tuấn"),
    }


@pytest.fixture
def team(sandbox: Sandbox, people: dict[str, SUser]) -> SChat:
    return sandbox.group(
        "Đội Sales HCM",
        creator=people["lan"],
        admins=[people["minh"]],
        members=[people["hoa"]],
    )


# -- the command loop ---------------------------------------------------------------------------


async def test_command_reaches_handler_and_reply_is_recorded(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    update = sandbox.text(people["hoa"], team, "/echo xin chào <bạn>")
    await deliver(app, update)

    assert app.bot_data["seen"].commands == [(team.id, ["xin", "chào", "<bạn>"])]
    reply = sandbox.last(team)
    assert reply.chat_id == team.id
    assert reply.text == "echo: xin chào <bạn>"
    assert reply.raw_text == "<b>echo:</b> xin chào &lt;bạn&gt;"
    assert reply.entities == ({"type": "bold", "offset": 0, "length": 5},)
    assert reply.reply_to_message_id == update["message"]["message_id"]
    assert sandbox.buttons(reply) == [
        ("Đồng ý", "yes:1"),
        ("Mở", "https://t.me/kpi_test_bot?start=x"),
    ]
    assert [c.method for c in sandbox.calls] == ["getMe", "sendMessage"]


async def test_update_is_telegram_wire_format(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    first = sandbox.text(people["hoa"], team, "/echo@kpi_test_bot 1 @minh_sales")
    second = sandbox.text(people["hoa"], team, "hi", reply_to=first["message"]["message_id"])

    message = first["message"]
    assert second["update_id"] == first["update_id"] + 1
    assert second["message"]["message_id"] == message["message_id"] + 1
    assert message["from"] == {
        "id": people["hoa"].id,
        "is_bot": False,
        "first_name": "Hoa",
        "language_code": "en",
    }
    assert message["chat"] == {"id": team.id, "type": "group", "title": "Đội Sales HCM"}
    assert message["entities"] == [
        {"type": "bot_command", "offset": 0, "length": 18},
        {"type": "mention", "offset": 21, "length": 11},
    ]
    assert second["message"]["reply_to_message"]["message_id"] == message["message_id"]
    parsed = sandbox.to_update(second, app.bot).message
    assert parsed is not None and parsed.reply_to_message is not None
    assert parsed.reply_to_message.text == "/echo@kpi_test_bot 1 @minh_sales"


async def test_command_for_another_bot_is_ignored(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    await deliver(app, sandbox.text(people["hoa"], team, "/echo@other_bot hi"))

    assert app.bot_data["seen"].commands == []
    assert sandbox.sent(team) == []


async def test_button_press_is_answered_and_message_edited(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    await deliver(app, sandbox.text(people["hoa"], team, "/echo 5"))
    reply = sandbox.last(team)

    press = sandbox.press(people["minh"], team, reply.message_id, "yes:1")
    await deliver(app, press)

    assert app.bot_data["seen"].presses == ["yes:1"]
    assert sandbox.callback_answer(press) == {"text": "Đã ghi nhận"}
    edited = sandbox.last(team)
    assert edited.message_id == reply.message_id
    assert edited.text == "chose yes:1"
    assert edited.edit_date is not None
    assert edited.buttons() == []  # an edit without reply_markup drops the keyboard
    with pytest.raises(ValueError, match="no button"):
        sandbox.press(people["minh"], team, reply.message_id, "yes:1")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await app.bot.answer_callback_query(press["callback_query"]["id"])


async def test_edited_message_reaches_edit_handler_only(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    original = sandbox.text(people["hoa"], team, "/echo 1")
    await deliver(app, original)
    edit = sandbox.edit(original, "/echo 2")
    await deliver(app, edit)

    assert edit["edited_message"]["message_id"] == original["message"]["message_id"]
    assert edit["edited_message"]["edit_date"] >= original["message"]["date"]
    assert app.bot_data["seen"].edits == ["/echo 2"]
    assert app.bot_data["seen"].commands == [(team.id, ["1"])]
    assert len(sandbox.sent(team)) == 1


async def test_deep_link_opens_the_private_chat(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    tuan = people["tuan"]
    with pytest.raises(Forbidden, match=r"(?i)can't initiate conversation"):
        await app.bot.send_message(tuan.id, "hello")

    update = sandbox.start_link(tuan, "inv_AbC-123")

    assert update["message"]["text"] == "/start inv_AbC-123"
    assert update["message"]["chat"]["type"] == "private"
    assert update["message"]["entities"] == [{"type": "bot_command", "offset": 0, "length": 6}]
    assert sandbox.has_started(tuan)
    await app.bot.send_message(tuan.id, "hello")
    assert sandbox.last(tuan.id).text == "hello"
    with pytest.raises(ValueError):
        sandbox.start_link(tuan, "không hợp lệ")


# -- answers Telegram gives --------------------------------------------------------------------


async def test_blocked_user_and_unknown_chat(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    lan = people["lan"]
    sandbox.private(lan)
    blocked = sandbox.block(lan)

    assert blocked["my_chat_member"]["new_chat_member"]["status"] == "kicked"
    with pytest.raises(Forbidden, match=r"(?i)bot was blocked by the user"):
        await app.bot.send_message(lan.id, "nhắc nhở")
    sandbox.unblock(lan)
    await app.bot.send_message(lan.id, "nhắc nhở")
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await app.bot.send_message(-999, "x")


async def test_removed_bot_gets_forbidden(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    update = sandbox.bot_removed(team, by=people["lan"])

    parsed = sandbox.to_update(update, app.bot)
    assert parsed.my_chat_member is not None
    assert parsed.my_chat_member.old_chat_member.status == "administrator"
    assert parsed.my_chat_member.new_chat_member.status == "left"
    with pytest.raises(Forbidden, match=r"(?i)bot was kicked from the group chat"):
        await app.bot.send_message(team.id, "daily summary")
    with pytest.raises(ValueError):
        sandbox.text(people["hoa"], team, "/echo")
    sandbox.bot_added(team, by=people["lan"])
    await app.bot.send_message(team.id, "back")


async def test_migrated_group_answers_with_new_id(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    sandbox.take()
    supergroup, update = sandbox.migrate(team)

    assert supergroup.type == "supergroup"
    assert update["message"]["migrate_to_chat_id"] == supergroup.id
    assert [u["message"].get("migrate_from_chat_id") for u in sandbox.pending()] == [
        None,
        team.id,
    ]
    with pytest.raises(ChatMigrated) as caught:
        await app.bot.send_message(team.id, "x")
    assert caught.value.new_chat_id == supergroup.id
    await deliver(app, sandbox.text(people["hoa"], supergroup, "/echo moved"))
    assert sandbox.last(supergroup).text == "echo: moved"


async def test_canned_faults(sandbox: Sandbox, app: App, people: dict[str, SUser]) -> None:
    chat = sandbox.private(people["lan"])
    other = sandbox.private(people["minh"])
    sandbox.fail("sendMessage", code=429, retry_after=7)
    sandbox.fail("sendmessage", code=500, description="Internal Server Error", chat_id=other)

    with pytest.raises(RetryAfter) as caught:
        await app.bot.send_message(chat.id, "a")
    assert seconds(caught.value) == 7
    await app.bot.send_message(chat.id, "b")
    with pytest.raises(NetworkError, match="Internal Server Error"):
        await app.bot.send_message(other.id, "c")
    await app.bot.send_message(other.id, "d")

    assert [m.text for m in sandbox.sent()] == ["b", "d"]
    assert [c.status for c in sandbox.calls_for("sendMessage")] == [429, 200, 500, 200]
    assert sandbox.flood_answers == 0  # canned answers are not flood control


async def test_dropped_answers_raise_timed_out(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    chat = sandbox.private(people["lan"])
    sandbox.drop("sendMessage")
    sandbox.drop("sendMessage", applied=True)

    with pytest.raises(TimedOut):
        await app.bot.send_message(chat.id, "lost before Telegram")
    with pytest.raises(TimedOut):
        await app.bot.send_message(chat.id, "lost after Telegram")

    assert [m.text for m in sandbox.sent(chat)] == ["lost after Telegram"]
    assert [c.dropped for c in sandbox.calls_for("sendMessage")] == [True, True]


async def test_dropped_answers_look_like_read_timeouts_and_connect_faults_send_nothing(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    chat = sandbox.private(people["lan"])
    sandbox.drop("sendMessage", applied=True)
    with pytest.raises(TimedOut) as read:
        await app.bot.send_message(chat.id, "arrived, answer lost")
    sandbox.fail_connect("sendMessage", kind="connect_timeout")
    sandbox.fail_connect("sendMessage", kind="pool_timeout")
    sandbox.fail_connect("sendMessage", kind="connect_error")
    with pytest.raises(TimedOut) as connect:
        await app.bot.send_message(chat.id, "never left 1")
    with pytest.raises(TimedOut) as pool:
        await app.bot.send_message(chat.id, "never left 2")
    with pytest.raises(NetworkError) as refused:
        await app.bot.send_message(chat.id, "never left 3")
    await app.bot.send_message(chat.id, "after the faults")

    # The causes are the httpx errors HTTPXRequest chains, as over a real network.
    assert isinstance(read.value.__cause__, httpx.ReadTimeout)
    assert isinstance(connect.value.__cause__, httpx.ConnectTimeout)
    assert isinstance(pool.value.__cause__, httpx.PoolTimeout)
    assert isinstance(refused.value.__cause__, httpx.ConnectError)
    assert [m.text for m in sandbox.sent(chat)] == ["arrived, answer lost", "after the faults"]
    # A call that never reached Telegram is not in its log.
    assert len(sandbox.calls_for("sendMessage")) == 2


async def test_network_faults_over_real_http(sandbox: Sandbox, people: dict[str, SUser]) -> None:
    chat = sandbox.private(people["lan"])
    server = sandbox.serve()
    server.start()
    request = HTTPXRequest(read_timeout=0.3, connect_timeout=0.5)
    bot = Bot(sandbox.token, base_url=server.base_url, request=request)
    try:
        async with bot:
            sandbox.drop("sendMessage", applied=True, stall=1.0)
            with pytest.raises(TimedOut) as stalled:
                await bot.send_message(chat.id, "stalled")
            sandbox.drop("sendMessage", applied=True)
            with pytest.raises(NetworkError) as dropped:
                await bot.send_message(chat.id, "dropped")
            server.refuse()
            with pytest.raises(NetworkError) as refused:
                await bot.send_message(chat.id, "refused")
            server.start()  # the same port again
            await bot.send_message(chat.id, "back")
    finally:
        server.stop()

    assert isinstance(stalled.value.__cause__, httpx.ReadTimeout)
    assert isinstance(dropped.value.__cause__, httpx.RemoteProtocolError)
    assert isinstance(refused.value.__cause__, httpx.ConnectError)
    assert [m.text for m in sandbox.sent(chat)] == ["stalled", "dropped", "back"]


async def test_html_is_validated(sandbox: Sandbox, app: App, people: dict[str, SUser]) -> None:
    chat = sandbox.private(people["lan"])
    name = "<b>Lan & Co"

    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: Unclosed start tag"):
        await app.bot.send_message(chat.id, "Chào <b", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)can't parse entities: can't find end tag"):
        await app.bot.send_message(chat.id, f"Chào {name}", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r'(?i)Unsupported start tag "" at byte offset 2'):
        await app.bot.send_message(chat.id, "5 < 6", parse_mode="HTML")
    await app.bot.send_message(chat.id, f"Chào <i>{html.escape(name)}</i>", parse_mode="HTML")
    await app.bot.send_message(chat.id, "5 < 6 <b")  # no parse mode: taken literally

    sent = sandbox.sent(chat)
    assert [m.text for m in sent] == ["Chào <b>Lan & Co", "5 < 6 <b"]
    assert sent[0].entities == ({"type": "italic", "offset": 5, "length": 11},)


def test_html_parser_errors_match_telegram() -> None:
    cases = {
        "Chào <x>": 'Unsupported start tag "x" at byte offset 6',
        "a<br>b": 'Unsupported start tag "br" at byte offset 1',
        "<b>x</i>": 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"',
        "x</b>": "Unexpected end tag at byte offset 1",
        "<b>x": 'Can\'t find end tag corresponding to start tag "b"',
        '<span class="x">y</span>': 'Tag "span" must have class "tg-spoiler" at byte offset 0',
        '<a href="x>y': "Unclosed start tag at byte offset 0",
    }
    for source, error in cases.items():
        with pytest.raises(TelegramHtmlError) as caught:
            parse_telegram_html(source)
        assert str(caught.value) == error, source


def test_html_parser_builds_entities() -> None:
    parsed = parse_telegram_html(
        '  <b>Top 🥇</b> <a href="https://t.me/x">link</a> &lt;3 &#x1F600;'
        '<pre><code class="language-python">x</code></pre>\n'
    )

    assert parsed.text == "Top 🥇 link <3 😀x"
    assert parsed.entities == (
        {"type": "bold", "offset": 0, "length": 6},
        {"type": "text_link", "offset": 7, "length": 4, "url": "https://t.me/x"},
        {"type": "pre", "offset": 17, "length": 1, "language": "python"},
    )


@given(st.text())
def test_escaped_text_always_parses_back(text: str) -> None:
    parsed = parse_telegram_html(html.escape(text))

    assert parsed.text == text.strip(" \t\r\n")
    assert parsed.entities == ()


@given(
    st.text(min_size=1).filter(lambda t: t.strip(" \t\r\n") == t),
    st.lists(
        st.sampled_from(["b", "i", "u", "s", "code", "tg-spoiler", "blockquote"]), min_size=1
    ),
)
def test_nested_tags_mark_exactly_the_text(text: str, tags: list[str]) -> None:
    source = html.escape(text)
    for tag in tags:
        source = f"<{tag}>{source}</{tag}>"

    parsed = parse_telegram_html(source)

    assert parsed.text == text
    length = len(text.encode("utf-16-le")) // 2
    assert all(e["offset"] == 0 and e["length"] == length for e in parsed.entities)
    assert len(parsed.entities) == len(tags)


async def test_limits_on_length_and_button_data(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    chat = sandbox.private(people["lan"])

    with pytest.raises(BadRequest, match=r"(?i)message is too long"):
        await app.bot.send_message(chat.id, "x" * 4097)
    await app.bot.send_message(chat.id, f"<b>{'x' * 4096}</b>", parse_mode="HTML")
    with pytest.raises(BadRequest, match=r"(?i)message caption is too long"):
        await app.bot.send_photo(chat.id, tiny_png(), caption="y" * 1025)
    with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
        await app.bot.send_message(chat.id, "<b> </b>", parse_mode="HTML")
    too_long = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 33)]])
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await app.bot.send_message(chat.id, "menu", reply_markup=too_long)
    fits = InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="đ" * 32)]])
    await app.bot.send_message(chat.id, "menu", reply_markup=fits)

    assert [len(m.text or "") for m in sandbox.sent(chat)] == [4096, 4]


async def test_edit_and_delete_errors(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    chat = sandbox.private(people["lan"])
    sent = await app.bot.send_message(chat.id, "<b>15/20</b>", parse_mode="HTML")

    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await app.bot.edit_message_text(
            "<b>15/20</b>", chat.id, sent.message_id, parse_mode="HTML"
        )
    await app.bot.edit_message_text("16/20", chat.id, sent.message_id)
    assert await app.bot.delete_message(chat.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to edit not found"):
        await app.bot.edit_message_text("17/20", chat.id, sent.message_id)
    with pytest.raises(BadRequest, match=r"(?i)message to delete not found"):
        await app.bot.delete_message(chat.id, sent.message_id)

    assert sandbox.last(chat).deleted
    assert sandbox.last(chat).text == "16/20"


async def test_chat_member_roles(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    sandbox.set_role(team, people["tuan"], "kicked")
    bot = app.bot

    statuses = {
        name: (await bot.get_chat_member(team.id, user.id)).status for name, user in people.items()
    }
    outsider = sandbox.user("Khách")

    assert statuses == {
        "lan": "creator",
        "minh": "administrator",
        "hoa": "member",
        "tuan": "kicked",
    }
    assert (await bot.get_chat_member(team.id, outsider.id)).status == "left"
    assert (await bot.get_chat_member(team.id, sandbox.bot_id)).status == "administrator"
    admins = await bot.get_chat_administrators(team.id)
    assert [a.user.id for a in admins] == [people["lan"].id, people["minh"].id, sandbox.bot_id]
    assert await bot.get_chat_member_count(team.id) == 4
    sandbox.join(team, outsider)
    assert (await bot.get_chat_member(team.id, outsider.id)).status == "member"
    sandbox.leave(team, people["hoa"])
    assert (await bot.get_chat_member(team.id, people["hoa"].id)).status == "left"
    chat = await bot.get_chat(team.id)
    assert (chat.type, chat.title) == ("group", "Đội Sales HCM")


async def test_banning_members_and_the_bots_own_rights(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    bot = app.bot
    hoa = people["hoa"]
    sandbox.take()
    assert await bot.ban_chat_member(team.id, hoa.id)
    assert sandbox.role(team, hoa) == "kicked"
    kinds = [next(k for k in u if k != "update_id") for u in sandbox.take()]
    assert kinds == ["chat_member", "message"]  # the bot hears of it like any removal
    assert await bot.unban_chat_member(team.id, hoa.id, only_if_banned=True)
    assert sandbox.role(team, hoa) == "left"
    # A member is left alone with only_if_banned; the creator and admins cannot be banned.
    sandbox.join(team, hoa)
    assert await bot.unban_chat_member(team.id, hoa.id, only_if_banned=True)
    assert sandbox.role(team, hoa) == "member"
    with pytest.raises(BadRequest, match=r"(?i)can't remove chat owner"):
        await bot.ban_chat_member(team.id, people["lan"].id)
    with pytest.raises(BadRequest, match=r"(?i)is an administrator"):
        await bot.ban_chat_member(team.id, people["minh"].id)
    # Without the right to ban, or to pin, Telegram refuses.
    update = sandbox.set_bot_rights(team, people["lan"], can_restrict_members=False)
    new = update["my_chat_member"]["new_chat_member"]
    assert (new["status"], new["can_restrict_members"], new["can_pin_messages"]) == (
        "administrator",
        False,
        True,
    )
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.ban_chat_member(team.id, hoa.id)
    sandbox.set_bot_rights(team, people["lan"], admin=False)
    sent = await bot.send_message(team.id, "hi")
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await bot.pin_chat_message(team.id, sent.message_id)


async def test_privacy_mode_for_a_bot_that_is_not_admin(
    sandbox: Sandbox, app: App, people: dict[str, SUser]
) -> None:
    lan, hoa = people["lan"], people["hoa"]
    group = sandbox.group("Nhóm", creator=lan, members=[hoa], bot_is_admin=False)
    sandbox.take()

    plain = sandbox.text(hoa, group, "gọi 12 cuộc")
    command = sandbox.text(hoa, group, "/echo 1")
    mention = sandbox.text(hoa, group, "@kpi_test_bot gọi 3")
    bot_message = await app.bot.send_message(group.id, "ok")
    reply = sandbox.text(hoa, group, "gọi 4", reply_to=bot_message.message_id)

    queued = [u["update_id"] for u in sandbox.take()]
    assert queued == [command["update_id"], mention["update_id"], reply["update_id"]]
    assert not sandbox.would_receive(plain)
    with pytest.raises(BadRequest, match=r"(?i)not enough rights"):
        await app.bot.pin_chat_message(group.id, bot_message.message_id)


async def test_photos_documents_and_files(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    png = tiny_png(40, 30)
    photo = await app.bot.send_photo(team.id, png, caption="<b>BXH</b> tuần", parse_mode="HTML")
    await app.bot.send_document(team.id, b"a,b\n1,2\n", filename="kpi.csv", caption="xuất")
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await app.bot.send_photo(team.id, b"not an image")

    assert (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    sent_photo, sent_document = sandbox.sent(team)
    assert (sent_photo.kind, sent_photo.photo, sent_photo.text) == ("photo", png, "BXH tuần")
    assert sent_document.kind == "document"
    assert (sent_document.document, sent_document.filename) == (b"a,b\n1,2\n", "kpi.csv")
    assert sandbox.sent(team, method="sendPhoto") == [sent_photo]

    upload = sandbox.document(people["minh"], team, b"raw,data\n", "history.csv")
    message = sandbox.to_update(upload, app.bot).message
    assert message is not None and message.document is not None
    file = await message.document.get_file()
    assert bytes(await file.download_as_bytearray()) == b"raw,data\n"


async def test_commands_are_stored_per_scope_and_language(sandbox: Sandbox, app: App) -> None:
    bot = app.bot
    private = BotCommandScopeAllPrivateChats()
    await bot.set_my_commands(
        [BotCommand("toi", "Chỉ số của tôi")], scope=private, language_code="vi"
    )
    await bot.set_my_commands([BotCommand("me", "My KPIs")], scope=private, language_code="en")
    await bot.set_my_commands([BotCommand("help", "Trợ giúp")])

    assert [c.command for c in await bot.get_my_commands(scope=private, language_code="vi")] == [
        "toi"
    ]
    assert sandbox.commands({"type": "all_private_chats"}, "en") == [("me", "My KPIs")]
    assert sandbox.commands() == [("help", "Trợ giúp")]
    assert await bot.delete_my_commands(scope=private, language_code="en")
    assert sandbox.commands({"type": "all_private_chats"}, "en") == []
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Bad-Cmd", "x")])
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.set_my_commands([BotCommand("a", "b")], scope=BotCommandScopeChat(-5))


async def test_unknown_method_is_not_found(sandbox: Sandbox, app: App) -> None:
    with pytest.raises(EndPointNotFound):
        await app.bot.do_api_request("sendTelepathy", api_kwargs={"chat_id": 1})
    assert sandbox.calls[-1].status == 404
    assert sandbox.calls[-1].response["description"] == "Not Found: method not found"


async def test_wrong_token_is_unauthorized(sandbox: Sandbox) -> None:
    bot = Bot("7000000001:WRONG", request=SandboxRequest(sandbox))
    with pytest.raises(InvalidToken):
        await bot.initialize()


async def test_forum_topics(sandbox: Sandbox, app: App, people: dict[str, SUser]) -> None:
    lan, hoa = people["lan"], people["hoa"]
    forum = sandbox.group("Forum", creator=lan, members=[hoa], forum=True)
    wins = sandbox.topic(forum, "Chốt deal")
    update = sandbox.text(hoa, forum, "/echo 45tr", thread_id=wins)
    await deliver(app, update)

    assert update["message"]["is_topic_message"] is True
    reply = sandbox.last(forum)
    assert reply.message_thread_id == wins
    topic = await app.bot.create_forum_topic(forum.id, "Digest")
    await app.bot.send_message(forum.id, "tổng kết", message_thread_id=topic.message_thread_id)
    assert sandbox.last(forum).message_thread_id == topic.message_thread_id
    with pytest.raises(BadRequest, match=r"(?i)message thread not found"):
        await app.bot.send_message(forum.id, "x", message_thread_id=9999)


# -- flood control -------------------------------------------------------------------------------


async def test_group_limit_answers_429_on_the_21st_message_in_a_minute(
    clock: ManualClock, people: dict[str, SUser]
) -> None:
    sandbox = Sandbox(clock=clock, enforce_limits=True)
    lan = sandbox.user("Lan")
    group = sandbox.group("G", creator=lan)
    other = sandbox.group("H", creator=lan)
    bot = sandbox_bot(sandbox)
    async with bot:
        for i in range(20):
            await bot.send_message(group.id, f"{i}")
            clock.advance(0.1)
        with pytest.raises(RetryAfter) as caught:
            await bot.send_message(group.id, "21st")
        assert seconds(caught.value) == 58  # the first of the 20 leaves the window at 60 s
        await bot.send_message(other.id, "another group is not affected")
        clock.advance(57.5)
        with pytest.raises(RetryAfter):
            await bot.send_message(group.id, "still too soon")
        clock.advance(0.6)
        await bot.send_message(group.id, "fits again")

    assert sandbox.flood_answers == 2
    assert len(sandbox.sent(group)) == 21


async def test_overall_and_private_limits(clock: ManualClock) -> None:
    sandbox = Sandbox(clock=clock, enforce_limits=True)
    users = [sandbox.user(f"U{i}") for i in range(31)]
    chats = [sandbox.private(u) for u in users]
    bot = sandbox_bot(sandbox)
    async with bot:
        for chat in chats[:30]:
            await bot.send_message(chat.id, "nhắc")
        with pytest.raises(RetryAfter) as overall:
            await bot.send_message(chats[30].id, "31st in one second")
        clock.advance(1.0)
        # A private chat takes a short burst: three at once, then one a second sustained.
        for i in range(3):
            await bot.send_message(chats[30].id, f"next second {i}")
        with pytest.raises(RetryAfter) as private:
            await bot.send_message(chats[30].id, "same chat, fourth in a row")
        clock.advance(3.0)
        await bot.send_message(chats[30].id, "three seconds later")

    assert seconds(overall.value) == 1
    assert seconds(private.value) == 3
    assert sandbox.flood_answers == 2


async def test_limits_are_configurable_and_off_by_default(clock: ManualClock) -> None:
    relaxed = Sandbox(clock=clock)
    strict = Sandbox(clock=clock, enforce_limits=True, limits=FloodLimits(group=2))
    for sandbox in (relaxed, strict):
        lan = sandbox.user("Lan")
        group = sandbox.group("G", creator=lan)
        bot = sandbox_bot(sandbox)
        async with bot:
            for _ in range(2):
                await bot.send_message(group.id, "x")
            if sandbox is strict:
                with pytest.raises(RetryAfter):
                    await bot.send_message(group.id, "x")
            else:
                await bot.send_message(group.id, "x")
    assert (relaxed.flood_answers, strict.flood_answers) == (0, 1)


# -- getUpdates ----------------------------------------------------------------------------------


async def test_in_process_long_poll_wakes_on_a_new_update(
    sandbox: Sandbox, people: dict[str, SUser]
) -> None:
    lan = people["lan"]
    bot = sandbox_bot(sandbox)
    async with bot:
        loop = asyncio.get_running_loop()
        started = loop.time()
        loop.call_later(0.05, sandbox.text, lan, lan.id, "/start")
        updates = await bot.get_updates(timeout=10)
        assert loop.time() - started < 5
        assert [u.message.text for u in updates if u.message] == ["/start"]
        assert await bot.get_updates(offset=updates[-1].update_id + 1) == ()


async def test_second_poll_terminates_the_first(sandbox: Sandbox) -> None:
    first = sandbox_bot(sandbox)
    second = sandbox_bot(sandbox)
    async with first, second:
        waiting = asyncio.create_task(first.get_updates(timeout=10))
        await asyncio.sleep(0.01)
        assert await second.get_updates(timeout=0) == ()
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await waiting


async def test_get_updates_over_http_honours_offset(
    sandbox: Sandbox, people: dict[str, SUser], team: SChat
) -> None:
    hoa = people["hoa"]
    first = sandbox.text(hoa, team, "/echo 1")
    second = sandbox.text(hoa, team, "/echo 2")
    async with sandbox.serve() as base_url:
        assert base_url.startswith("http://127.0.0.1:") and base_url.endswith("/bot")
        bot = Bot(sandbox.token, base_url=base_url)
        async with bot:
            assert bot.username == "kpi_test_bot"
            updates = await bot.get_updates()
            assert [u.update_id for u in updates] == [first["update_id"], second["update_id"]]
            assert [u.update_id for u in await bot.get_updates(limit=1)] == [first["update_id"]]
            confirmed = await bot.get_updates(offset=second["update_id"])
            assert [u.update_id for u in confirmed] == [second["update_id"]]
            assert await bot.get_updates(offset=second["update_id"] + 1) == ()
            loop = asyncio.get_running_loop()
            loop.call_later(0.05, sandbox.text, hoa, team, "/echo 3")
            woken = await bot.get_updates(offset=second["update_id"] + 1, timeout=10)
            assert [u.message.text for u in woken if u.message] == ["/echo 3"]
    assert all(c.transport == "http" for c in sandbox.calls)


async def test_application_polls_over_http(
    sandbox: Sandbox, people: dict[str, SUser], team: SChat
) -> None:
    async with sandbox.serve() as base_url:
        app = build(sandbox, base_url=base_url, updater=True)
        async with app:
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0.0, timeout=dtm.timedelta(seconds=1))
            await app.start()
            sandbox.text(people["hoa"], team, "/echo qua HTTP")
            async with asyncio.timeout(10):
                await sandbox.wait_for(lambda: len(sandbox.sent(team)) == 1)
            await app.bot.send_photo(team.id, tiny_png(), caption="Biểu đồ tuần")
            await app.updater.stop()
            await app.stop()

    reply, chart = sandbox.sent(team)
    assert reply.text == "echo: qua HTTP"
    assert reply.buttons()[0] == ("Đồng ý", "yes:1")
    assert (chart.photo, chart.text) == (tiny_png(), "Biểu đồ tuần")
    assert sandbox.pending() == []  # the updater confirmed what it fetched


def test_raw_http_bodies(sandbox: Sandbox, people: dict[str, SUser]) -> None:
    chat = sandbox.private(people["lan"])

    def call(url: str, data: bytes | None = None, ctype: str | None = None) -> tuple[int, Any]:
        request = urllib.request.Request(url, data=data)
        if ctype:
            request.add_header("Content-Type", ctype)
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body = response.read()
                return response.status, body
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    with sandbox.serve() as base_url:
        api = f"{base_url}{sandbox.token}"
        status, body = call(f"{api}/getMe")
        assert status == 200 and json.loads(body)["result"]["username"] == "kpi_test_bot"
        markup = json.dumps({"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]})
        form = urllib.parse.urlencode({"chat_id": chat.id, "text": "form", "reply_markup": markup})
        status, _ = call(f"{api}/sendMessage", form.encode(), "application/x-www-form-urlencoded")
        assert status == 200
        payload = json.dumps({"chat_id": chat.id, "text": "json <b>x</b>", "parse_mode": "HTML"})
        status, body = call(f"{api}/sendmessage", payload.encode(), "application/json")
        assert status == 200 and json.loads(body)["result"]["text"] == "json x"
        status, body = call(f"{api}/sendTelepathy", b"{}", "application/json")
        assert (status, body["description"]) == (404, "Not Found: method not found")
        status, body = call(f"{base_url}1:nope/getMe")
        assert (status, body["error_code"]) == (401, 401)
        upload = sandbox.document(people["lan"], chat, b"\x00\r\n\xff", "x.bin")
        file_id = upload["message"]["document"]["file_id"]
        status, body = call(f"{api}/getFile?file_id={file_id}")
        path = json.loads(body)["result"]["file_path"]
        files = base_url.replace("/bot", "/file/bot") + sandbox.token
        assert call(f"{files}/{path}") == (200, b"\x00\r\n\xff")
        assert call(f"{files}/documents/nothing.bin")[0] == 404

    first, second = sandbox.sent(chat)
    assert (first.text, first.buttons()) == ("form", [("A", "a")])
    assert second.entities == ({"type": "bold", "offset": 5, "length": 1},)


async def test_faults_over_http(sandbox: Sandbox, people: dict[str, SUser]) -> None:
    chat = sandbox.private(people["lan"])
    sandbox.fail("sendMessage", code=429, retry_after=3)
    sandbox.drop("sendMessage", applied=True)
    async with sandbox.serve() as base_url:
        bot = Bot(sandbox.token, base_url=base_url)
        async with bot:
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(chat.id, "a")
            with pytest.raises(NetworkError):
                await bot.send_message(chat.id, "answer lost, message kept")
            await bot.send_message(chat.id, "c")

    assert seconds(caught.value) == 3
    assert [m.text for m in sandbox.sent(chat)] == ["answer lost, message kept", "c"]


async def test_webhook_and_allowed_updates(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    bot = sandbox_bot(sandbox)
    sandbox.take()
    async with bot:
        with pytest.raises(BadRequest, match=r"(?i)https url must be provided"):
            await bot.set_webhook("http://example.invalid/hook")
        await bot.set_webhook("https://example.invalid/hook")
        with pytest.raises(Conflict, match="webhook is active"):
            await bot.get_updates()
        sandbox.text(people["hoa"], team, "/echo 1")
        info = await bot.get_webhook_info()
        assert (info.url, info.pending_update_count) == ("https://example.invalid/hook", 1)
        await bot.delete_webhook(drop_pending_updates=True)
        assert await bot.get_updates() == ()

        sandbox.set_role(team, people["hoa"], "administrator")
        assert await bot.get_updates() == ()  # chat_member is opt-in, as on Telegram
        sandbox.set_role(team, people["hoa"], "member")
        updates = await bot.get_updates(allowed_updates=["chat_member", "message"])
        assert [u.chat_member.new_chat_member.status for u in updates if u.chat_member] == [
            "member"
        ]


async def test_bot_leaving_a_group(
    sandbox: Sandbox, app: App, people: dict[str, SUser], team: SChat
) -> None:
    sandbox.take()
    assert await app.bot.leave_chat(team.id)

    with pytest.raises(Forbidden, match=r"(?i)bot is not a member of the group chat"):
        await app.bot.send_message(team.id, "x")
    (update,) = sandbox.take()
    assert update["my_chat_member"]["new_chat_member"]["status"] == "left"


def test_the_sandbox_package_ships_with_few_dependencies_in_small_modules() -> None:
    # It ships with the product for `kpibot demo`: the standard library, python-telegram-bot and
    # httpx (whose errors python-telegram-bot wraps), nothing of the bot's own layers.
    package = Path(__file__).resolve().parents[2] / "bot" / "sandbox"
    allowed = set(sys.stdlib_module_names) | {"telegram", "httpx", "bot.sandbox"}
    for module in sorted(package.glob("*.py")):
        tree = ast.parse(module.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                inside = name == "bot.sandbox" or name.startswith("bot.sandbox.")
                assert inside or top in allowed - {"bot"}, f"{module.name} imports {name}"
        assert len(module.read_text(encoding="utf-8").splitlines()) <= 600, module.name

"""/settings for leaders (text subcommands and toggle buttons), /mute and /unmute for reps."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update

from handlers.context import KpiContext, for_caller, lang_of, refuse
from handlers.i18n import Html, fmt_day, languages, t
from handlers.render import answer_query, edit_text, example_line, join_lines, quoted_params
from kpi import team_settings
from kpi.calendar import WEEKDAYS
from kpi.posts import registry as post_kinds
from kpi.reading import split_command

EXAMPLE = "/settings time daily 18:30"


def render_settings(lang: str, view: team_settings.SettingsView) -> Html:
    """Show every setting a leader can change, with how to change it."""
    s = view.settings
    on, off = t(lang, "settings.on"), t(lang, "settings.off")
    days = ", ".join(t(lang, f"settings.wd_{WEEKDAYS[d]}") for d in view.working_days)
    times = []
    for kind in post_kinds.SCHEDULED:
        at = s.schedule.get(kind.key)
        times.append(t(lang, f"settings.post_{kind.key}", time=at or off))
    lines = [
        t(lang, "settings.title", team=view.title),
        t(lang, "settings.timezone", value=view.timezone),
        t(lang, "settings.language", value=t(lang, f"settings.lang_{view.language}")),
        t(lang, "settings.days", value=days),
        t(lang, "settings.hours", start=view.work_start, end=view.work_end),
        *times,
        t(lang, "settings.show", value=t(lang, f"settings.show_{s.group_sees}", n=s.top_n)),
        t(lang, "settings.reminders", value=on if s.reminders else off),
        t(lang, "settings.celebrations", value=on if s.celebrations else off),
        t(lang, "settings.board", value=on if s.living_board else off),
    ]
    if view.days_off:
        lines.append(
            t(lang, "settings.days_off", days=", ".join(fmt_day(d, lang) for d in view.days_off))
        )
    if view.extra_days:
        lines.append(
            t(
                lang,
                "settings.extra_days",
                days=", ".join(fmt_day(d, lang) for d in view.extra_days),
            )
        )
    lines.append(t(lang, "settings.help"))
    return join_lines(*lines)


def _next_language(current: str) -> str:
    """Return the language the language button switches to: the next one, round the list."""
    langs = languages()
    index = langs.index(current) if current in langs else -1
    return langs[(index + 1) % len(langs)]


def settings_keyboard(lang: str, view: team_settings.SettingsView) -> InlineKeyboardMarkup:
    """Toggle buttons for the settings changed most often."""
    s = view.settings

    def state(flag: bool) -> str:
        return "✅" if flag else "⬜"

    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(
                    f"{state(s.reminders)} {t(lang, 'settings.btn_reminders')}",
                    # The state the button sets, not "toggle": an old keyboard cannot flip it back.
                    callback_data="set:reminders " + ("off" if s.reminders else "on"),
                ),
                InlineKeyboardButton(
                    f"{state(s.celebrations)} {t(lang, 'settings.btn_celebrations')}",
                    callback_data="set:celebrations " + ("off" if s.celebrations else "on"),
                ),
            ],
            [
                InlineKeyboardButton(
                    t(
                        lang,
                        "settings.btn_show",
                        value=t(lang, f"settings.show_{s.group_sees}", n=s.top_n),
                    ),
                    callback_data="set:show "
                    + {"full": "top", "top": "totals", "totals": "full"}[s.group_sees],
                ),
                InlineKeyboardButton(
                    t(lang, "settings.btn_language"),
                    callback_data="set:language " + _next_language(view.language),
                ),
            ],
        ]
    )


async def settings(update: Update, context: KpiContext) -> None:
    """Show or change the team's settings (leaders): `/settings time daily 18:30`."""
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None and msg.text is not None
    await _apply(update, context, msg, split_command(msg.text)[1], msg.message_thread_id)


async def settings_button(update: Update, context: KpiContext) -> None:
    """Apply a settings toggle button."""
    q = update.callback_query
    assert q is not None and q.data is not None
    await answer_query(q)
    if isinstance(q.message, Message):
        await _apply(update, context, q.message, q.data[4:], None, edit=True)


async def _apply(
    update: Update,
    context: KpiContext,
    msg: Message,
    args: str,
    thread_id: int | None,
    *,
    edit: bool = False,
) -> None:
    user, tchat = update.effective_user, update.effective_chat
    assert user is not None and tchat is not None
    res = await for_caller(
        update,
        context,
        team_settings.settings_command,
        args=args,
        languages=languages(),
        thread_id=thread_id,
    )
    if res is None:
        return
    lang = lang_of(res.lang_pref, user)
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    assert res.view is not None
    if res.outcome == "bad_input":
        key = res.error_code or "settings.bad_usage"
        example = example_line(lang, EXAMPLE)
        await msg.reply_text(
            join_lines(t(lang, key, **quoted_params(key, res.error_params)), example)
        )
        return
    text = render_settings(lang, res.view)
    if res.changed:
        text = join_lines(t(lang, "settings.saved"), text)
    markup = settings_keyboard(lang, res.view)
    if edit:
        await edit_text(msg, text, markup)
    else:
        await msg.reply_text(text, reply_markup=markup)


async def mute(update: Update, context: KpiContext) -> None:
    """Turn your private reminders off."""
    await _mute(update, context, True)


async def unmute(update: Update, context: KpiContext) -> None:
    """Turn your private reminders back on."""
    await _mute(update, context, False)


async def _mute(update: Update, context: KpiContext, muted: bool) -> None:
    msg, user, tchat = update.effective_message, update.effective_user, update.effective_chat
    assert msg is not None and user is not None and tchat is not None
    res = await for_caller(update, context, team_settings.mute, muted=muted)
    if res is None:
        return
    if res.refusal is not None:
        await refuse(update, res.refusal)
        return
    await msg.reply_text(t(lang_of(res.lang_pref, user), f"settings.{res.changed}"))

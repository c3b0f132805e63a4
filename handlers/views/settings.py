"""Settings views: the team's settings with how to change them, the toggle buttons, a bad
change, and /mute's answer."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from handlers.i18n import Html, fmt_day, languages, t
from handlers.render import example_line, join_lines, quoted_params
from kpi.calendar import WEEKDAYS
from kpi.posts import registry as post_kinds
from kpi.usecases.outcomes import BadInput
from kpi.usecases.settings import Muted, Settings, SettingsView

EXAMPLE = "/settings time daily 18:30"
APPROVAL_EXAMPLE = "/settings approval joins on"


def settings_view(lang: str, res: Settings) -> tuple[Html, InlineKeyboardMarkup]:
    """Show the settings (after "saved" when one was changed), with the toggle buttons."""
    text = render_settings(lang, res.view)
    if res.changed:
        text = join_lines(t(lang, "settings.saved"), text)
    return text, settings_keyboard(lang, res.view)


def bad_setting_view(lang: str, res: BadInput) -> Html:
    """Explain a change /settings could not make, with an example."""
    key = res.code or "settings.bad_usage"
    example = APPROVAL_EXAMPLE if key == "settings.bad_approval" else EXAMPLE
    return join_lines(t(lang, key, **quoted_params(key, res.params)), example_line(lang, example))


def muted_view(lang: str, res: Muted) -> Html:
    """Confirm that private reminders are off, or back on."""
    return t(lang, "settings.muted" if res.muted else "settings.unmuted")


def render_settings(lang: str, view: SettingsView) -> Html:
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
        t(lang, "settings.join_approval", value=on if s.join_approval else off),
        t(lang, "settings.deal_approval", value=on if s.deal_approval else off),
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
    lines.append(t(lang, "settings.help_approval"))
    return join_lines(*lines)


def _next_language(current: str) -> str:
    """Return the language the language button switches to: the next one, round the list."""
    langs = languages()
    index = langs.index(current) if current in langs else -1
    return langs[(index + 1) % len(langs)]


def settings_keyboard(lang: str, view: SettingsView) -> InlineKeyboardMarkup:
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

"""Records views: the audit trail (/audit) and the company view (/org), in the reader's language.

An audit event reads as one sentence per action kind (`audit.do.<kind>`, the family's
`audit.do.<family>` when the kind has none) followed by what changed, before → after. A kind no
catalog knows yet is still shown, by its name, with its values.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import Html, esc, fmt_day, fmt_int, fmt_pct, has, t
from handlers.render import clip, command_example, join_lines
from handlers.views.boards import span_label
from kpi.usecases.outcomes import BadInput, UnknownMember
from kpi.usecases.records import AuditItem, AuditLog, Named, OrgView

ORG_TOP = 20
# Keys that name what the sentence already says (the entry, the person).
_SKIP = frozenset({"id", "member", "leader", "chat_id"})


def person_name(lang: str, who: Named | None) -> Html:
    """Name a person in an event: the erased by the label in the reader's language."""
    if who is None:
        return t(lang, "audit.bot")
    if who.erased:
        return t(lang, "privacy.erased_name", id=who.id)
    return esc(who.name)


def local_time(at: dt.datetime, timezone: str) -> str:
    """Show a moment in a team's zone the way both languages read it: 19/11 10:32."""
    return at.astimezone(ZoneInfo(timezone)).strftime("%d/%m %H:%M")


def sentence(lang: str, item: AuditItem) -> Html:
    """Say what an event did, in one sentence (generic for a kind no catalog knows)."""
    kind = item.action.replace(".", "_").lower()
    family = kind.split("_", 1)[0]
    params = {"id": item.entity_id if item.entity_id is not None else ""}
    for key in (f"audit.do.{kind}", f"audit.do.{family}"):
        if has(key):
            return t(lang, key, **params)
    return t(lang, "audit.do_other", action=clip(item.action, 48))


def _value(lang: str, value: Any) -> str:
    if isinstance(value, bool):
        return t(lang, "audit.yes" if value else "audit.no")
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, int | float):
        return fmt_int(value, lang)
    if isinstance(value, str):
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return fmt_day(dt.date.fromisoformat(value), lang)
        return clip(value, 60)
    if isinstance(value, list):
        return clip(", ".join(_value(lang, v) for v in value), 80)
    if isinstance(value, dict):
        return clip(" ".join(_value(lang, v) for v in value.values()), 80)
    return clip(json.dumps(value, ensure_ascii=False, separators=(",", ":")), 80)


def _field(lang: str, key: str) -> str:
    name = f"audit.field.{key}"
    return t(lang, name) if re.fullmatch(r"[a-z_]+", key) and has(name) else key


def changes(lang: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> list[Html]:
    """List what changed, `field: before → after`; then what the event was about (`field: value`).

    A key only in `after` is what was set; a key only in `before` is context (the entry a void
    was about), shown when it holds something.
    """
    changed: list[Html] = []
    context: list[Html] = []
    for key in [*after, *(k for k in before if k not in after)]:
        if key in _SKIP:
            continue
        old, new = before.get(key), after.get(key)
        if key in before and key in after:
            if old == new:
                continue
            shown, into = f"{_value(lang, old)} → {_value(lang, new)}", changed
        elif key in after:
            shown, into = _value(lang, new), changed
        else:
            if _value(lang, old) == "—":
                continue
            shown, into = _value(lang, old), context
        into.append(Html(f"{esc(_field(lang, str(key)))}: {esc(shown)}"))
    return changed + context


def event_line(lang: str, item: AuditItem, timezone: str) -> Html:
    """Render one event: when, who, what, about whom, before → after."""
    what = sentence(lang, item)
    about = (
        t(lang, "audit.about", name=person_name(lang, item.subject))
        if item.subject is not None and (item.actor is None or item.subject.id != item.actor.id)
        else ""
    )
    diff = changes(lang, item.before, item.after)
    return t(
        lang,
        "audit.line",
        when=local_time(item.at, timezone),
        who=person_name(lang, item.actor),
        what=Html(what + about),
        changes=Html(("\n   " + " · ".join(diff)) if diff else ""),
    )


def plain(text: str) -> str:
    """Turn a rendered message into plain text (for a file)."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def audit_view(lang: str, res: AuditLog) -> Html:
    """List the team's recent events, newest first."""
    title = (
        t(lang, "audit.title_member", team=res.team_title, name=person_name(lang, res.member))
        if res.member
        else t(lang, "audit.title", team=res.team_title)
    )
    if not res.items:
        return join_lines(title, t(lang, "audit.empty"))
    return join_lines(title, *(event_line(lang, i, res.timezone) for i in res.items))


def audit_problem_view(lang: str, res: UnknownMember | BadInput) -> Html:
    """Say why /audit shows nothing, with an example."""
    example = command_example(lang, "audit")
    if isinstance(res, UnknownMember):
        return join_lines(t(lang, "admin.unknown_member", word=clip(res.word or "")), example)
    if res.code == "audit.count":
        return join_lines(t(lang, "audit.bad_count", max=res.params.get("max", "")), example)
    return join_lines(
        t(lang, "audit.bad_usage", word=clip(str(res.params.get("word", "")))), example
    )


def _score(value: float | None, lang: str) -> str:
    return "—" if value is None else f"{value:.0f}"


def org_text(lang: str, res: OrgView) -> Html:
    """Rank the top members across teams and compare the teams."""
    lines: list[str] = [t(lang, "org.title", span=span_label(lang, res.span))]
    ranked = [r for r in res.rows if r.rank is not None]
    if not res.rows:
        return join_lines(*lines, t(lang, "org.no_teams"))
    lines.append(t(lang, "org.members", shown=min(ORG_TOP, len(ranked)), total=len(res.rows)))
    for r in ranked[:ORG_TOP]:
        lines.append(
            t(
                lang,
                "org.member_row",
                rank=r.rank or "",
                name=r.name,
                team=r.team_title,
                score=_score(r.score, lang),
            )
        )
    if not ranked:
        lines.append(t(lang, "org.nobody"))
    lines.append("")
    lines.append(t(lang, "org.teams"))
    for i, c in enumerate(res.teams, start=1):
        lines.append(
            t(
                lang,
                "org.team_row",
                place=i,
                team=c.title,
                score=_score(c.average, lang),
                active=c.active,
                members=c.members,
                share=fmt_pct(c.active / c.members if c.members else None, lang),
                best=c.best or "—",
            )
        )
    return join_lines(*lines)


def org_bad_period_view(lang: str, word: str) -> Html:
    """Explain that /org did not understand the period, with an example."""
    return join_lines(t(lang, "org.bad_period", word=clip(word)), command_example(lang, "org"))

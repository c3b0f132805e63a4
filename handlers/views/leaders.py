"""Leader views: a target set (/target), the team's KPIs and what /kpi changed, and why not."""

from __future__ import annotations

from handlers.i18n import Html, esc, fmt_pct, t
from handlers.render import clip, command_example, fmt_value, join_lines, quoted_params
from handlers.views.checkins import render_error
from kpi.names import name_in
from kpi.usecases.leaders import KpiListing, TargetSet
from kpi.usecases.outcomes import BadInput, UnknownKpi, UnknownMember


def target_view(lang: str, res: TargetSet | UnknownKpi | UnknownMember | BadInput) -> Html:
    """Confirm a target, or say why it was not set (with an example of the command)."""
    example = command_example(lang, "target")
    if isinstance(res, UnknownKpi):
        return join_lines(t(lang, "admin.unknown_kpi", word=clip(res.word or "")), example)
    if isinstance(res, UnknownMember):
        return join_lines(t(lang, "admin.unknown_member", word=clip(res.word or "")), example)
    if isinstance(res, BadInput):
        if res.code.startswith(("target.", "kpi.")):
            key = f"admin.{res.code}"
            return join_lines(t(lang, key, **quoted_params(key, dict(res.params))), example)
        return render_error(lang, res.code, dict(res.params), None)
    return t(
        lang,
        "admin.target_set" if res.member_name else "admin.target_set_default",
        kpi=name_in(res.kpi_names, lang),
        value=fmt_value(res.value, res.unit, lang),
        period=t(lang, f"per.{res.period}"),
        member=res.member_name or "",
    )


def kpi_problem_view(lang: str, res: UnknownKpi | BadInput) -> Html:
    """Say why /kpi changed nothing, with an example of the command."""
    example = command_example(lang, "kpi")
    if isinstance(res, UnknownKpi):
        return join_lines(t(lang, "admin.unknown_kpi", word=clip(res.word or "")), example)
    key = f"admin.{res.code}"
    return join_lines(t(lang, key, **quoted_params(key, dict(res.params))), example)


def kpi_list_view(lang: str, res: KpiListing) -> Html:
    """List the team's KPIs with targets and weights, after what a subcommand changed."""
    lines: list[str] = []
    if res.action:
        lines.append(
            t(
                lang,
                f"admin.kpi_{res.action}",
                kpi=name_in(res.kpi_names or {}, lang) or res.kpi or "",
                value=fmt_pct(res.value, lang),
                code=res.kpi or "",
            )
        )
    lines.append(t(lang, "admin.kpi_title"))
    for row in res.rows:
        name = name_in(row.names, lang)
        parts = [f"• <b>{esc(name)}</b> <code>{esc(row.key)}</code>"]
        if row.target is not None:
            parts.append(
                t(
                    lang,
                    "admin.row_target",
                    value=fmt_value(row.target, row.unit, lang),
                    period=t(lang, f"per.{row.target_period}"),
                )
            )
        if row.weight:
            parts.append(t(lang, "admin.row_weight", weight=fmt_pct(row.weight, lang)))
        if row.direction == "lower":
            parts.append(t(lang, "admin.row_lower"))
        lines.append(" · ".join(parts))
    if res.leader:
        lines.append(t(lang, "admin.kpi_hint"))
    return join_lines(*lines)

"""The export and import use cases for a chat: resolve the caller, require a leader, act."""

from __future__ import annotations

import base64
import datetime as dt
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import update
from sqlalchemy.orm import Session

from kpi import linking, pending
from kpi.access import (
    Caller,
    ChatInfo,
    Refusal,
    question_for_leader,
    require,
    resolve,
    scope_in_team,
)
from kpi.calendar import calendar_of, local_today
from kpi.exports.data import ExportData, load_export, parse_span
from kpi.exports.importing import ImportReport, import_file
from kpi.models import Member, PendingAction, Team
from kpi.teams import PersonInfo

ExportOutcome = Literal["ok", "refused", "forbidden", "bad_period"]


@dataclass(frozen=True)
class ExportResult:
    """An export's data for a leader, or why there is none."""

    outcome: ExportOutcome
    lang_pref: str | None
    refusal: Refusal | None = None
    data: ExportData | None = None
    csv: bool = False


def export_for(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
) -> ExportResult:
    """Load a team's export for a leader: `[period] [csv]`, this month by default."""
    caller = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(caller, Refusal):
        return ExportResult("refused", caller.lang_pref, caller)
    team = caller.team
    words = args.split()
    as_csv = any(w.lower() in ("csv", ".csv") for w in words)
    words = [w for w in words if w.lower() not in ("csv", ".csv", "xlsx", "excel")]
    cal = calendar_of(session, team)
    span = parse_span(" ".join(words), local_today(cal, now), cal)
    if span is None:
        return ExportResult("bad_period", caller.lang_pref)
    data = load_export(session, team, span)
    return ExportResult("ok", caller.lang_pref, data=data, csv=as_csv)


# --- import from the chat: a dry run, then the leader's Confirm ---------------------------------

IMPORT_KIND = "import"
ImportOutcome = Literal["ok", "refused", "forbidden", "cancelled", "expired", "stored"]


@dataclass(frozen=True)
class ImportResult:
    """A dry-run report waiting for Confirm, what a confirmed import stored, or why not."""

    outcome: ImportOutcome
    lang_pref: str | None
    refusal: Refusal | None = None
    report: ImportReport | None = None
    action_id: int | None = None  # the pending import to confirm
    filename: str = ""


def _leader(
    session: Session, person: PersonInfo, chat: ChatInfo, admins: frozenset[int], now: dt.datetime
) -> Caller | ImportResult:
    caller = require(resolve(session, person, chat, admins, now), "leader")
    if isinstance(caller, Refusal):
        return ImportResult("refused", caller.lang_pref, caller)
    return caller


def import_preview(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    filename: str,
    content: bytes,
) -> ImportResult:
    """Check a spreadsheet a leader sent; keep it for their Confirm when it has rows to store."""
    scope = _leader(session, person, chat, admins, now)
    if isinstance(scope, ImportResult):
        return scope
    report = import_file(
        session, scope.team, content, filename, now=now, actor_id=scope.member.id, dry_run=True
    )
    action_id = None
    if report.file_error is None and report.stored and not report.rejected:
        # Kept for the Confirm button (a day, like every question waiting for a button).
        action_id = pending.ask(
            session,
            kind=IMPORT_KIND,
            team_id=scope.team.id,
            member_id=scope.member.id,
            chat_id=chat.id,
            payload={"name": filename, "file": base64.b64encode(content).decode("ascii")},
            now=now,
        ).id
    return ImportResult(
        "ok", scope.lang_pref, report=report, action_id=action_id, filename=filename
    )


def import_confirm(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    action_id: int,
    confirm: bool,
) -> ImportResult:
    """Store (or drop) a checked import when the leader who sent it presses a button."""
    scope = resolve(session, person, chat, admins, now)
    action = pending.find(session, action_id)
    if (
        action is None
        or action.kind != IMPORT_KIND
        or action.member_id != scope.member.id
        or not pending.is_open(action, now)
        or action.team_id is None
    ):
        return ImportResult("expired", scope.lang_pref)
    team = session.get(Team, action.team_id)
    assert team is not None
    role_scope = scope_in_team(session, scope.member, team, admins, scope.lang_pref)
    name = str(action.payload.get("name", ""))
    if not role_scope.is_leader:
        pending.settle(action, "forbidden", now)
        return ImportResult("forbidden", scope.lang_pref)
    if not confirm:
        pending.settle(action, "cancelled", now)
        return ImportResult("cancelled", scope.lang_pref, filename=name)
    content = base64.b64decode(str(action.payload.get("file", "")))
    pending.settle(action, "stored", now)
    action.payload = {"name": name}  # the file is not kept once stored
    report = import_file(
        session, team, content, name, now=now, actor_id=scope.member.id, dry_run=False
    )
    return ImportResult("stored", scope.lang_pref, report=report, filename=name)


# --- an imported person linked to the one who joined: a leader's answer -------------------------

# The outbox kind of the leaders' question, for the sender that renders it.
LINK_PROPOSAL = linking.LINK_PROPOSAL
LinkOutcome = Literal["linked", "declined", "already_linked", "already_declined", "gone"]


@dataclass(frozen=True)
class LinkResult:
    """What a leader's answer did: linked, declined, answered before, or no longer possible."""

    outcome: LinkOutcome | Literal["forbidden", "expired"]
    lang_pref: str | None
    imported: str = ""
    joiner: str = ""
    entries: int = 0  # entries that are now the joiner's


def answer_link(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    action_id: int,
    confirm: bool,
) -> LinkResult:
    """Link an imported member to the person who joined (or not), on a leader's button."""
    scope = resolve(session, person, chat, admins, now)
    lang = scope.lang_pref
    found = question_for_leader(
        session, scope, pending.find(session, action_id), linking.LINK_KIND, admins
    )
    if isinstance(found, str):
        return LinkResult(found, lang)
    action, team = found
    imported = session.get(Member, int(action.payload.get("imported", 0)))
    joiner = session.get(Member, action.member_id)
    if imported is None or joiner is None:
        return LinkResult("expired", lang)
    names = (imported.display_name, joiner.display_name)
    if action.resolved_at is not None:
        declined = action.resolution == "declined"
        return LinkResult("already_declined" if declined else "already_linked", lang, *names)
    if not pending.is_open(action, now):
        return LinkResult("expired", lang, *names)
    # Claimed in one statement, so that two leaders pressing at once merge once.
    claimed = session.execute(
        update(PendingAction)
        .where(PendingAction.id == action.id, PendingAction.resolved_at.is_(None))
        .values(resolved_at=now, resolution="linked" if confirm else "declined")
        .returning(PendingAction.id)
    ).first()
    session.refresh(action)
    if claimed is None:
        # Another leader answered a moment ago.
        declined = action.resolution == "declined"
        return LinkResult("already_declined" if declined else "already_linked", lang, *names)
    if not linking.can_merge(session, team, imported, joiner):
        action.resolution = "gone"
        return LinkResult("gone", lang, *names)
    if not confirm:
        linking.audit_declined(session, team, scope.member.id, imported, joiner, now)
        return LinkResult("declined", lang, *names)
    moved = linking.merge(session, team, imported, joiner, actor_id=scope.member.id, now=now)
    return LinkResult("linked", lang, *names, entries=moved)

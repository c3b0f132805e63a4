"""Import a spreadsheet into a team: a dry-run report, then all rows or none.

People are matched by `@username`, then by name among the team's members (word order and
diacritics ignored); a name nobody in the team has becomes a member not yet linked to
Telegram. The backdating windows and the daily sanity bounds do not apply: a figure beyond a
bound is a warning in the report. Each row leaves a key (`ImportRow`), so a file imported
twice, also after it was re-saved, counts once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kpi import audit, periods, store
from kpi.calendar import WorkCalendar, calendar_of, count_working_days, local_today
from kpi.catalog import DEALS
from kpi.db import insert_ignore
from kpi.exports import rows as parse
from kpi.exports.columns import fold, header_roles, metric_word_index, name_key
from kpi.exports.reading import ImportFileError, find_header, read_rows
from kpi.models import (
    MEMBERSHIP_ACTIVE,
    MEMBERSHIP_MERGED,
    ROLE_REP,
    Activity,
    ImportRow,
    Member,
    Membership,
    Metric,
    Team,
    display_name,
)
from kpi.names import all_names
from kpi.teams import add_membership, settings_of

__all__ = ["ImportFileError", "ImportReport", "RowIssue", "import_file"]


@dataclass(frozen=True)
class RowIssue:
    """A row's problem (a rejection or a warning): its number in the file, a code, a detail."""

    row: int
    code: str
    detail: str = ""


@dataclass(frozen=True)
class ImportReport:
    """What an import did, or in a dry run would do."""

    dry_run: bool
    data_rows: int = 0  # rows under the header with anything in them
    stored: int = 0  # rows stored (or, in a dry run, that would be)
    entries: int = 0
    already: int = 0  # rows imported before (by their key)
    skipped: tuple[RowIssue, ...] = ()  # total lines, rows the file marks as not counted
    rejected: tuple[RowIssue, ...] = ()
    warnings: tuple[RowIssue, ...] = ()
    new_members: tuple[str, ...] = ()
    matched: tuple[tuple[str, str], ...] = ()  # (as written, member) when a name was matched
    monthly: int = 0
    first_day: dt.date | None = None
    last_day: dt.date | None = None
    file_error: ImportFileError | None = field(default=None, compare=False)

    @property
    def nothing_stored_for_rejections(self) -> bool:
        """Tell whether rejected rows kept the whole file out."""
        return bool(self.rejected) and self.stored == 0

    @property
    def all_already(self) -> bool:
        """Tell whether every row of the file was imported before."""
        return self.already > 0 and self.stored == 0 and not self.rejected


class _People:
    """The team's members by username and folded name; new names gathered for creation."""

    def __init__(self, session: Session, team_id: int) -> None:
        rows = session.execute(
            select(Member.id, Member.first_name, Member.last_name, Member.username)
            .join(Membership, Membership.member_id == Member.id)
            .where(
                Membership.team_id == team_id,
                # A member merged into the person who joined is that person now.
                Membership.status != MEMBERSHIP_MERGED,
                Member.erased_at.is_(None),
            )
        ).all()
        self.by_username: dict[str, int] = {}
        self.by_name: dict[str, set[int]] = {}
        self.names: dict[int, str] = {}
        for member_id, first, last, username in rows:
            name = display_name(member_id, first, last, username)
            self.names[member_id] = name
            if username:
                self.by_username[username.lower()] = member_id
            for variant in (name, f"{last or ''} {first}", first):
                self.by_name.setdefault(name_key(variant), set()).add(member_id)

    def match(self, written: str) -> tuple[int | None, str]:
        """Return (member id or None for someone new, the person's key); raise when ambiguous."""
        if written.startswith("@") and len(written) > 1:
            username = written[1:].lower()
            return self.by_username.get(username), f"@{username}"
        key = name_key(written)
        found = self.by_name.get(key, set())
        if len(found) > 1:
            names = ", ".join(sorted(self.names[i] for i in found))
            raise parse.RowError("member.ambiguous", names)
        return (next(iter(found)) if found else None), key


def import_file(
    session: Session,
    team: Team,
    content: bytes,
    filename: str,
    *,
    now: dt.datetime,
    actor_id: int | None,
    dry_run: bool,
    skip_bad_rows: bool = False,
) -> ImportReport:
    """Read a file and store its rows in the team (unless a dry run or a row is rejected)."""
    try:
        table = read_rows(content, filename)
    except ImportFileError as exc:
        return ImportReport(dry_run, file_error=exc)
    metrics = session.execute(
        select(Metric.key, Metric.names, Metric.aliases, Metric.daily_bound).where(
            Metric.team_id == team.id
        )
    ).all()
    words = {
        k: [*all_names(names), *(a for a in aliases.split(",") if a)]
        for k, names, aliases, _ in metrics
    }
    bounds = {k: int(bound) for k, _, _, bound in metrics}
    found = find_header(table, header_roles(words))
    if found is None:
        return ImportReport(dry_run, file_error=ImportFileError("file.no_header"))
    at, columns = found
    layout = parse.Layout(columns, metric_word_index(words))
    cal = calendar_of(session, team)
    today = local_today(cal, now)
    people = _People(session, team.id)
    rejected: list[RowIssue] = []
    skipped: list[RowIssue] = []
    good: list[parse.ParsedRow] = []
    ids: list[int | None] = []
    keys: list[str] = []
    data_rows = 0
    for number, cells in table[at + 1 :]:
        if all(c.value is None or str(c.value).strip() == "" for c in cells):
            continue
        data_rows += 1
        try:
            row = parse.parse_row(number, cells, layout, today)
            if row.skipped is not None:
                skipped.append(RowIssue(number, f"skipped.{row.skipped}"))
                continue
            member_id, key = people.match(row.person)
        except parse.RowError as exc:
            rejected.append(RowIssue(number, exc.code, exc.detail))
            continue
        if row.monthly:
            last = periods.last_working_day(cal, periods.span_of("month", row.day, cal))
            # The month's totals count on its last working day (its last day if it has none).
            end = periods.span_of("month", row.day, cal).end
            # A month still running counts its totals up to today, never on a later day.
            day = min(last or end, today)
            row = parse.ParsedRow(
                row.row, row.person, day, True, row.entries, entry_id=row.entry_id
            )
        good.append(row)
        ids.append(member_id)
        keys.append(key)
    # Keyed by the person as written: a name becomes a member on the first import, and the
    # second must still find the same key. Exported rows carry their entry's id instead.
    row_keys = parse.row_keys(good, keys)
    exported = {r.entry_id for r in good if r.entry_id is not None}
    present = (
        set(
            session.scalars(
                select(Activity.id).where(Activity.team_id == team.id, Activity.id.in_(exported))
            )
        )
        if exported
        else set()
    )
    known = {k for r, k in zip(good, row_keys, strict=True) if r.entry_id in present}
    known |= set(
        session.scalars(
            select(ImportRow.row_key).where(
                ImportRow.team_id == team.id, ImportRow.row_key.in_(row_keys)
            )
        )
    )
    todo = [
        (r, i, p, k)
        for r, i, p, k in zip(good, ids, keys, row_keys, strict=True)
        if k not in known
    ]
    warnings = _warnings(todo, bounds, settings_of(team).deal_amount_bound, cal)
    new_members = sorted({r.person for r, i, _, _ in todo if i is None}, key=fold)
    matched = sorted(
        {
            (r.person, people.names[i])
            for r, i, _, _ in todo
            if i is not None and r.person != people.names[i]
        }
    )
    report = ImportReport(
        dry_run,
        data_rows=data_rows,
        stored=len(todo),
        entries=sum(len(r.entries) for r, *_ in todo),
        already=len(good) - len(todo),
        skipped=tuple(skipped),
        rejected=tuple(rejected),
        warnings=tuple(warnings),
        new_members=tuple(new_members),
        matched=tuple(matched),
        monthly=sum(1 for r, *_ in todo if r.monthly),
        first_day=min((r.day for r, *_ in todo), default=None),
        last_day=max((r.day for r, *_ in todo), default=None),
    )
    if rejected and not skip_bad_rows:
        # All or nothing: one bad row keeps the whole file out.
        return _with_stored(report, 0)
    if dry_run or not todo:
        return report
    stored = _store(session, team, todo, filename, now, actor_id)
    return _with_stored(report, stored)


def _with_stored(report: ImportReport, stored: int) -> ImportReport:
    from dataclasses import replace

    return replace(report, stored=stored, entries=report.entries if stored else 0)


def _warnings(
    todo: Sequence[tuple[parse.ParsedRow, int | None, str, str]],
    bounds: dict[str, int],
    deal_bound: int,
    cal: WorkCalendar,
) -> list[RowIssue]:
    """List figures beyond the daily sanity bounds (a month's totals: times its working days)."""
    out = []
    for row, *_ in todo:
        days = 1
        if row.monthly:
            days = max(1, count_working_days(cal, row.day.replace(day=1), row.day))
        for e in row.entries:
            bound = bounds.get(e.metric)
            if bound is not None and e.value > bound * days:
                out.append(RowIssue(row.row, "warning.bound", f"{e.metric} {e.value}"))
            if e.metric == DEALS and e.amount and e.amount > deal_bound * max(e.value, 1):
                out.append(RowIssue(row.row, "warning.deal_amount", str(e.amount)))
    return out


def _store(
    session: Session,
    team: Team,
    todo: Sequence[tuple[parse.ParsedRow, int | None, str, str]],
    filename: str,
    now: dt.datetime,
    actor_id: int | None,
) -> int:
    """Create the new people, then each row's check-in, its key and its audit event."""
    created: dict[str, int] = {}
    first_day: dict[str, dt.date] = {}
    for row, member_id, person_key, _ in todo:
        if member_id is None:
            first_day[person_key] = min(first_day.get(person_key, row.day), row.day)
    for row, member_id, person_key, _ in todo:
        if member_id is None and person_key not in created:
            created[person_key] = _unlinked_member(
                session, team, row.person, first_day[person_key], now
            )
    stored = 0
    name = filename.rsplit("/", 1)[-1][:120]
    for row, member_id, person_key, key in todo:
        who = member_id if member_id is not None else created[person_key]
        claimed = session.execute(
            insert_ignore(session, ImportRow)
            .values(team_id=team.id, row_key=key, imported_by=actor_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["team_id", "row_key"])
            .returning(ImportRow.id)
        ).scalar()
        if claimed is None:
            continue  # a concurrent import of the same file stored it a moment ago
        checkin_id, _ = store.record_checkin(
            session,
            team_id=team.id,
            member_id=who,
            actor_id=actor_id if actor_id is not None else who,
            source="import",
            day=row.day,
            entries=row.entries,
            now=now,
            text=f"{name} #{row.row}",
        )
        flags = "imported,monthly" if row.monthly else "imported"
        session.execute(
            update(Activity).where(Activity.checkin_id == checkin_id).values(flags=flags)
        )
        session.execute(
            update(ImportRow).where(ImportRow.id == claimed).values(checkin_id=checkin_id)
        )
        audit.record(
            session,
            team_id=team.id,
            actor_id=actor_id,
            action="checkin.import",
            entity=audit.CHECKIN,
            entity_id=checkin_id,
            after={"file": name, "row": row.row, "monthly": row.monthly},
            now=now,
        )
        stored += 1
    session.flush()
    return stored


def _unlinked_member(
    session: Session, team: Team, written: str, joined: dt.date, now: dt.datetime
) -> int:
    """Create a member not yet linked to Telegram, in the team from their first imported day."""
    username = written[1:].lower() if written.startswith("@") else None
    member = Member(
        telegram_id=None,
        username=username,
        first_name="" if username else written.strip()[:255],
        created_at=now,
        seen_at=now,
    )
    session.add(member)
    session.flush()
    add_membership(
        session, team.id, member.id, role=ROLE_REP, status=MEMBERSHIP_ACTIVE, joined_on=joined
    )
    audit.record(
        session,
        team_id=team.id,
        action="member.import",
        entity="member",
        entity_id=member.id,
        after={"name": written[:255], "linked": False},
        now=now,
    )
    return member.id

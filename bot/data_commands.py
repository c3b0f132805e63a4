"""`kpibot export`, `import`, `backup`, `restore` and `erase`: a team's numbers in and out of the
database, and a person's data erased on request.

Exit codes: 0 done (an import stored, or with --dry-run would store, every row; a file imported
again is done too), 1 rows rejected (nothing stored unless --skip-bad-rows), 2 the file, the
team or the arguments could not be used.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from bot.config import Settings

if TYPE_CHECKING:
    from kpi.models import Team

EXIT_OK, EXIT_REJECTED, EXIT_UNUSABLE = 0, 1, 2


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser],
    parents: list[argparse.ArgumentParser],
) -> None:
    """Add the export, import, backup and restore subcommands."""
    ex = sub.add_parser("export", parents=parents, help="a team's numbers as XLSX or CSV")
    ex.add_argument("--team", required=True, help="the team's name or its group's chat id")
    ex.add_argument(
        "--period",
        default=None,
        help="week, month, last-month, ..., YYYY-MM, or FROM..TO (default: this month)",
    )
    ex.add_argument("--format", choices=("xlsx", "csv"), default="xlsx")
    ex.add_argument("--lang", choices=("vi", "en"), default=None, help="default: the team's")
    ex.add_argument(
        "-o", "--output", default=None, help="the file to write (default: kpi-TEAM-PERIOD.xlsx)"
    )
    im = sub.add_parser("import", parents=parents, help="a spreadsheet (XLSX or CSV) into a team")
    im.add_argument("file", help="the .xlsx or .csv file")
    im.add_argument("--team", required=True, help="the team's name or its group's chat id")
    im.add_argument("--dry-run", action="store_true", help="report only, store nothing")
    im.add_argument(
        "--skip-bad-rows", action="store_true", help="store the good rows even if some are bad"
    )
    bk = sub.add_parser("backup", parents=parents, help="a consistent copy of a SQLite database")
    bk.add_argument("path", help="the new backup file")
    rs = sub.add_parser("restore", parents=parents, help="restore a SQLite backup (bot stopped)")
    rs.add_argument("path", help="the backup file")
    er = sub.add_parser(
        "erase",
        parents=parents,
        help="erase a person's personal data on request (every team; numbers kept)",
    )
    er.add_argument("person", help="their @username or Telegram id")
    er.add_argument(
        "--yes", action="store_true", help="erase (without it: only say who would be erased)"
    )


def _fail(message: str, code: int = EXIT_UNUSABLE) -> int:
    print(f"kpibot: {message}", file=sys.stderr)
    return code


def _team(session: Session, ref: str) -> Team | str:
    """Return the team a name or chat id names, or why there is none."""
    from kpi.exports.data import find_team
    from kpi.models import Team

    match = find_team(session, ref)
    if match.team_id is not None:
        team = session.get(Team, match.team_id)
        assert team is not None
        return team
    if match.candidates:
        chats = ", ".join(f"{title} ({chat})" for title, chat in match.candidates)
        return f"several teams are called {ref!r}: give the chat id of one: {chats}"
    return f"no team {ref!r} (give the team's name or its group's chat id)"


def export_command(settings: Settings, args: argparse.Namespace) -> int:
    """Write a team's export file."""
    from kpi.calendar import calendar_of, local_today
    from kpi.db import Database
    from kpi.exports.data import load_export, parse_span
    from kpi.exports.export import build_csv, build_xlsx, file_name

    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            team = _team(session, args.team)
            if isinstance(team, str):
                return _fail(team)
            cal = calendar_of(session, team)
            today = local_today(cal, dt.datetime.now(dt.UTC))
            span = parse_span(args.period, today, cal)
            if span is None:
                return _fail(
                    f"cannot read the period {args.period!r} (week, month, last-month, "
                    "2026-11, 01/11/2026..15/11/2026)"
                )
            data = load_export(session, team, span)
            lang = args.lang or team.language
    finally:
        db.dispose()
    content = build_csv(data, lang) if args.format == "csv" else build_xlsx(data, lang)
    out = Path(args.output or file_name(data, args.format))
    try:
        out.write_bytes(content)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}")
    print(f"{out}: {len(data.entries)} entries, {len(data.summary)} members, {span.key}")
    return EXIT_OK


def import_command(settings: Settings, args: argparse.Namespace) -> int:
    """Import a spreadsheet into a team; print the report."""
    from handlers.exports import plain, render_report
    from kpi.db import Database
    from kpi.exports.importing import import_file

    path = Path(args.file)
    try:
        content = path.read_bytes()
    except OSError as exc:
        return _fail(f"cannot read {path}: {exc.strerror or exc}")
    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            team = _team(session, args.team)
            if isinstance(team, str):
                return _fail(team)
            report = import_file(
                session,
                team,
                content,
                path.name,
                now=dt.datetime.now(dt.UTC),
                actor_id=None,
                dry_run=args.dry_run,
                skip_bad_rows=args.skip_bad_rows,
            )
    finally:
        db.dispose()
    print(render_report(report, path.name, plain("en")))
    if report.file_error is not None:
        return EXIT_UNUSABLE
    return EXIT_REJECTED if report.rejected else EXIT_OK


def backup_command(settings: Settings, args: argparse.Namespace) -> int:
    """Copy the SQLite database while the bot runs."""
    from kpi.backup import BackupError, backup
    from kpi.db import sqlite_file

    source = sqlite_file(settings.database_url)
    if source is None:
        return _fail(
            "kpibot backup copies SQLite databases; for PostgreSQL use pg_dump -Fc "
            "(and pg_restore to restore), see the README"
        )
    try:
        tables = backup(source, Path(args.path))
    except BackupError as exc:
        return _fail(str(exc), 1)
    print(f"{args.path}: backup of {source} checked ({tables} tables)")
    return EXIT_OK


def restore_command(settings: Settings, args: argparse.Namespace) -> int:
    """Replace the SQLite database by a backup, unless a bot has it open."""
    from kpi.backup import BackupError, restore
    from kpi.db import sqlite_file

    target = sqlite_file(settings.database_url)
    if target is None:
        return _fail("kpibot restore restores SQLite backups; for PostgreSQL use pg_restore")
    try:
        tables = restore(Path(args.path), target)
    except BackupError as exc:
        return _fail(str(exc), 1)
    print(f"{target}: restored from {args.path} ({tables} tables)")
    return EXIT_OK


def erase_command(settings: Settings, args: argparse.Namespace) -> int:
    """Erase a person in every team: the name, username and Telegram id, and what they typed."""
    from sqlalchemy import select

    from handlers.views.privacy import erased_label
    from kpi.db import Database
    from kpi.models import Membership, Team
    from kpi.privacy import find_person
    from kpi.usecases.privacy import erase_person

    db = Database(settings.database_url)
    try:
        with db.transaction() as session:
            person = find_person(session, args.person)
            if person is None or person.erased_at is not None:
                return _fail(
                    f"nobody {args.person!r} (give their @username or Telegram id; "
                    "the bot knows people who have talked to it)"
                )
            teams = ", ".join(
                session.scalars(
                    select(Team.title)
                    .join(Membership, Membership.team_id == Team.id)
                    .where(Membership.member_id == person.id)
                    .order_by(Team.id)
                )
            )
            who = f"{person.display_name} (member #{person.id}; teams: {teams or 'none'})"
            if not args.yes:
                print(f"would erase {who}; run again with --yes to erase")
                return EXIT_OK
            res = erase_person(
                session, person, actor_id=None, label=erased_label, now=dt.datetime.now(dt.UTC)
            )
    finally:
        db.dispose()
    d = res.done
    print(
        f"erased {who}: now {res.label!r}; {d.checkins} check-ins and {d.entries} entries "
        f"blanked, {d.events} audit events, {d.pending + d.inbox + d.outbox} stored messages "
        "scrubbed (older backups still hold the data until they are rotated)"
    )
    return EXIT_OK


COMMANDS = {
    "export": export_command,
    "import": import_command,
    "backup": backup_command,
    "restore": restore_command,
    "erase": erase_command,
}

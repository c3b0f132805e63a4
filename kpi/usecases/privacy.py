"""Personal data use cases: a person's own copy (`/mydata`) and erasure on request (`/erase`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from kpi import pending, privacy
from kpi.access import ChatInfo, Refusal, require_admin, resolve
from kpi.models import Member, Membership, Team
from kpi.names import DEFAULT_LANGUAGE
from kpi.privacy import PersonalData
from kpi.teams import PersonInfo, upsert_member
from kpi.usecases.outcomes import BadInput, Closed, UnknownMember

ERASE = "erase"


@dataclass(frozen=True)
class MyData:
    """A person's own data, to be written to a file in their language."""

    lang_pref: str | None
    data: PersonalData


def my_data(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
) -> MyData:
    """Gather everything the bot keeps about the caller (anyone may ask for their own)."""
    member = upsert_member(session, person, now)
    return MyData(member.language or person.language_code, privacy.personal_data(session, member))


@dataclass(frozen=True)
class EraseAsked:
    """The admin is asked to confirm the erasure of a person, with buttons."""

    lang_pref: str | None
    pending_id: int
    name: str
    username: str | None
    teams: tuple[str, ...]


@dataclass(frozen=True)
class Erased:
    """A person erased: the label that replaced their name, and what changed."""

    lang_pref: str | None
    label: str
    done: privacy.Erasure


EraseOutcome = EraseAsked | UnknownMember | BadInput | Refusal


def erase_ask(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    args: str,
    reply_to: int | None = None,
) -> EraseOutcome:
    """Ask a configured admin to confirm erasing a person: `/erase @user` (or a Telegram id)."""
    scope = resolve(session, person, chat, admins, now)
    refusal = require_admin(scope, admins)
    if refusal is not None:
        return refusal
    words = args.split()
    if len(words) > 1 or (not words and reply_to is None):
        return BadInput(scope.lang_pref, "erase.usage")
    target = (
        privacy.find_person(session, words[0])
        if words
        else privacy.find_person(session, str(reply_to))
    )
    if target is None or target.erased_at is not None:
        return UnknownMember(scope.lang_pref, words[0] if words else "")
    teams = tuple(
        session.scalars(
            select(Team.title)
            .join(Membership, Membership.team_id == Team.id)
            .where(Membership.member_id == target.id)
            .order_by(Team.id)
        )
    )
    question = pending.ask(
        session,
        kind=ERASE,
        team_id=None,
        member_id=scope.member.id,
        chat_id=chat.id,
        payload={"member": target.id},
        now=now,
    )
    return EraseAsked(scope.lang_pref, question.id, target.display_name, target.username, teams)


def erase_answer(
    session: Session,
    *,
    person: PersonInfo,
    chat: ChatInfo,
    admins: frozenset[int],
    now: dt.datetime,
    pending_id: int,
    choice: str,
    label: Callable[[int, str], str],
) -> Erased | Closed | Refusal:
    """Apply (or cancel) a confirmed erasure; `label(member_id, team_language)` names the erased.

    Safe to press twice: the question is settled with the erasure, in one transaction.
    """
    scope = resolve(session, person, chat, admins, now)
    refusal = require_admin(scope, admins)
    if refusal is not None:
        return refusal
    question = pending.find(session, pending_id)
    if question is None or question.kind != ERASE:
        return Closed(scope.lang_pref, "expired")
    if question.member_id != scope.member.id:
        return Closed(scope.lang_pref, "not_yours")
    if not pending.is_open(question, now):
        return Closed(scope.lang_pref, "expired")
    pending.settle(question, choice, now)
    if choice != "ok":
        return Closed(scope.lang_pref, "cancelled")
    target = session.get(Member, int(question.payload.get("member", 0)))
    if target is None or target.erased_at is not None:
        return Closed(scope.lang_pref, "expired")
    return erase_person(
        session, target, actor_id=scope.member.id, label=label, now=now, lang_pref=scope.lang_pref
    )


def erase_person(
    session: Session,
    target: Member,
    *,
    actor_id: int | None,
    label: Callable[[int, str], str],
    now: dt.datetime,
    lang_pref: str | None = None,
) -> Erased:
    """Erase one person (the bot's button and `kpibot erase` both come here)."""
    team = session.scalar(
        select(Team.language)
        .join(Membership, Membership.team_id == Team.id)
        .where(Membership.member_id == target.id)
        .order_by(Team.id)
        .limit(1)
    )
    # The stored label reads in the person's (first) team's language; views name the erased in
    # the reader's.
    text = label(target.id, team or DEFAULT_LANGUAGE)
    done = privacy.erase(session, target, label=text, actor_id=actor_id, now=now)
    return Erased(lang_pref, text, done)

"""Settings use cases called with plain arguments: /settings and /mute, and their outcomes."""

from __future__ import annotations

from kpi.access import Refusal
from kpi.db import Database
from kpi.models import Membership
from kpi.usecases import settings
from kpi.usecases.outcomes import BadInput
from kpi.usecases.settings import Muted, Settings
from tests.support.usecases import GROUP, LEADER, PRIVATE_REP, REP
from tests.support.usecases import call as _call
from tests.support.usecases import set_up_team as _team

LANGUAGES = ("vi", "en")


def test_a_leader_reads_and_changes_the_settings(db: Database) -> None:
    _team(db)
    shown = _call(db, settings.settings_command, LEADER, GROUP, args="", languages=LANGUAGES)
    assert isinstance(shown, Settings) and shown.changed is None
    assert shown.view.title == "Sales HCM"
    changed = _call(
        db, settings.settings_command, LEADER, GROUP, args="show top 3", languages=LANGUAGES
    )
    assert isinstance(changed, Settings) and changed.changed == "show"
    assert (changed.view.settings.group_sees, changed.view.settings.top_n) == ("top", 3)


def test_a_bad_change_or_a_rep_changes_nothing(db: Database) -> None:
    _team(db)
    bad = _call(
        db, settings.settings_command, LEADER, GROUP, args="language xx", languages=LANGUAGES
    )
    assert bad == BadInput(None, "settings.bad_language", {"languages": "vi, en"})
    refused = _call(db, settings.settings_command, REP, GROUP, args="", languages=LANGUAGES)
    assert isinstance(refused, Refusal) and refused.reason == "not_leader"


def test_a_rep_mutes_and_unmutes_their_reminders(db: Database) -> None:
    _team(db)
    assert _call(db, settings.mute, REP, PRIVATE_REP, muted=True) == Muted(None, True)
    with db.transaction() as s:
        assert [m.reminders_muted for m in s.query(Membership).all()].count(True) == 1
    assert _call(db, settings.mute, REP, PRIVATE_REP, muted=False) == Muted(None, False)

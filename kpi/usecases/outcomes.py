"""Outcomes several use cases share: bad input, a question with buttons, a closed question,
an unknown KPI or member."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from kpi.names import Names


@dataclass(frozen=True)
class BadInput:
    """The text could not be read: a reason code and its parameters, and the command read."""

    lang_pref: str | None
    code: str
    params: Mapping[str, object] = field(default_factory=dict)
    command: str | None = None


@dataclass(frozen=True)
class AskBound:
    """A value beyond its sanity bound: asked with Save/Cancel buttons before it is stored."""

    lang_pref: str | None
    pending_id: int
    metric: str  # a metric key, or "amount" for a deal's amount
    value: int
    bound: int
    names: Mapping[str, Names]


@dataclass(frozen=True)
class Closed:
    """A button on a question that is over: cancelled now, expired or used, or not yours."""

    lang_pref: str | None
    why: Literal["cancelled", "expired", "not_yours"]


@dataclass(frozen=True)
class UnknownKpi:
    """No KPI of the team goes by these words (or none the command can use)."""

    lang_pref: str | None
    word: str | None


@dataclass(frozen=True)
class UnknownMember:
    """No active member of the team goes by the @handle (or is the replied-to person)."""

    lang_pref: str | None
    word: str | None

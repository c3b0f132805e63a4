"""Clock times written `HH:MM`: post times and working hours in the settings and the config."""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["normalize_hhmm", "parse_hhmm"]

# An hour of one or two digits ("8:00" or "08:00"), minutes of two.
_HHMM = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])")


def normalize_hhmm(text: str) -> str | None:
    """Return a clock time as `HH:MM` (`8:05` -> `08:05`), or None if it is not one."""
    m = _HHMM.fullmatch(text)
    return f"{int(m[1]):02d}:{m[2]}" if m else None


def parse_hhmm(text: str) -> dt.time:
    """Turn `HH:MM` (or `H:MM`) into a time; raise ValueError if it is not one."""
    hhmm = normalize_hhmm(text)
    if hhmm is None:
        raise ValueError(f"not a time like 18:00: {text!r}")
    return dt.time(int(hhmm[:2]), int(hhmm[3:]))

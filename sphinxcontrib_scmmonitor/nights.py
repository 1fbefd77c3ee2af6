"""A node's data file -> the backup calendar: what each series holds on each night.

The page's script (static/scmmonitor/calendar.js) applies the same rules to
the same data file at page load; this module gives the build-time calendar
and the table of non-HTML builders (docs/sphinx.rst, "The backup calendar").
Nights are local dates in the node's ``timezone`` (the zone its dated folders
are written in), newest last. Worst first, a night is: ``corrupt``, ``empty``,
``copy`` (differs from the source, or not copied), ``shrunk``, ``backup`` or
``none``. tests/test_calendar.py proves Python and JavaScript agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: the calendar's default length, in nights
DEFAULT_DAYS = 60
#: kind -> what a cell of that kind means, in words (title and legend); worst first
KINDS: Mapping[str, str] = {
    "corrupt": "corrupt (does not decompress)",
    "empty": "empty (0 bytes)",
    "copy": "differs from the source or not copied",
    "shrunk": "shrunk against its history",
    "backup": "a backup",
    "none": "no backup",
}
#: which reason marks the nights in its ``at`` as which kind
REASON_KIND: Mapping[str, str] = {
    "corrupt": "corrupt",
    "empty": "empty",
    "copy-differs": "copy",
    "not-copied": "copy",
    "shrunk": "shrunk",
}
_RANK = {kind: i for i, kind in enumerate(KINDS)}
#: month names for the calendar's head, in English whatever the build's locale
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")


@dataclass(frozen=True)
class Night:
    day: str      # YYYY-MM-DD, local to the node
    kind: str     # a key of KINDS

    @property
    def words(self) -> str:
        return f"{self.day}: {KINDS[self.kind]}"


@dataclass(frozen=True)
class Row:
    node: str
    series: str
    nights: tuple[Night, ...]


@dataclass(frozen=True)
class Head:
    """One column's head: the day of month shown, the month's name where a month starts
    (and in the first column), the whole date in words for screen readers."""

    day: str      # YYYY-MM-DD
    number: str   # "29"
    month: str    # "November 2026", or "" within a month
    words: str    # "29 November 2026"


def heads(days: Sequence[str]) -> list[Head]:
    """The calendar's column heads for ``days`` (oldest first), as calendar.js's
    ``dayHeads`` writes them."""
    out = []
    for i, text in enumerate(days):
        d = date.fromisoformat(text)
        name = MONTHS[d.month - 1]
        out.append(Head(text, str(d.day), f"{name} {d.year}" if i == 0 or d.day == 1 else "",
                        f"{d.day} {name} {d.year}"))
    return out


def local_day(at: float, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(at, zone).date().isoformat()


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def last_days(end: str, days: int) -> list[str]:
    """The ``days`` local dates ending with ``end``, oldest first."""
    last = date.fromisoformat(end)
    return [(last - timedelta(days=k)).isoformat() for k in range(days - 1, -1, -1)]


def _running(column: Sequence[int]) -> list[int]:
    out, total = [], 0
    for v in column:
        total += v
        out.append(total)
    return out


def rows(doc: Mapping[str, Any], days: int = DEFAULT_DAYS) -> list[Row]:
    """One row per judged series of a format-2 document, ``days`` nights each.

    The last night is the node's local date when it was last observed (else when the
    file was generated), or the night before when no series has a backup of that date
    yet (a hub writing at 03:10 observed at 02:00 is not a column of missing nights).
    """
    zone = zone_of(doc.get("timezone"))
    end_text = doc.get("observed_at") or doc.get("generated_at")
    end_at = (datetime.strptime(end_text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
              if end_text else 0)
    judged = [s for s in doc.get("series", []) if not s.get("retired")]
    times = {s.get("name"): _running(s.get("t", [])) for s in judged}
    end = local_day(end_at, zone)
    if not any(local_day(at, zone) == end for ts in times.values() for at in ts[-1:]):
        # tonight's backups may not be written yet: the calendar ends with last night
        end = (date.fromisoformat(end) - timedelta(days=1)).isoformat()
    nights = last_days(end, days)
    out = []
    for s in judged:
        kinds = dict.fromkeys(nights, "none")
        for at in times[s.get("name")]:
            day = local_day(at, zone)
            if day in kinds:
                kinds[day] = "backup"
        for r in s.get("reasons", []):
            kind = REASON_KIND.get(r.get("reason"))
            if kind is None:
                continue
            for at in r.get("at", []):
                day = local_day(at, zone)
                if day in kinds and _RANK[kind] < _RANK[kinds[day]]:
                    kinds[day] = kind
        out.append(Row(str(doc.get("node", "")), str(s.get("name", "")),
                       tuple(Night(d, kinds[d]) for d in nights)))
    return out

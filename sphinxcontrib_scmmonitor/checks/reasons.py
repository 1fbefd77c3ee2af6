"""The reasons a series or node is not ok, and what each level means to Nagios.

One table, :data:`SEVERITY`, gives every reason its level; the docs' reason
table (docs/concepts.rst), the data file's ``reasons[].level`` and the exit
status all come from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

OK, WARN, UNKNOWN, ALARM = "ok", "warn", "unknown", "alarm"
#: worst last; "unknown" (the store could not be read) ranks below a real alarm
LEVELS = (OK, WARN, UNKNOWN, ALARM)
#: Nagios plugin exit codes
EXIT_CODES = {OK: 0, WARN: 1, ALARM: 2, UNKNOWN: 3}
NAGIOS_WORDS = {OK: "OK", WARN: "WARNING", ALARM: "CRITICAL", UNKNOWN: "UNKNOWN"}

SEVERITY = {
    "stale": ALARM,
    "empty": ALARM,
    "missing": ALARM,
    "vanished": ALARM,
    "shrunk": WARN,
    "grew": WARN,
    "gap": WARN,
    "retention": WARN,
    "copy-differs": ALARM,
    "not-copied": ALARM,
    "corrupt": ALARM,
    "future": WARN,
    # per node
    "unreachable": WARN,
    "collector-stale": ALARM,
    "no-backups": ALARM,
    "unverified": WARN,
}


def worst(levels: Iterable[str]) -> str:
    return max(levels, key=LEVELS.index, default=OK)


@dataclass(frozen=True)
class Reason:
    """One finding: its reason name (docs/concepts.rst) and a sentence for people."""

    reason: str
    detail: str
    #: the backup times (epoch seconds UTC) the finding is about; may be empty
    at: tuple[int, ...] = ()

    @property
    def level(self) -> str:
        return SEVERITY[self.reason]



"""Store -> statuses: every series and node judged, with the reasons why.

Per series: ``stale``, ``empty``, ``missing``, ``vanished``, ``future``
(series.py); against its own past ``shrunk``, ``grew``, ``gap`` and
``retention`` (history.py); ``corrupt`` and, on a copy, ``copy-differs``,
``not-copied`` and ``missing`` against the hub's source (copies.py). Per node:
``unreachable``, ``collector-stale``, ``no-backups`` and ``unverified`` (node.py). judge.py
joins them into one row per node, judged *as observed*: as of the end of its
latest good collection (``observed_at``), so time nobody saw never turns them
stale (docs/concepts.rst). A node is its worst finding, the conclusion the worst
node (results.py); every reason's level lives in reasons.py. All times are UTC
epoch seconds, so a daylight-saving change can never cause a false alarm.
"""

from __future__ import annotations

from ..store.records import FUTURE_AFTER_S  # the one rule, for checks and verify steps
from ..text import escape_controls as printable  # the one rule for text: text.py
from ..text import human_age, human_size  # re-exported: home is text.py
from .backups import Backups, Folder
from .copies import Originals
from .judge import (
    LOOK_BACK,
    check_node,
    evaluate,
    judged_reader,
    originals_for,
    reader,
    same_findings_until,
)
from .node import observed_at
from .reasons import (
    ALARM,
    EXIT_CODES,
    LEVELS,
    NAGIOS_WORDS,
    OK,
    SEVERITY,
    UNKNOWN,
    WARN,
    Reason,
    worst,
)
from .results import NodeStatus, Report, SeriesStatus
from .words import NAMED, shown

__all__ = ["ALARM", "EXIT_CODES", "FUTURE_AFTER_S", "LEVELS", "LOOK_BACK", "NAGIOS_WORDS",
           "NAMED", "OK",
           "SEVERITY", "UNKNOWN", "WARN", "Backups", "Folder", "NodeStatus", "Originals",
           "Reason", "Report", "SeriesStatus", "check_node", "evaluate", "human_age",
           "human_size", "judged_reader", "observed_at", "originals_for", "printable",
           "reader", "same_findings_until", "shown", "worst"]

"""The no-storm rule: whether a hub is mailed now, and of which kind.

A hub is mailed when its findings change, once a day as a reminder while they
stay the same and bad, and once when it is OK again. What was last mailed is
kept in the store (the ``notifications`` table) as a fingerprint: a hash of
the (node, series, reason) findings and the level. Details such as ages are
left out of it on purpose: they change on every run and would mail every run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass

from ..checks import NAGIOS_WORDS, OK, NodeStatus
from ..text import iso_utc as iso

#: a hub still bad with unchanged findings is reminded about once a day
REMIND_AFTER_S = 24 * 3600

ALERT, REMINDER, RECOVERED = "alert", "reminder", "recovered"
KIND_WORDS = {ALERT: "an alert", REMINDER: "a reminder", RECOVERED: "a recovery notice"}


@dataclass(frozen=True)
class Decision:
    """Whether a hub gets a mail now, of which kind, and why (for logs and --dry-run)."""

    kind: str | None  # ALERT, REMINDER, RECOVERED, or None: nothing to send
    why: str


def fingerprint(nodes: Sequence[NodeStatus], level: str) -> str:
    """A stable hash of a hub's findings: (node, series, reason) triples and the level."""
    findings = sorted(
        [(n.node, "node", "", r.reason) for n in nodes for r in n.reasons]
        + [(n.node, "series", s.name, r.reason) for n in nodes for s in n.series
           for r in s.reasons])
    payload = json.dumps([level, findings], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def decide(level: str, fp: str, last: tuple[str, str, float] | None, now: float, *,
           always: bool = False) -> Decision:
    """The no-storm rule: mail on change, a daily reminder while bad, one recovery mail."""
    if level == OK:
        if last is not None and last[0] != OK:
            return Decision(RECOVERED, f"OK again after the {word(last[0])} mail "
                                       f"of {iso(last[2])}")
        return Decision(None, "OK, nothing to report")
    if always:
        return Decision(ALERT, "--always")
    if last is None or last[0] == OK:
        return Decision(ALERT, f"{word(level)}, no mail sent about it yet")
    last_level, last_fp, sent_at = last
    if last_fp != fp:
        return Decision(ALERT, f"findings changed since the {word(last_level)} mail "
                               f"of {iso(sent_at)}")
    if now - sent_at >= REMIND_AFTER_S:
        return Decision(REMINDER, f"still {word(level)} since the mail of {iso(sent_at)}")
    return Decision(None, f"{word(level)}, unchanged since the mail of {iso(sent_at)} "
                          f"(reminder after {REMIND_AFTER_S // 3600} h; --always sends now)")


def word(level: str) -> str:
    """The level as status's first line says it: OK, WARNING, CRITICAL."""
    return NAGIOS_WORDS.get(level, level.upper())

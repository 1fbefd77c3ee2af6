"""One series judged against its own past: ``shrunk``, ``grew``, ``gap`` and ``retention``.

Pure functions of the series' backups (``(backup_at, summed size)`` pairs, as
``SeriesData.totals`` gives them) and plain thresholds; the rules are in
docs/concepts.rst ("Copies and history checks").
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from operator import itemgetter
from statistics import median
from zoneinfo import ZoneInfo

from ..text import human_age, human_size
from .reasons import Reason

DAY = 86400
#: ``shrunk`` and ``grew`` compare the newest backup with the median of this many before it
SIZE_HISTORY = 7
#: a series needs this many intervals (five backups, reruns aside) before a gap can be told
#: from its rhythm
MIN_INTERVALS = 4
#: the usual interval is the median of the series' latest intervals, so that a series
#: whose schedule changed (weekly -> daily) takes on its new rhythm within 15 backups
USUAL_OF = 28
#: two backups further apart than this many usual intervals have missed one between them;
#: with the median of the intervals as the usual one, a jitter of up to a tenth of the
#: interval either side (+-2.4 h a night) can never reach it
GAP_FACTOR = 1.5
#: a gap names at most this many missed days one by one
NAMED_DAYS = 5

Totals = Sequence[tuple[int, int]]
_at = itemgetter(0)


def check_history(present: Totals, history: Totals, *, observed_at: float | None,
                  timezone: str, min_size_ratio: float, max_size_ratio: float,
                  gap_days: float, keep_min: int, keep_max: int) -> list[Reason]:
    """Every history finding of one series on one node.

    ``present``: its backups on the node now (future-dated ones left out, as for
    ``stale``); ``history``: every backup of it ever seen there, gone ones too.
    Both ascending by time, one pair per backup.
    """
    return [*size_against_history(present, history, min_size_ratio=min_size_ratio,
                                  max_size_ratio=max_size_ratio),
            *gaps(history, observed_at=observed_at, gap_days=gap_days, timezone=timezone),
            *retention(len(present), len(history), keep_min=keep_min, keep_max=keep_max)]


def size_against_history(present: Totals, history: Totals, *, min_size_ratio: float,
                         max_size_ratio: float) -> list[Reason]:
    """``shrunk`` / ``grew``: the newest backup against the median of the (up to) 7 before it.

    The ones before may have left the node already (a node keeping only the newest):
    their sizes as last seen still count. A newest of 0 bytes is ``empty``, not this.
    """
    if not present:
        return []
    newest_at, newest = present[-1]
    end = bisect_left(history, newest_at, key=_at)
    before = [size for _, size in history[max(0, end - SIZE_HISTORY):end]]
    if not before or newest == 0:
        return []
    usual = median(before)
    if usual <= 0:
        return []  # growing from empty backups is no news
    against = f"the median {_size(usual)} of the {len(before)} before it"
    if newest < min_size_ratio * usual:
        return [Reason("shrunk", f"newest backup is {100 * (newest - usual) / usual:+.0f} % "
                                 f"against {against} ({_size(newest)}, limit "
                                 f"{min_size_ratio:g}x)", (newest_at,))]
    if max_size_ratio and newest > max_size_ratio * usual:
        return [Reason("grew", f"newest backup is {newest / usual:.1f}x {against} "
                               f"({_size(newest)}, limit {max_size_ratio:g}x)", (newest_at,))]
    return []


def gaps(history: Totals, *, observed_at: float | None, gap_days: float,
         timezone: str) -> list[Reason]:
    """``gap``: two consecutive backups, the later one within the last ``gap_days`` before
    ``observed_at``, more than 1.5x the series' usual interval apart.

    The usual interval (:func:`usual_interval`) is the median of the series' latest
    intervals, so daily, weekly and monthly series need no setting. A series with fewer
    than 4 intervals is not judged: it has no rhythm yet. Missed days are named as local
    dates in ``timezone``, the zone the node writes its dated folders in.
    """
    if gap_days <= 0 or observed_at is None:
        return []
    # a backup dated after the listing that saw it is the "future" check's, not a rhythm
    seen = bisect_right(history, observed_at, key=_at)
    if seen - 1 < MIN_INTERVALS:
        return []
    since = observed_at - gap_days * DAY
    first_judged = max(1, bisect_right(history, since, lo=0, hi=seen, key=_at))
    start = max(0, min(seen - USUAL_OF - 1, first_judged - 1))
    times = [at for at, _ in history[start:seen]]
    usual = usual_interval([b - a for a, b in pairwise(times)])
    if usual is None:
        return []
    zone = ZoneInfo(timezone)
    out = []
    for i in range(first_judged - start, len(times)):
        earlier, later = times[i - 1], times[i]
        if later - earlier > GAP_FACTOR * usual:
            out.append(_gap(earlier, later, usual, zone))
    return out


def usual_interval(intervals: Sequence[float]) -> float | None:
    """The median of the latest 28 intervals, reruns left out; None: no rhythm yet.

    A rerun soon after a backup, or the second backup of a night, is not the series'
    rhythm: an interval under a third of the upper quartile is left out. Else two
    reruns among four nightly intervals would halve the median and make every night
    a gap; with a jitter under a tenth of the interval none is ever left out.
    """
    recent = sorted(intervals[-USUAL_OF:])
    if len(recent) < MIN_INTERVALS:
        return None
    rhythm = recent[bisect_left(recent, recent[3 * len(recent) // 4] / 3):]
    return median(rhythm) if len(rhythm) >= MIN_INTERVALS else None


def retention(present: int, ever: int, *, keep_min: int, keep_max: int) -> list[Reason]:
    """``retention``: fewer backups on the node than ``keep_min``, or more than ``keep_max``
    (0 = not judged).

    Too few is judged only once a backup of the series has left the node (``ever``, the
    backups ever seen there, exceeds ``present``): a young series has not reached
    ``keep_min`` yet, a purge that ran wild has removed what it should have kept.
    """
    if keep_min and present < keep_min and ever > present:
        return [Reason("retention", f"{present} backups on the node, fewer than "
                                    f"keep_min = {keep_min} (a purge that ran wild?)")]
    if keep_max and present > keep_max:
        return [Reason("retention", f"{present} backups on the node, more than "
                                    f"keep_max = {keep_max} (a purge that stopped?)")]
    return []


def _gap(earlier: int, later: int, usual: float, zone: ZoneInfo) -> Reason:
    # the missed backups were due evenly spread between the two: robust to the jitter of
    # either end, and to a 23 h or 25 h night
    missed = max(1, round((later - earlier) / usual) - 1)
    step = (later - earlier) / (missed + 1)
    days = list(dict.fromkeys(_local(earlier + k * step, zone, "%Y-%m-%d")
                              for k in range(1, missed + 1)))
    if len(days) > NAMED_DAYS:
        named = f"{len(days)} days, {days[0]} to {days[-1]}"
    else:
        named = ", ".join(days)
    return Reason("gap", f"no backup on {named} ({zone.key}): {human_age(later - earlier)} between "
                         f"the backups of {_local(earlier, zone)} and {_local(later, zone)}, "
                         f"the usual interval is {human_age(usual)}", (earlier, later))


def _local(at: float, zone: ZoneInfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return datetime.fromtimestamp(at, zone).strftime(fmt)


def _size(size: float) -> str:
    return human_size(round(size))

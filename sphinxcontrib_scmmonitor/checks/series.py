"""The findings about one series of a node, from its backups as the node holds them.

``stale``, ``empty``, ``vanished`` and ``future`` from its newest backup;
``shrunk``, ``grew``, ``gap`` and ``retention`` against its own past
(history.py). Judged *as observed* (``as_of``: the end of the node's latest
good collection), so time nobody saw never turns a series stale
(docs/concepts.rst).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config import NodeSettings
from ..text import human_age
from .backups import Backups
from .history import check_history
from .reasons import Reason
from .results import SeriesStatus
from .words import named


def check_series(node: NodeSettings, backups: Backups, as_of: float, now: float,
                 max_age: float) -> SeriesStatus:
    """The series' row with the findings about its newest backup."""
    st = SeriesStatus(name=backups.name, count=len(backups.present) + len(backups.future))
    if backups.future:
        st.reasons.append(_future(backups, as_of))
    if not backups.present:
        if backups.future:
            st.reasons.append(Reason("stale", "no backup on the node is dated before the last "
                                     "listing: only future-dated ones"))
        elif backups.history:
            st.reasons.append(Reason("vanished", "had backups, none is on the node now"))
        return st
    newest = backups.present[-1]
    st.newest, st.size = newest.at, newest.present_size
    # the previous backup may already be rotated away (a node keeping only the newest):
    # its size as last seen is still what the newest one should be compared with
    earlier = [size for at, size in backups.history_totals() if at < newest.at]
    if earlier:
        st.previous_size = earlier[-1]
    age = as_of - newest.at
    if age > max_age:
        when = ("" if now - as_of < 3600
                else f", as of the last good listing {human_age(now - as_of)} ago")
        st.reasons.append(Reason("stale", f"newest backup is {human_age(age)} old "
                                          f"(limit {node.max_age_hours:g} h){when}",
                                 (newest.at,)))
    files = backups.files(newest)
    empty_files = [b for b in files if b.size == 0]
    if st.size == 0:
        st.reasons.append(Reason("empty", "newest backup has 0 bytes"
                                 + _files_named(backups, empty_files, len(files)),
                                 (newest.at,)))
    elif empty_files:
        # one truncated tarball next to a good one still leaves a backup that cannot be
        # restored, and its summed size barely moves
        names = named([backups.relative(b.path) if b.path else "a file" for b in empty_files])
        st.reasons.append(Reason("empty", f"{names} "
                                 f"{'has' if len(empty_files) == 1 else 'have'} 0 bytes "
                                 f"({len(empty_files)} of the {len(files)} files of "
                                 "the newest backup)", (newest.at,)))
    return st


def series_history(node: NodeSettings, backups: Backups, st: SeriesStatus,
                   observed: float | None, copy: bool) -> list[Reason]:
    """``shrunk``, ``grew``, ``gap`` and ``retention`` of one series (docs/concepts.rst)."""
    if not backups.present:
        return []
    found = check_history(
        backups.present_totals(), backups.history_totals(), observed_at=observed,
        timezone=node.timezone, min_size_ratio=node.min_size_ratio,
        max_size_ratio=node.max_size_ratio,
        # a night missing on a copy is the copy check's "not-copied" (or the source's gap)
        gap_days=0 if copy else node.gap_days, keep_min=node.keep_min, keep_max=node.keep_max)
    if any(r.reason == "empty" for r in st.reasons):
        # an empty newest backup is the finding; its size against history says nothing more
        found = [r for r in found if r.reason not in ("shrunk", "grew")]
    return found


def _future(backups: Backups, as_of: float) -> Reason:
    parts = []
    for f in backups.future:
        seen = f.first_seen_at if f.first_seen_at is not None else as_of
        parts.append(f"{backups.folder_name(f)} ({human_age(f.at - seen)} ahead)")
    what = "is" if len(parts) == 1 else "are"
    return Reason("future", f"{named(parts)} {what} dated after the listing that first saw "
                  f"{'it' if len(parts) == 1 else 'them'} (a wrong clock or date_layout?); "
                  "never taken as the newest backup", tuple(f.at for f in backups.future))


def _files_named(backups: Backups, files: Sequence[Any], total: int) -> str:
    names = [backups.relative(b.path) for b in files if b.path]
    if not names:
        return ""
    return f" ({named(names)}{'' if total == 1 else f', {len(names)} of {total} files'})"

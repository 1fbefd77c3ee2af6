"""The reads that judge a node, as SQL text that sqlite3 and SQLAlchemy both run.

Each read is written once, with ``:named`` parameters: :class:`~.db.Store` runs
it through SQLAlchemy's ``text()`` (SQLite and PostgreSQL), :class:`~.lite.LiteStore`
through the standard library's sqlite3, so ``status`` on SQLite needs no
SQLAlchemy (docs/operations.rst, "Large stores"). A read gets a :data:`Run`: SQL
text and parameters in, rows out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..checks.backups import FUTURE_AFTER_S
from ..checks.history import SIZE_HISTORY, USUAL_OF
from .records import BackupFile, NodeData, RunInfo, SeriesData, Verification

Run = Callable[[str, Mapping[str, Any]], Iterable[Sequence[Any]]]

#: How far back the checks look in one series, in backups (docs/concepts.rst), as the
#: checks define it: a gap is told from the usual interval of the latest USUAL_OF
#: intervals (USUAL_OF + 1 backups up to the node's last good listing), shrunk and grew
#: from the SIZE_HISTORY backups before the newest present one; a backup dated more than
#: FUTURE_AFTER_S after the listing that first saw it is none of those (``future``).
#: The recent read keeps exactly that window, future-dated backups left out by the
#: query's bound, so none of them (nor a rerun, itself one of the backups counted) can
#: push a judged backup out.
GAP_BACKUPS = USUAL_OF + 1
#: before every backup time: a series read whole is read from here on
_FLOOR = -(1 << 62)
#: after every backup time: no good listing yet, so no time bound on the window
_CEILING = 1 << 62
#: a content check's result holds while the file has the size and mtime it had then
_UNCHANGED = "v.backup_id = b.id AND v.size = b.size AND v.mtime = b.mtime"
#: what it found (checked_at is never NULL: a NULL here is no result)
_CHECKED = "v.sha256, v.gzip_ok, v.gzip_error, v.checked_at"

NODE = "SELECT id, hub, root FROM nodes WHERE name = :name"

RUNS = """
SELECT started_at, finished_at, state, error, method, files_seen, unparsed, unparsed_sample
FROM runs WHERE node_id = :node ORDER BY started_at DESC LIMIT :limit
"""

SERIES = "SELECT id, raw_name, name FROM series WHERE node_id = :node"

#: A backup (all files of one backup time of a series) the checks judge: not dated more
#: than :data:`FUTURE_AFTER_S` after the listing that first saw one of its files
_JUDGED = """NOT EXISTS (SELECT 1 FROM backups f WHERE f.series_id = b.series_id
  AND f.backup_at = b.backup_at AND f.backup_at > f.first_seen_at + :future)"""

#: Every series of a node with the backups the checks judge, newest ones only where that
#: is enough (:func:`read_node`): one statement a node, each series bounded by index seeks
#: along ix_backups_series_at, never a scan of its history.
#:
#: ``bounds``, per series, among the backups the checks judge (:data:`_JUDGED`): the
#: newest present one, the :data:`GAP_BACKUPS`-th newest up to the last good listing
#: (``:observed``), the newest at or before ``:since`` (the one before the gap window),
#: and its count of present files at its last complete listing. Grouped by the series so
#: that it is worked out once a series: SQLite would merge a plain subquery into the
#: join and seek the bounds again for every backup row. ``sized``: the backup
#: :data:`SIZE_HISTORY` before the newest present one. ``judged``: a series is read
#: whole when asked (``:whole``), never listed whole, or when any of those backups does
#: not exist (it is short, or young); else from ``cutoff``, the oldest of them, on.
#: ``w`` adds ``lower``: one judged backup time more, so "some have left the node" is
#: still known (grouped, once a series, for the same reason). Each backup comes with its
#: content checks' results (NULLs: none that still hold): a query of the node's verified
#: files alone would walk its whole history.
BACKUPS = f"""
SELECT w.id, w.cutoff, w.listed, b.backup_at, b.size, b.gone_at, b.path, b.first_seen_at,
  {_CHECKED}
FROM (
  SELECT judged.id, judged.listed, judged.cutoff,
    CASE WHEN judged.cutoff IS NULL THEN :floor
      ELSE COALESCE((SELECT MAX(b.backup_at) FROM backups b WHERE b.series_id = judged.id
                     AND b.backup_at < judged.cutoff AND {_JUDGED}), judged.cutoff)
    END AS lower
  FROM (
    SELECT id, listed,
      CASE WHEN :whole = 1 OR listed IS NULL OR keep_at IS NULL OR before_since IS NULL
             OR (newest_present IS NOT NULL AND size_at IS NULL) THEN NULL
        WHEN size_at IS NOT NULL AND size_at < keep_at AND size_at < before_since
          THEN size_at
        WHEN before_since < keep_at THEN before_since ELSE keep_at END AS cutoff
    FROM (
      SELECT bounds.*,
        (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = bounds.id
          AND b.backup_at <= bounds.newest_present AND {_JUDGED}
          ORDER BY b.backup_at DESC LIMIT 1 OFFSET :size) AS size_at
      FROM (
        SELECT s.id AS id, s.listed_count AS listed,
          (SELECT b.backup_at FROM backups b WHERE b.series_id = s.id AND b.gone_at IS NULL
            AND {_JUDGED} ORDER BY b.backup_at DESC LIMIT 1) AS newest_present,
          (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
            AND b.backup_at <= :observed AND {_JUDGED}
            ORDER BY b.backup_at DESC LIMIT 1 OFFSET :keep) AS keep_at,
          (SELECT b.backup_at FROM backups b WHERE b.series_id = s.id
            AND b.backup_at <= :since AND {_JUDGED}
            ORDER BY b.backup_at DESC LIMIT 1) AS before_since
        FROM series s WHERE s.node_id = :node GROUP BY s.id
      ) AS bounds
    ) AS sized
  ) AS judged
  GROUP BY judged.id, judged.listed, judged.cutoff
) AS w
JOIN backups b ON b.series_id = w.id AND b.backup_at >= w.lower
LEFT JOIN verifications v ON {_UNCHANGED}
ORDER BY w.id, b.backup_at, b.path
"""  # noqa: S608 - built of this module's constants, no input

#: one series from ``:lower`` on: where the recent read's counts do not add up
SERIES_BACKUPS = f"""
SELECT b.backup_at, b.size, b.gone_at, b.path, b.first_seen_at, {_CHECKED}
FROM backups b LEFT JOIN verifications v ON {_UNCHANGED}
WHERE b.series_id = :series AND b.backup_at >= :lower ORDER BY b.backup_at, b.path
"""  # noqa: S608 - constants only

#: the time of a series' ``:k``-th newest present file (0: the newest), walked back from
#: its newest: a node keeping its newest backups walks only those
OLDEST_PRESENT = """
SELECT b.backup_at FROM backups b WHERE b.series_id = :series AND b.gone_at IS NULL
ORDER BY b.backup_at DESC LIMIT 1 OFFSET :k
"""

#: the judged backup time just before ``:at`` (so "some have left the node" is known)
BEFORE = f"""
SELECT MAX(b.backup_at) FROM backups b WHERE b.series_id = :series AND b.backup_at < :at
  AND {_JUDGED}
"""  # noqa: S608 - constants only

#: the content checks' results of a node's files
VERIFIED = f"""
SELECT b.path, {_CHECKED}
FROM verifications v JOIN backups b ON {_UNCHANGED}
WHERE b.node_id = :node
"""  # noqa: S608 - constants only

#: One cheap key per node that differs whenever what :func:`read_node` returns may
#: (docs/sphinx.rst, "How the page gets its data"): everything a node's data holds arrives
#: with a collection run (inserted per collection, updated when it ends) or a content
#: check, so the node's hub, its latest run's id, state, start and end, and the count and
#: latest time of its content checks say it. The content checks are few (verified files
#: only): walked from them, each backup found by its id; a join would let the planner walk
#: the backups, millions of rows, instead.
CHANGE_KEYS = """
SELECT n.name, n.hub, r.id, r.state, r.started_at, r.finished_at, v.checked, v.latest
FROM nodes n
LEFT JOIN runs r ON r.id = (SELECT r2.id FROM runs r2 WHERE r2.node_id = n.id
                            ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1)
LEFT JOIN (SELECT node_id, COUNT(*) AS checked, MAX(checked_at) AS latest
           FROM (SELECT (SELECT b.node_id FROM backups b WHERE b.id = v2.backup_id) AS node_id,
                        v2.checked_at FROM verifications v2) AS checks
           GROUP BY node_id) v ON v.node_id = n.id
"""
#: the change key of a node the store does not know yet
NEVER: tuple[object, ...] = ()

#: the verify tools a run found missing on the node, and since when (``unverified``)
MISSING_TOOLS = "SELECT tool, since FROM verify_missing WHERE node_id = :node"

LAST_NOTIFICATION = "SELECT status, fingerprint, sent_at FROM notifications WHERE hub = :hub"


def read_node(run: Run, name: str, hub: str | None, *, runs_limit: int,
              window_s: float | None) -> NodeData:
    """A node's series and recent runs (oldest first); all backups, or (``window_s``) the
    recent ones :meth:`~.reads.Reads.recent_node_data` describes. Run inside one read."""
    found = list(run(NODE, {"name": name}))  # names are unique: none or one
    if not found or (hub is not None and found[0][1] != hub):
        # another hub's node of that name is not this one (see ensure_node)
        return NodeData(name=name, hub=hub or "", series=[], runs=[])
    node_id, node_hub, root = found[0][0], found[0][1], found[0][2]
    runs = [RunInfo(*r) for r in run(RUNS, {"node": node_id, "limit": runs_limit})]
    runs.reverse()
    series = {sid: SeriesData(name=sname, raw_name=bytes(raw), backups=[])
              for sid, raw, sname in run(SERIES, {"node": node_id})}
    since = observed = None
    if window_s is not None:
        good = [r for r in runs if r.ok]
        observed = (good[-1].finished_at or good[-1].started_at) if good else None
        since = int(observed - window_s) if observed is not None else None
    verified: dict[bytes, Verification] = {}
    _read_backups(run, node_id, series, verified, whole=window_s is None, since=since,
                  observed=observed)
    return NodeData(name=name, hub=hub or node_hub,
                    series=sorted(series.values(), key=lambda s: s.name), runs=runs,
                    verified=verified, verify_missing=read_missing_tools(run, node_id),
                    root=None if root is None else bytes(root))


def _read_backups(run: Run, node_id: int, series: dict[int, SeriesData],
                  verified: dict[bytes, Verification], *, whole: bool,
                  since: int | None, observed: float | None) -> None:
    """Each series' backups from the lower bound :data:`BACKUPS` gives it on, and the
    content checks' results of the files read."""
    # no good run yet: no gap is judged, so the window has no time bound
    params = {"node": node_id, "whole": int(whole), "floor": _FLOOR,
              "since": _CEILING if since is None else since,
              "observed": _CEILING if observed is None else observed,
              "future": FUTURE_AFTER_S, "keep": GAP_BACKUPS - 1, "size": SIZE_HISTORY}
    bounded: dict[int, tuple[int, int]] = {}  # series id -> (cutoff, listed count)
    current_id = None
    current: list[BackupFile] = []
    for (sid, cutoff, listed, at, size, gone_at, path, first_seen_at,
         sha256, gzip_ok, gzip_error, checked_at) in run(BACKUPS, params):
        if sid != current_id:  # the rows come series by series
            current_id, current = sid, series[sid].backups
            if cutoff is not None:
                bounded[sid] = (cutoff, listed)
        current.append(BackupFile(at, size, gone_at, path, first_seen_at))
        if checked_at is not None:
            verified[bytes(path)] = _verification(sha256, gzip_ok, gzip_error, checked_at)
    for sid, (cutoff, listed) in bounded.items():
        if not _all_present(series[sid].backups, cutoff, listed):
            # the node keeps more than the checks look back at (or the purge missed one):
            # read from its oldest present file on, found walking back from the newest
            oldest = next(iter(run(OLDEST_PRESENT, {"series": sid, "k": max(listed - 1, 0)})),
                          (cutoff,))[0]
            start = min(cutoff, oldest)
            lower = next(iter(run(BEFORE, {"series": sid, "at": start,
                                           "future": FUTURE_AFTER_S})), (None,))[0]
            _read_series(run, sid, series, verified, start if lower is None else lower)
            if not _all_present(series[sid].backups, start, listed):
                _read_series(run, sid, series, verified, _FLOOR)  # counts that do not add up


def _all_present(backups: list[BackupFile], cutoff: int, listed: int) -> bool:
    """Whether the backups read from ``cutoff`` on hold the series' every present file."""
    present = sum(1 for b in backups if b.gone_at is None and b.backup_at >= cutoff)
    return present == listed and not any(b.gone_at is None for b in backups
                                         if b.backup_at < cutoff)


def _read_series(run: Run, sid: int, series: dict[int, SeriesData],
                 verified: dict[bytes, Verification], lower: int) -> None:
    """One series' backups from ``lower`` on, instead of what was read of it."""
    backups = series[sid].backups
    backups.clear()
    for at, size, gone_at, path, first_seen_at, *checked in run(
            SERIES_BACKUPS, {"series": sid, "lower": lower}):
        backups.append(BackupFile(at, size, gone_at, path, first_seen_at))
        if checked[3] is not None:
            verified[bytes(path)] = _verification(*checked)


def read_verified(run: Run, node_id: int) -> dict[bytes, Verification]:
    """full path -> what the content checks found, for the node's files unchanged since."""
    return {bytes(path): _verification(*checked)
            for path, *checked in run(VERIFIED, {"node": node_id})}


def read_change_keys(run: Run, names: Iterable[str]) -> dict[str, tuple[object, ...]]:
    """Node name -> its change key (:data:`CHANGE_KEYS`; :data:`NEVER`: not stored)."""
    out = dict.fromkeys(sorted(set(names)), NEVER)
    if out:  # one row a node: every node's, the wanted kept (no IN list sqlite3 can bind)
        for name, *rest in run(CHANGE_KEYS, {}):
            if name in out:
                out[name] = tuple(rest)
    return out


def read_missing_tools(run: Run, node_id: int) -> dict[str, int]:
    """The node's verify tools found missing -> since when (epoch seconds)."""
    return {str(tool): int(since) for tool, since in run(MISSING_TOOLS, {"node": node_id})}


def _verification(sha256: str | None, gzip_ok: Any, gzip_error: str | None,
                  checked_at: int) -> Verification:
    # sqlite3 gives a BOOLEAN column back as 0 or 1
    return Verification(sha256, None if gzip_ok is None else bool(gzip_ok), gzip_error,
                        checked_at)


def read_last_notification(run: Run, hub: str) -> tuple[str, str, float] | None:
    found = list(run(LAST_NOTIFICATION, {"hub": hub}))  # one row a hub at most
    return (found[0][0], found[0][1], found[0][2]) if found else None

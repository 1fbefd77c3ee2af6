"""The reads that judge a node, as SQL text that sqlite3 and SQLAlchemy both run.

Each read is written once, with ``:named`` parameters: :class:`~.db.Store` runs
it through SQLAlchemy's ``text()`` (SQLite and PostgreSQL), :class:`~.lite.LiteStore`
through the standard library's sqlite3, so ``status`` on SQLite needs no
SQLAlchemy (docs/operations.rst, "Large stores"). A read gets a :data:`Run`: SQL
text and parameters in, rows out.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from .records import (
    WINDOW_ONLY,
    BackupFile,
    LookBack,
    NodeData,
    RunInfo,
    SeriesData,
    Verification,
)

Run = Callable[[str, Mapping[str, Any]], Iterable[Sequence[Any]]]

#: A recent read bounds each series by one of two windows of newest backup times: the
#: short one where the series keeps at most that many present files (the usual node,
#: whose retention keeps the newest ones: what it keeps is about all the checks look at),
#: else the long one. Either way the read is checked against the checks' own look back
#: (:class:`~.records.LookBack`) and a series it does not cover is read whole.
SHORT_BACKUPS = 32
RECENT_BACKUPS = 64
#: the newest present backup must be among this many newest backups, else its 7 before it
#: may fall outside the recent read: that series is read whole
NEWEST_WITHIN = 32
#: before every backup time: a series read whole is read from here on
_FLOOR = -(1 << 62)

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

#: Every series of a node with the backups the checks judge, newest ones only where that
#: is enough (:func:`read_node`): one statement a node, each series bounded by index seeks
#: along ix_backups_series_at, never a scan of its history.
#:
#: ``bounds``, per series: its newest present backup, the backup times that bound the
#: recent window (the SHORT_BACKUPS-th or RECENT_BACKUPS-th newest and the one after it,
#: the newest two before ``since``), and its count of present files at its last complete
#: listing. Grouped by the
#: series so that it is worked out once a series: SQLite would merge a plain subquery
#: into the join and seek the bounds again for every backup row.
#: ``judged``: a series is read whole when asked (``:whole``), when it is short, never
#: listed whole, or its newest present backup is old. ``cutoff`` (None: read whole):
#: the checks need the backups from there on; ``lower``: one backup time more is read.
#: Each backup comes with its content checks' results (NULLs: none that still hold): a
#: query of the node's verified files alone would walk its whole history.
BACKUPS = f"""
SELECT w.id, w.cutoff, w.listed, b.backup_at, b.size, b.gone_at, b.path, b.first_seen_at,
  {_CHECKED}
FROM (
  SELECT id, listed,
    CASE WHEN whole THEN NULL
      WHEN before_since < keep_at THEN before_since ELSE keep_at END AS cutoff,
    CASE WHEN whole THEN :floor
      WHEN before_since < keep_at THEN COALESCE(before_next, before_since)
      ELSE COALESCE(keep_next, keep_at) END AS lower
  FROM (
    SELECT bounds.*, (:whole = 1 OR keep_at IS NULL OR listed IS NULL
                      OR newest_present < within_at) AS whole
    FROM (
      SELECT s.id AS id, s.listed_count AS listed,
        (SELECT b.backup_at FROM backups b WHERE b.series_id = s.id AND b.gone_at IS NULL
          ORDER BY b.backup_at DESC LIMIT 1) AS newest_present,
        (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
          ORDER BY b.backup_at DESC LIMIT 1 OFFSET :within) AS within_at,
        CASE WHEN s.listed_count <= :short THEN
          (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
            ORDER BY b.backup_at DESC LIMIT 1 OFFSET :short)
        ELSE
          (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
            ORDER BY b.backup_at DESC LIMIT 1 OFFSET :keep) END AS keep_at,
        CASE WHEN s.listed_count <= :short THEN
          (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
            ORDER BY b.backup_at DESC LIMIT 1 OFFSET :short_next)
        ELSE
          (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
            ORDER BY b.backup_at DESC LIMIT 1 OFFSET :extra) END AS keep_next,
        (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
          AND b.backup_at < :since ORDER BY b.backup_at DESC LIMIT 1) AS before_since,
        (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
          AND b.backup_at < :since ORDER BY b.backup_at DESC LIMIT 1 OFFSET 1) AS before_next
      FROM series s WHERE s.node_id = :node GROUP BY s.id
    ) AS bounds
  ) AS judged
) AS w
JOIN backups b ON b.series_id = w.id AND b.backup_at >= w.lower
LEFT JOIN verifications v ON {_UNCHANGED}
ORDER BY w.id, b.backup_at, b.path
"""  # noqa: S608 - built of this module's constants, no input

#: one series whole: where the recent read's counts do not add up
SERIES_BACKUPS = f"""
SELECT b.backup_at, b.size, b.gone_at, b.path, b.first_seen_at, {_CHECKED}
FROM backups b LEFT JOIN verifications v ON {_UNCHANGED}
WHERE b.series_id = :series ORDER BY b.backup_at, b.path
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
              window_s: float | None, look_back: LookBack = WINDOW_ONLY) -> NodeData:
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
    good = [r for r in runs if r.ok]
    observed = (good[-1].finished_at or good[-1].started_at) if good else None
    # no good run yet: no gap is judged, so the window has no time bound
    since = int(observed - window_s) if window_s is not None and observed is not None \
        else None
    verified: dict[bytes, Verification] = {}
    _read_backups(run, node_id, series, verified, whole=window_s is None, since=since,
                  observed=observed, look_back=look_back)
    return NodeData(name=name, hub=hub or node_hub,
                    series=sorted(series.values(), key=lambda s: s.name), runs=runs,
                    verified=verified, verify_missing=read_missing_tools(run, node_id),
                    root=None if root is None else bytes(root))


def _read_backups(run: Run, node_id: int, series: dict[int, SeriesData],
                  verified: dict[bytes, Verification], *, whole: bool,
                  since: int | None, observed: float | None = None,
                  look_back: LookBack = WINDOW_ONLY) -> None:
    """Each series' backups from the lower bound :data:`BACKUPS` gives it on, and the
    content checks' results of the files read; a series the bounded read does not
    cover (:func:`_covers`) read again, whole."""
    params = {"node": node_id, "whole": int(whole), "floor": _FLOOR,
              "since": _FLOOR if since is None else since, "within": NEWEST_WITHIN,
              "short": SHORT_BACKUPS, "short_next": SHORT_BACKUPS + 1,
              "keep": RECENT_BACKUPS, "extra": RECENT_BACKUPS + 1}
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
        backups = series[sid].backups
        if not _covers(backups, cutoff, listed, observed, look_back):
            backups.clear()
            for at, size, gone_at, path, first_seen_at, *checked in run(
                    SERIES_BACKUPS, {"series": sid}):
                backups.append(BackupFile(at, size, gone_at, path, first_seen_at))
                if checked[3] is not None:
                    verified[bytes(path)] = _verification(*checked)


def _covers(backups: list[BackupFile], cutoff: int, listed: int, observed: float | None,
            look_back: LookBack) -> bool:
    """Whether a series' bounded read (every backup from one before ``cutoff`` on) holds
    all the checks judge of it: every present file (as many as its last complete listing
    counted, none older than the cutoff), and the look back in backup times."""
    present = [b.backup_at for b in backups if b.gone_at is None]
    if len(present) != listed or (present and present[0] < cutoff):
        return False  # present files older than the window, or a count that does not add up
    if observed is None:
        return True  # no good run: nothing is judged as of a listing
    times = sorted({b.backup_at for b in backups})
    if bisect_right(times, observed) < look_back.backups:
        return False  # future-dated or rerun backups pushed some of the usual interval's out
    limit = observed + look_back.future_s
    newest = max((at for at in present if at <= limit), default=None)
    return newest is None or bisect_left(times, newest) >= look_back.before_newest


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

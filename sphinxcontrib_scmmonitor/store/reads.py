"""The store's reads: what the differ compares with, and what the checks and the export judge."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select, text, union_all

from .engine import Database
from .records import (
    BackupFile,
    Known,
    NodeData,
    RunInfo,
    SeriesData,
    SeriesState,
)
from .tables import backups as backups_t
from .tables import nodes as nodes_t
from .tables import notifications as notifications_t
from .tables import runs as runs_t
from .tables import series as series_t
from .util import batches as _batches
from .verifications import missing_tools, verified_files

#: the checks' deepest look back in backups of one series (docs/concepts.rst): the median
#: of the 7 before the newest, the usual interval of the latest 28 intervals; the recent
#: read keeps twice that, so a few future-dated or rerun backups cannot push one out
RECENT_BACKUPS = 64
#: the newest present backup must be among this many newest backups, else its 7 before it
#: may fall outside the recent read: that series is read whole
NEWEST_WITHIN = 32

#: per series: its newest present backup, the backup times that bound the recent window
#: (the RECENT_BACKUPS-th newest and the one after it, the newest two before ``since``), and
#: the series' count of present files at its last complete listing. Each is an index seek
#: along ix_backups_series_at: no scan of the history.
_BOUNDS = text("""
SELECT s.id, s.listed_count,
  (SELECT b.backup_at FROM backups b WHERE b.series_id = s.id AND b.gone_at IS NULL
    ORDER BY b.backup_at DESC LIMIT 1) AS newest_present,
  (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
    ORDER BY b.backup_at DESC LIMIT 1 OFFSET :within) AS within_at,
  (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
    ORDER BY b.backup_at DESC LIMIT 1 OFFSET :keep) AS keep_at,
  (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
    ORDER BY b.backup_at DESC LIMIT 1 OFFSET :extra) AS keep_next,
  (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
    AND b.backup_at < :since ORDER BY b.backup_at DESC LIMIT 1) AS before_since,
  (SELECT DISTINCT b.backup_at FROM backups b WHERE b.series_id = s.id
    AND b.backup_at < :since ORDER BY b.backup_at DESC LIMIT 1 OFFSET 1) AS before_next
FROM series s WHERE s.node_id = :node
""")


class Reads(Database):
    """The read part of :class:`~.db.Store`."""

    def known(self, node_id: int, series_ids: Sequence[int] | None = None
              ) -> dict[bytes, Known]:
        """Every path the store holds for a node (gone ones too), or for some of its series."""
        cols = select(backups_t.c.path, backups_t.c.id, backups_t.c.size, backups_t.c.mtime,
                      backups_t.c.backup_at, backups_t.c.gone_at)
        out: dict[bytes, Known] = {}
        with self.read() as conn:
            if series_ids is None:
                queries = [cols.where(backups_t.c.node_id == node_id)]
            else:
                queries = [cols.where(backups_t.c.series_id.in_(batch))
                           for batch in _batches(sorted(series_ids), 500)]
            for query in queries:
                out.update((r[0], Known(r[1], r[2], r[3], r[4], r[5] is not None))
                           for r in conn.execute(query))
        return out

    def series_state(self, node_id: int) -> dict[bytes, SeriesState]:
        """A node's series with the count and digest of their files at the last listing."""
        with self.read() as conn:
            rows = conn.execute(select(series_t.c.raw_name, series_t.c.id,
                                       series_t.c.listed_count, series_t.c.listed_digest)
                                .where(series_t.c.node_id == node_id))
            return {bytes(r[0]): SeriesState(r[1], r[2], r[3]) for r in rows}

    def node_data(self, name: str, hub: str | None = None, *, runs_limit: int = 2000) -> NodeData:
        """A node's series with all their backups, and its recent runs (oldest first)."""
        return self._node_data(name, hub, runs_limit, None)

    def recent_node_data(self, name: str, hub: str | None = None, *, window_s: float,
                         runs_limit: int = 2000) -> NodeData:
        """What the checks judge of a node, read in time independent of its history's length.

        Every present backup, and of the gone ones only those within ``window_s`` before
        the node's ``observed_at`` (the end of its latest good run) or among the
        series' newest backups (RECENT_BACKUPS), plus one older backup where more exist
        (so "some have left the node" is still known). The shape is :meth:`node_data`'s;
        the checks' findings are the same (tests/test_recent_read.py). A series whose
        present files are not all recent (its listed count says so) is read whole.
        """
        return self._node_data(name, hub, runs_limit, window_s)

    def _node_data(self, name: str, hub: str | None, runs_limit: int,
                   window_s: float | None) -> NodeData:
        with self.read() as conn:
            node = conn.execute(select(nodes_t.c.id, nodes_t.c.hub)
                                .where(nodes_t.c.name == name)).first()
            if node is None or (hub is not None and node.hub != hub):
                # another hub's node of that name is not this one (see ensure_node)
                return NodeData(name=name, hub=hub or "", series=[], runs=[])
            run_rows = conn.execute(
                select(runs_t.c.started_at, runs_t.c.finished_at, runs_t.c.state,
                       runs_t.c.error, runs_t.c.method, runs_t.c.files_seen,
                       runs_t.c.unparsed, runs_t.c.unparsed_sample)
                .where(runs_t.c.node_id == node.id)
                .order_by(runs_t.c.started_at.desc()).limit(runs_limit)).all()
            runs = [RunInfo(*r) for r in reversed(run_rows)]
            series: dict[int, SeriesData] = {}
            for sid, raw, sname in conn.execute(
                    select(series_t.c.id, series_t.c.raw_name, series_t.c.name)
                    .where(series_t.c.node_id == node.id)):
                series[sid] = SeriesData(name=sname, raw_name=bytes(raw), backups=[])
            if window_s is None:
                _read_whole(conn, series, sorted(series))
            else:
                good = [r for r in runs if r.ok]
                observed = (good[-1].finished_at or good[-1].started_at) if good else None
                since = int(observed - window_s) if observed is not None else None
                _read_recent(conn, node.id, series, since)
            verified = verified_files(conn, node.id)
            missing = missing_tools(conn, node.id)
        return NodeData(name=name, hub=hub or node.hub,
                        series=sorted(series.values(), key=lambda s: s.name), runs=runs,
                        verified=verified, verify_missing=missing)

    def last_notification(self, hub: str) -> tuple[str, str, float] | None:
        with self.read() as conn:
            row = conn.execute(select(notifications_t.c.status, notifications_t.c.fingerprint,
                                      notifications_t.c.sent_at)
                               .where(notifications_t.c.hub == hub)).first()
            return None if row is None else (row[0], row[1], row[2])


_COLUMNS = (backups_t.c.series_id, backups_t.c.backup_at, backups_t.c.size, backups_t.c.gone_at,
            backups_t.c.path, backups_t.c.first_seen_at)


def _append(series: dict[int, SeriesData], rows: object) -> None:
    for sid, at, size, gone_at, path, first_seen_at in rows:  # type: ignore[attr-defined]
        series[sid].backups.append(BackupFile(at, size, gone_at, path, first_seen_at))


def _read_whole(conn: Connection, series: dict[int, SeriesData], ids: Sequence[int]) -> None:
    # by series id, not node id: SQLite then reads ix_backups_series_at in order
    # instead of sorting the node's rows in a temporary B-tree (~25% of the read)
    for batch in _batches(ids, 500):
        _append(series, conn.execute(
            select(*_COLUMNS).where(backups_t.c.series_id.in_(batch))
            .order_by(backups_t.c.series_id, backups_t.c.backup_at, backups_t.c.path)))


def _read_recent(conn: Connection, node_id: int, series: dict[int, SeriesData],
                 since: int | None) -> None:
    """Each series from its lower bound on (see :meth:`Reads.recent_node_data`)."""
    # no good run yet: no gap is judged, so the window has no time bound
    cut_since = since if since is not None else -(1 << 62)
    lower: dict[int, int] = {}   # series id -> read backups at or after this
    cutoff: dict[int, int] = {}  # series id -> the checks need backups from here on
    listed: dict[int, int | None] = {}
    whole: list[int] = []
    for sid, count, newest, within_at, keep_at, keep_next, before_since, before_next in \
            conn.execute(_BOUNDS, {"node": node_id, "within": NEWEST_WITHIN,
                                   "keep": RECENT_BACKUPS, "extra": RECENT_BACKUPS + 1,
                                   "since": cut_since}):
        if keep_at is None or count is None or (
                newest is not None and within_at is not None and newest < within_at):
            whole.append(sid)  # short, never listed whole, or its newest present is old
            continue
        at, below = keep_at, keep_next
        if before_since is not None and before_since < at:
            at, below = before_since, before_next
        cutoff[sid], listed[sid] = at, count
        lower[sid] = below if below is not None else at
    ids = sorted(lower)
    for batch in _batches(ids, 200):  # SQLite allows 500 terms in one compound select
        parts = [select(*_COLUMNS).where(backups_t.c.series_id == sid,
                                         backups_t.c.backup_at >= lower[sid])
                 for sid in batch]
        query = parts[0] if len(parts) == 1 else union_all(*parts)
        _append(series, conn.execute(query.order_by("series_id", "backup_at", "path")))
    for sid in ids:
        backups = series[sid].backups
        present = sum(1 for b in backups if b.gone_at is None and b.backup_at >= cutoff[sid])
        if present != listed[sid] or any(b.gone_at is None for b in backups
                                         if b.backup_at < cutoff[sid]):
            # present files older than the window (or a count that does not add up)
            backups.clear()
            whole.append(sid)
    _read_whole(conn, series, sorted(whole))

"""The store's reads: what the differ compares with, and what the checks and the export judge."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

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
from .verifications import verified_files


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
        with self.read() as conn:
            node = conn.execute(select(nodes_t.c.id, nodes_t.c.hub)
                                .where(nodes_t.c.name == name)).first()
            if node is None or (hub is not None and node.hub != hub):
                # another hub's node of that name is not this one (see ensure_node)
                return NodeData(name=name, hub=hub or "", series=[], runs=[])
            series: dict[int, SeriesData] = {}
            for sid, raw, sname in conn.execute(
                    select(series_t.c.id, series_t.c.raw_name, series_t.c.name)
                    .where(series_t.c.node_id == node.id)):
                series[sid] = SeriesData(name=sname, raw_name=bytes(raw), backups=[])
            # by series id, not node id: SQLite then reads ix_backups_series_at in order
            # instead of sorting the node's rows in a temporary B-tree (~25% of the read)
            for batch in _batches(sorted(series), 500):
                rows = conn.execute(
                    select(backups_t.c.series_id, backups_t.c.backup_at, backups_t.c.size,
                           backups_t.c.gone_at, backups_t.c.path, backups_t.c.first_seen_at)
                    .where(backups_t.c.series_id.in_(batch))
                    .order_by(backups_t.c.series_id, backups_t.c.backup_at, backups_t.c.path))
                for sid, at, size, gone_at, path, first_seen_at in rows:
                    series[sid].backups.append(BackupFile(at, size, gone_at, path,
                                                          first_seen_at))
            run_rows = conn.execute(
                select(runs_t.c.started_at, runs_t.c.finished_at, runs_t.c.state,
                       runs_t.c.error, runs_t.c.method, runs_t.c.files_seen,
                       runs_t.c.unparsed, runs_t.c.unparsed_sample)
                .where(runs_t.c.node_id == node.id)
                .order_by(runs_t.c.started_at.desc()).limit(runs_limit)).all()
            verified = verified_files(conn, node.id)
        runs = [RunInfo(*r) for r in reversed(run_rows)]
        return NodeData(name=name, hub=hub or node.hub,
                        series=sorted(series.values(), key=lambda s: s.name), runs=runs,
                        verified=verified)

    def last_notification(self, hub: str) -> tuple[str, str, float] | None:
        with self.read() as conn:
            row = conn.execute(select(notifications_t.c.status, notifications_t.c.fingerprint,
                                      notifications_t.c.sent_at)
                               .where(notifications_t.c.hub == hub)).first()
            return None if row is None else (row[0], row[1], row[2])

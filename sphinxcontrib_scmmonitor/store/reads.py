"""The store's reads: what the differ compares with, and what the checks and the export judge."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import Connection, select

from . import queries
from .engine import Database, runner
from .records import WINDOW_ONLY, Known, LookBack, NodeData, SeriesState
from .tables import backups as backups_t
from .tables import series as series_t
from .util import batches as _batches


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
                selects = [cols.where(backups_t.c.node_id == node_id)]
            else:
                selects = [cols.where(backups_t.c.series_id.in_(batch))
                           for batch in _batches(sorted(series_ids), 500)]
            for query in selects:
                out.update((r[0], Known(r[1], r[2], r[3], r[4], r[5] is not None))
                           for r in conn.execute(query))
        return out

    def series_state(self, node_id: int) -> dict[bytes, SeriesState]:
        """A node's series with the count and digest of their files at the last listing.

        Right after :meth:`~.writes.Writes.begin_run` of the node it is what that run's
        transaction read (no transaction more: on PostgreSQL each is a few round trips):
        from then on the run's lease keeps every other writer off the node's series.
        """
        begun = self.begun_states.pop(node_id, None)
        if begun is not None:
            return begun
        with self.read() as conn:
            return read_series_state(conn, node_id)

    def node_data(self, name: str, hub: str | None = None, *, runs_limit: int = 2000) -> NodeData:
        """A node's series with all their backups, and its recent runs (oldest first)."""
        return self._node_data(name, hub, runs_limit, None)

    def recent_node_data(self, name: str, hub: str | None = None, *, window_s: float,
                         look_back: LookBack = WINDOW_ONLY,
                         runs_limit: int = 2000) -> NodeData:
        """What the checks judge of a node, read in time independent of its history's length.

        Every present backup, and of the gone ones only those within ``window_s`` before
        the node's ``observed_at`` (the end of its latest good run) or among the series'
        newest backups (``queries.SHORT_BACKUPS`` of a series keeping no more files than
        that, else ``queries.RECENT_BACKUPS``), plus one older backup where more exist
        (so "some have left the node" is still known). The shape is :meth:`node_data`'s;
        the checks' findings are the same (tests/test_recent_read.py). A series whose
        present files are not all recent (its listed count says so), or whose read holds
        less than ``look_back`` asks, is read whole. ``verified`` holds the content checks'
        results of the files read (every present one among them). One statement a node
        reads it all (``queries.BACKUPS``).
        """
        return self._node_data(name, hub, runs_limit, window_s, look_back)

    def _node_data(self, name: str, hub: str | None, runs_limit: int,
                   window_s: float | None, look_back: LookBack = WINDOW_ONLY) -> NodeData:
        with self.read() as conn:
            return queries.read_node(runner(conn), name, hub, runs_limit=runs_limit,
                                     window_s=window_s, look_back=look_back)

    def last_notification(self, hub: str) -> tuple[str, str, float] | None:
        with self.read() as conn:
            return queries.read_last_notification(runner(conn), hub)

    def change_keys(self, names: Iterable[str]) -> dict[str, tuple[object, ...]]:
        """Node name -> a key that differs whenever the node's stored data may differ
        (``queries.CHANGE_KEYS``), for all ``names`` in one query."""
        with self.read() as conn:
            return queries.read_change_keys(runner(conn), names)


def read_series_state(conn: Connection, node_id: int) -> dict[bytes, SeriesState]:
    rows = conn.execute(select(series_t.c.raw_name, series_t.c.id, series_t.c.listed_count,
                               series_t.c.listed_digest).where(series_t.c.node_id == node_id))
    return {bytes(r[0]): SeriesState(r[1], r[2], r[3]) for r in rows}

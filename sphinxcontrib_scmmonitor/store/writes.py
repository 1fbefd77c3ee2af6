"""The store's writes: nodes, hub renames, runs with their listing's changes, alert state."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import (
    BigInteger,
    Connection,
    Float,
    Integer,
    LargeBinary,
    Table,
    bindparam,
    delete,
    insert,
    select,
    update,
)
from sqlalchemy.types import TypeEngine

from .engine import Database
from .leases import claim, forget, give_back
from .reads import read_series_state
from .records import Changes, NodeOwnerError
from .tables import backups as backups_t
from .tables import nodes as nodes_t
from .tables import notifications as notifications_t
from .tables import runs as runs_t
from .tables import series as series_t
from .util import batches as _batches


class Writes(Database):
    """The write part of :class:`~.db.Store`."""

    def ensure_node(self, name: str, hub: str) -> int:
        """The node's id, made on its first collection.

        A node of another hub by the same name is refused, not taken over: two
        hubs sharing one database would otherwise write one node's history in
        turns and mark each other's backups gone.
        """
        with self.write() as conn:
            return _node_id(conn, name, hub, self.safe_url)

    def begin_run(self, name: str, hub: str, *, ttl: float, started_at: float,
                  root: bytes | None = None) -> RunStart:
        """What a collection does before listing, in one transaction: make the node on its
        first collection (:meth:`ensure_node`), take its lease for ``ttl`` seconds
        (:meth:`~.leases.Leases.take_lease`) and record the run as ``running``
        (:meth:`start_run`).

        One transaction instead of three: each is a round trip or more to a PostgreSQL
        server (docs/operations.rst, "One collector per node"); it also reads the node's
        series state, which the run's differ asks for next (:meth:`~.reads.Reads.series_state`).
        Raises :class:`NodeBusyError` (nothing written) while another collector holds the
        lease, :class:`NodeOwnerError` for another hub's node of that name.

        With ``root`` (the prefix the listing's paths will have, :func:`.records.root_prefix`),
        stored paths under another prefix are moved to it under the lease, before the
        listing is compared: a node whose ``root`` was changed keeps its history
        (docs/configuration.rst, ``root``).
        """
        with self.write() as conn:
            node_id = _node_id(conn, name, hub, self.safe_url, lock=True)
            token = claim(conn, node_id, name, ttl=ttl, now=time.time())
            moved = _move_root(conn, node_id, root) if root is not None else None
            run_id = _start_run(conn, node_id, started_at)
            state = read_series_state(conn, node_id)
        self.begun_states[node_id] = state
        return RunStart(node_id, run_id, token, moved)

    def rename_hub(self, old: str, new: str) -> int:
        """Move every node of hub ``old`` (and its alert state) to ``new``; how many nodes."""
        with self.write() as conn:
            moved = conn.execute(update(nodes_t).where(nodes_t.c.hub == old)
                                 .values(hub=new)).rowcount or 0
            if moved:
                # the new name's own alert state, if any, is the newer one
                new_state = conn.execute(select(notifications_t.c.hub)
                                         .where(notifications_t.c.hub == new)).first()
                if new_state is None:
                    conn.execute(update(notifications_t).where(notifications_t.c.hub == old)
                                 .values(hub=new))
                else:
                    conn.execute(delete(notifications_t).where(notifications_t.c.hub == old))
            return int(moved)

    def start_run(self, node_id: int, started_at: float) -> int:
        """Record a run as ``running``; any earlier run still ``running`` was killed."""
        with self.write() as conn:
            return _start_run(conn, node_id, started_at)

    def finish_run(self, node_id: int, run_id: int, *, changes: Changes | None, complete: bool,
                   ok: bool, error: str | None, method: str | None, files_seen: int,
                   unparsed: int, unparsed_sample: str | None, now: float,
                   series_names: dict[bytes, str] | None = None,
                   lease: str | None = None) -> None:
        """Apply a listing's changes and close the run, in one transaction.

        With ``lease`` (the token of :meth:`begin_run`) the node's lease is given back in
        the same transaction: the collection is over when nothing more runs under it.

        With ``complete`` false (a partial or failed listing) nothing is marked gone:
        a file we could not see is not a file that left the node. Rows the listing
        found unchanged are not written at all (the run's own row says when they
        were seen), so the work is O(changes).
        """
        now_s = int(now)
        self.begun_states.pop(node_id, None)  # unused if the listing never began
        if lease is not None:
            forget(lease)
        with self.write() as conn:
            if changes:
                self._apply(conn, node_id, changes, now_s, complete, series_names or {})
            conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(
                finished_at=now, state="ok" if ok else "failed", error=error, method=method,
                files_seen=files_seen, unparsed=unparsed, unparsed_sample=unparsed_sample,
                added=len(changes.added) if changes else 0,
                changed=len(changes.changed) + len(changes.returned) if changes else 0,
                gone=len(changes.gone) if changes and complete else 0))
            if lease is not None:
                give_back(conn, node_id, lease)

    def _apply(self, conn: Connection, node_id: int, changes: Changes, now: int,
               complete: bool, series_names: dict[bytes, str]) -> None:
        series_ids = {bytes(r[0]): r[1] for r in conn.execute(
            select(series_t.c.raw_name, series_t.c.id).where(series_t.c.node_id == node_id))}
        needed = {rec.series for rec in changes.added} | {rec.series for _, rec in
                                                          changes.changed}
        digests = changes.digests
        new_series = sorted(needed - series_ids.keys())
        if new_series:
            # one INSERT of many VALUES rows (SQLAlchemy's "insertmanyvalues"), not one
            # round trip per series; RETURNING pairs each id with its name whatever the order
            rows = []
            for raw in new_series:
                count, digest = digests.get(raw) or (None, None)
                rows.append({"node_id": node_id, "raw_name": raw, "listed_count": count,
                             "listed_digest": digest,
                             "name": (series_names.get(raw)
                                      or raw.decode("utf-8", "backslashreplace"))})
            series_ids.update((bytes(r[0]), r[1]) for r in conn.execute(
                insert(series_t).returning(series_t.c.raw_name, series_t.c.id), rows))
        known_digests = [{"s_id": series_ids[raw], "s_count": d[0] if d else None,
                          "s_digest": d[1] if d else None}
                         for raw, d in digests.items()
                         if raw in series_ids and raw not in new_series]
        if known_digests:
            conn.execute(update(series_t).where(series_t.c.id == bindparam("s_id"))
                         .values(listed_count=bindparam("s_count"),
                                 listed_digest=bindparam("s_digest")), known_digests)
        if changes.added:
            for added in _batches(changes.added):
                _insert_rows(conn, backups_t, _BACKUP_COLUMNS, [
                    (node_id, series_ids[r.series], r.path, r.backup_at, r.size, r.mtime,
                     now, now) for r in added])
        if changes.changed:
            stmt = (update(backups_t).where(backups_t.c.id == bindparam("b_id"))
                    .values(size=bindparam("b_size"), mtime=bindparam("b_mtime"),
                            backup_at=bindparam("b_at"), series_id=bindparam("b_series"),
                            gone_at=None, last_seen_at=now))
            for changed in _batches(changes.changed):
                conn.execute(stmt, [{"b_id": i, "b_size": r.size, "b_mtime": r.mtime,
                                     "b_at": r.backup_at, "b_series": series_ids[r.series]}
                                    for i, r in changed])
        if changes.returned:
            for ids in _batches(changes.returned):
                conn.execute(update(backups_t).where(backups_t.c.id.in_(ids))
                             .values(gone_at=None, last_seen_at=now))
        if complete and changes.gone:
            for ids in _batches(changes.gone):
                conn.execute(update(backups_t).where(backups_t.c.id.in_(ids))
                             .values(gone_at=now))

    def record_notification(self, hub: str, status: str, fingerprint: str, sent_at: float) -> None:
        with self.write() as conn:
            done = conn.execute(update(notifications_t).where(notifications_t.c.hub == hub)
                                .values(status=status, fingerprint=fingerprint, sent_at=sent_at))
            if done.rowcount == 0:
                conn.execute(insert(notifications_t).values(
                    hub=hub, status=status, fingerprint=fingerprint, sent_at=sent_at))


class RunStart(NamedTuple):
    """A run begun under its lease (:meth:`Writes.begin_run`)."""

    node_id: int
    run_id: int
    #: the lease's token, to give it back (:meth:`Writes.finish_run`)
    lease: str
    #: the stored paths moved to a new root by this run, if its root changed
    moved: RootMove | None = None


class RootMove(NamedTuple):
    """Stored paths moved from one root prefix to another (:meth:`Writes.begin_run`)."""

    old: bytes
    new: bytes
    #: rows whose path was rewritten
    moved: int
    #: rows left under the old prefix, because a row of the new path was already stored
    #: (they are marked gone by the listing like any file not found)
    kept: int


def _move_root(conn: Connection, node_id: int, root: bytes) -> RootMove | None:
    """Move the node's stored paths from the root it was last listed under to ``root``."""
    stored = conn.execute(select(nodes_t.c.root).where(nodes_t.c.id == node_id)).scalar()
    if stored is not None and bytes(stored) == root:
        return None
    conn.execute(update(nodes_t).where(nodes_t.c.id == node_id).values(root=root))
    if stored is None:  # first listing since the store learnt roots: nothing to move from
        return None
    old = bytes(stored)
    rows = [(r[0], bytes(r[1])) for r in conn.execute(
        select(backups_t.c.id, backups_t.c.path).where(backups_t.c.node_id == node_id))]
    taken = {path for _, path in rows}
    moves: list[dict[str, Any]] = []
    kept = 0
    for row_id, path in rows:
        if not path.startswith(old):
            continue
        new_path = root + path[len(old):]
        if new_path in taken:
            kept += 1
            continue
        moves.append({"b_id": row_id, "b_path": new_path})
    # no new path is any stored row's path (``taken``), so row-by-row updates never meet
    # the (node_id, path) unique constraint halfway
    stmt = update(backups_t).where(backups_t.c.id == bindparam("b_id")).values(
        path=bindparam("b_path"))
    for batch in _batches(moves):
        conn.execute(stmt, batch)
    return RootMove(old, root, len(moves), kept)


def _node_id(conn: Connection, name: str, hub: str, url: str, *, lock: bool = False) -> int:
    """The node's id, inserted on its first collection; with ``lock``, its row stays
    locked to this transaction (``FOR UPDATE`` on PostgreSQL), as taking a lease needs."""
    query = select(nodes_t.c.id, nodes_t.c.hub).where(nodes_t.c.name == name)
    row = conn.execute(query.with_for_update() if lock else query).first()
    if row is None:  # a row this transaction inserted is its own until it commits
        return int(conn.execute(insert(nodes_t).values(name=name, hub=hub)
                                .returning(nodes_t.c.id)).scalar_one())
    if row.hub != hub:
        raise NodeOwnerError(name, row.hub, hub, url)
    return int(row.id)


def _start_run(conn: Connection, node_id: int, started_at: float) -> int:
    """Insert a ``running`` run; one still ``running`` from before was killed."""
    conn.execute(update(runs_t)
                 .where(runs_t.c.node_id == node_id, runs_t.c.state == "running")
                 .values(state="interrupted",
                         error="the collector stopped before finishing this run"))
    return int(conn.execute(
        insert(runs_t).values(node_id=node_id, started_at=started_at, state="running",
                              files_seen=0, unparsed=0, added=0, changed=0, gone=0)
        .returning(runs_t.c.id)).scalar_one())


_BACKUP_COLUMNS = ("node_id", "series_id", "path", "backup_at", "size", "mtime",
                   "first_seen_at", "last_seen_at")


def _insert_rows(conn: Connection, table: Table, columns: Sequence[str],
                 rows: list[tuple[Any, ...]]) -> None:
    """INSERT many rows given as plain tuples in ``columns`` order.

    Core's executemany with one dict per row spends ~7 µs a row turning each dict
    into the driver's positional tuple and running per-value bind processors:
    more than SQLite's own insert costs (profiled ingesting 1M rows, see
    BENCHMARKS.md row 3). Where the driver takes positional parameters (sqlite3),
    the Core statement is compiled once for the dialect and the tuples go straight
    to the driver's executemany. On PostgreSQL with psycopg the rows go by
    ``COPY ... FROM STDIN`` on the transaction's own connection: one round trip
    per batch instead of one statement per row (20,000 new files: 3.3 s by
    executemany, 0.5 s by COPY, SQLite 0.45 s on the same machine), in binary
    (2,000 rows: 13 % less than in text, BENCHMARKS.md row 13).
    """
    if conn.dialect.name == "postgresql" and conn.dialect.driver == "psycopg":
        raw = conn.connection.driver_connection
        assert raw is not None
        # names are this module's own constants, never input; binary: the server takes
        # each value as it is stored instead of parsing its text (paths as hex, floats)
        sql = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN (FORMAT BINARY)"
        with raw.cursor() as cur, cur.copy(sql) as copy:
            copy.set_types([_pg_type(table.c[name].type) for name in columns])
            for row in rows:
                copy.write_row(row)
        return
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    if compiled.positional and tuple(compiled.positiontup or ()) == tuple(columns):
        conn.exec_driver_sql(compiled.string, rows)
    else:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _pg_type(kind: TypeEngine[Any]) -> str:
    """PostgreSQL's name of a column's type, as binary COPY must be told it."""
    for sa_type, name in ((BigInteger, "int8"), (Integer, "int4"), (Float, "float8"),
                          (LargeBinary, "bytea")):
        if isinstance(kind, sa_type):
            return name
    raise TypeError(f"no binary COPY type for {kind!r}")

"""The store: engine set-up, schema upgrades, and the few reads and writes the pipeline needs.

Only this package knows SQL. Writers hand in plain records and get plain
dataclasses back. On SQLite the file runs in WAL mode with a busy timeout so
a docs build can read while a collection writes, and every write transaction
starts with ``BEGIN IMMEDIATE`` so two writers queue instead of failing.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import struct
import threading
import time
import zlib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    bindparam,
    create_engine,
    delete,
    event,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError

from .models import Backup, Node, Notification, Run, Series

#: How long a write waits for another writer's lock on SQLite before giving up (seconds);
#: ``Store(busy_timeout=...)`` overrides it per store.
BUSY_TIMEOUT_S = 30.0
#: alembic's ``context`` is one process-wide proxy: two threads migrating at once (two
#: stores, e.g. a collector and a docs build in one process) trample each other's state
_ALEMBIC_LOCK = threading.Lock()
#: pg_advisory_xact_lock key ("scmm") taken while migrating a PostgreSQL schema, so the
#: collectors of several hubs starting on a new shared database create it once
_PG_SCHEMA_LOCK = 0x73636D6D
_BATCH = 5000

backups_t = Backup.__table__
series_t = Series.__table__
runs_t = Run.__table__
nodes_t = Node.__table__
notifications_t = Notification.__table__


class StoreError(Exception):
    """The store cannot be used as asked (bad URL, locked too long, schema too old)."""


class NodeOwnerError(StoreError):
    """The node's name belongs to another hub in this database."""

    def __init__(self, node: str, owner: str, hub: str, url: str) -> None:
        super().__init__(
            f"node {node} is stored in {url} as a node of hub {owner!r}, but this "
            f"configuration puts it under hub {hub!r}; nothing was collected for it. "
            "Node names are unique in one database: if two hubs share it, give one of "
            f"the nodes another name; if hub {owner!r} was renamed to {hub!r}, run once: "
            f"scm-monitor db rename-hub {shlex.quote(owner)} {shlex.quote(hub)}")


# --- plain data in and out ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Record:
    """One backup file as listed on a node (what the collector hands to the store)."""

    path: bytes
    series: bytes
    backup_at: int
    size: int
    mtime: float


@dataclass(slots=True)
class Known:
    """What the store already holds for one path of a node."""

    id: int
    size: int
    mtime: float
    backup_at: int
    gone: bool


@dataclass(slots=True)
class Changes:
    """The difference between a listing and the store, computed before any write."""

    added: list[Record] = field(default_factory=list)
    changed: list[tuple[int, Record]] = field(default_factory=list)
    returned: list[int] = field(default_factory=list)
    gone: list[int] = field(default_factory=list)
    #: series raw name -> (count, digest) of its listed files to remember, or None to forget
    digests: dict[bytes, tuple[int, int] | None] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.returned or self.gone or self.digests)


@dataclass(frozen=True, slots=True)
class SeriesState:
    """A stored series and the count and digest of its present files (None: unknown)."""

    id: int
    count: int | None
    digest: int | None


@dataclass(frozen=True, slots=True)
class RunInfo:
    """One collection run, as read back."""

    started_at: float
    finished_at: float | None
    state: str
    error: str | None
    method: str | None
    files_seen: int
    unparsed: int
    unparsed_sample: str | None = None

    @property
    def ok(self) -> bool:
        return self.state == "ok"


@dataclass(slots=True)
class SeriesData:
    """All backups ever seen of one series: ``(backup_at, size, gone_at)`` ascending in time."""

    name: str
    raw_name: bytes
    backups: list[tuple[int, int, int | None]]

    def totals(self, *, present_only: bool = False) -> list[tuple[int, int]]:
        """Sizes summed per backup time (several files in one dated folder are one backup)."""
        # one tuple per backup time, not per file; called per series by every check and
        # export, so the loop is kept tight (BENCHMARKS.md row 5)
        out: list[tuple[int, int]] = []
        append = out.append
        last: int | None = None
        total = 0
        for at, size, gone_at in self.backups:
            if present_only and gone_at is not None:
                continue
            if at == last:
                total += size
                continue
            if last is not None:
                append((last, total))
            last, total = at, size
        if last is not None:
            append((last, total))
        return out


@dataclass(slots=True)
class NodeData:
    """Everything the checks and the export need about one node."""

    name: str
    hub: str
    series: list[SeriesData]
    runs: list[RunInfo]


# --- the store -----------------------------------------------------------------------------------


class Store:
    """One database, opened from a SQLAlchemy URL."""

    def __init__(self, url: str, *, echo: bool = False, create: bool = True,
                 busy_timeout: float | None = None) -> None:
        self.busy_timeout = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"database URL {url!r} is not valid: {exc}") from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        # reentrant: a write opened inside another write of the same thread must not hang here
        self._write_lock: contextlib.AbstractContextManager[Any] = \
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                if not create:
                    try:
                        os.stat(db)
                    except FileNotFoundError:
                        raise StoreError(f"database file {db} does not exist yet: run `scm-monitor "
                                         "collect` (or `scm-monitor db upgrade`) first") from None
                    except OSError as exc:
                        raise StoreError(f"cannot open database file {db}: "
                                         f"{exc.strerror or exc}") from None
                try:
                    _precreate(Path(db))
                except OSError as exc:
                    raise StoreError(f"cannot create database file {db}: "
                                     f"{exc.strerror or exc}") from None
            kwargs["connect_args"] = {"timeout": self.busy_timeout,
                                      "check_same_thread": False}
        else:
            kwargs["pool_pre_ping"] = True
        try:
            self.engine: Engine = create_engine(url, **kwargs)
        except (ArgumentError, ImportError) as exc:
            raise StoreError(f"cannot open database {parsed!r}: {exc}") from None
        if self.is_sqlite:
            _sqlite_setup(self.engine, self.busy_timeout)

    def close(self) -> None:
        self.engine.dispose()

    # --- transactions

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction (``BEGIN IMMEDIATE`` on SQLite).

        On SQLite, threads of this process (collect_all's workers) queue on a lock
        here first: a writer blocked inside SQLite polls with sleeps of up to 100 ms
        (its busy handler) and wakes late. 16 nodes of 2,000 files finishing at once,
        store work only: 0.50 s without this lock, 0.32 s with it. Other processes
        still meet the busy timeout.
        """
        with self._write_lock, self.engine.connect() as conn:
            conn = conn.execution_options(scm_write=True)
            try:
                with conn.begin():
                    yield conn
            except OperationalError as exc:
                raise StoreError(_locked_message(exc, self.url, self.busy_timeout)) from exc

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with self.engine.connect() as conn:
            try:
                with conn.begin():
                    yield conn
            except OperationalError as exc:
                raise StoreError(_locked_message(exc, self.url, self.busy_timeout)) from exc

    # --- schema

    def _alembic_config(self, conn: Connection | None):  # type: ignore[no-untyped-def]
        from alembic.config import Config

        cfg = Config()
        location = resources.files("sphinxcontrib_scmmonitor.store") / "migrations"
        cfg.set_main_option("script_location", str(location))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["connection"] = conn
        return cfg

    def revisions(self) -> tuple[str | None, str]:
        """(current revision of the database, newest revision shipped)."""
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        with self.engine.connect() as conn:
            current = MigrationContext.configure(conn).get_current_revision()
            head = ScriptDirectory.from_config(self._alembic_config(conn)).get_current_head()
        assert head is not None
        return current, head

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; returns (before, after).

        Safe to run by several processes at once: the current revision is read again
        inside the write transaction that migrates, after taking a lock (SQLite's
        ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), so the first creates or
        upgrades the schema and the others find it done instead of failing halfway.
        """
        from alembic import command
        from alembic.runtime.migration import MigrationContext
        from alembic.script import ScriptDirectory

        try:
            head = ScriptDirectory.from_config(self._alembic_config(None)).get_current_head()
            assert head is not None
            with _ALEMBIC_LOCK, self.write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_SCHEMA_LOCK})
                before = MigrationContext.configure(conn).get_current_revision()
                if before != head:
                    command.upgrade(self._alembic_config(conn), "head")
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot upgrade {self.safe_url}: {exc}") from exc
        return before, head

    def ensure_schema(self, *, create: bool = True) -> None:
        """Create the schema in an empty database; refuse to use an old one."""
        try:
            current, head = self.revisions()
        except SQLAlchemyError as exc:
            raise StoreError(f"cannot open database {self.safe_url}: {exc}") from exc
        if current == head:
            return
        if current is None and create:
            self.upgrade()
            return
        if current is None:
            raise StoreError(f"database {self.safe_url} has no schema yet: run "
                             "`scm-monitor collect` (or `scm-monitor db upgrade`) first")
        raise StoreError(f"database {self.safe_url} has schema {current}, this version needs "
                         f"{head}: run `scm-monitor db upgrade` first")

    @property
    def safe_url(self) -> str:
        """The URL without its password, fit for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    # --- collection: writes

    def ensure_node(self, name: str, hub: str) -> int:
        """The node's id, made on its first collection.

        A node of another hub by the same name is refused, not taken over: two
        hubs sharing one database would otherwise write one node's history in
        turns and mark each other's backups gone.
        """
        with self.write() as conn:
            row = conn.execute(select(nodes_t.c.id, nodes_t.c.hub)
                               .where(nodes_t.c.name == name)).first()
            if row is None:
                return int(conn.execute(insert(nodes_t).values(name=name, hub=hub)
                                        .returning(nodes_t.c.id)).scalar_one())
            if row.hub != hub:
                raise NodeOwnerError(name, row.hub, hub, self.safe_url)
            return int(row.id)

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
            conn.execute(update(runs_t)
                         .where(runs_t.c.node_id == node_id, runs_t.c.state == "running")
                         .values(state="interrupted",
                                 error="the collector stopped before finishing this run"))
            return int(conn.execute(
                insert(runs_t).values(node_id=node_id, started_at=started_at, state="running",
                                      files_seen=0, unparsed=0, added=0, changed=0, gone=0)
                .returning(runs_t.c.id)).scalar_one())

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

    def known_series(self, node_id: int) -> dict[bytes, int]:
        with self.read() as conn:
            rows = conn.execute(select(series_t.c.raw_name, series_t.c.id)
                                .where(series_t.c.node_id == node_id))
            return {bytes(r[0]): r[1] for r in rows}

    def finish_run(self, node_id: int, run_id: int, *, changes: Changes | None, complete: bool,
                   ok: bool, error: str | None, method: str | None, files_seen: int,
                   unparsed: int, unparsed_sample: str | None, now: float,
                   series_names: dict[bytes, str] | None = None) -> None:
        """Apply a listing's changes and close the run, in one transaction.

        With ``complete`` false (a partial or failed listing) nothing is marked gone:
        a file we could not see is not a file that left the node. Rows the listing
        found unchanged are not written at all (the run's own row says when they
        were seen), so the work is O(changes).
        """
        now_s = int(now)
        with self.write() as conn:
            if changes:
                self._apply(conn, node_id, changes, now_s, complete, series_names or {})
            conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(
                finished_at=now, state="ok" if ok else "failed", error=error, method=method,
                files_seen=files_seen, unparsed=unparsed, unparsed_sample=unparsed_sample,
                added=len(changes.added) if changes else 0,
                changed=len(changes.changed) + len(changes.returned) if changes else 0,
                gone=len(changes.gone) if changes and complete else 0))

    def _apply(self, conn: Connection, node_id: int, changes: Changes, now: int,
               complete: bool, series_names: dict[bytes, str]) -> None:
        series_ids = {bytes(r[0]): r[1] for r in conn.execute(
            select(series_t.c.raw_name, series_t.c.id).where(series_t.c.node_id == node_id))}
        needed = {rec.series for rec in changes.added} | {rec.series for _, rec in
                                                          changes.changed}
        digests = changes.digests
        new_series = sorted(needed - series_ids.keys())
        for raw in new_series:
            name = series_names.get(raw) or raw.decode("utf-8", "backslashreplace")
            count, digest = digests.get(raw) or (None, None)
            series_ids[raw] = conn.execute(
                insert(series_t).values(node_id=node_id, raw_name=raw, name=name,
                                        listed_count=count, listed_digest=digest)
                .returning(series_t.c.id)).scalar_one()
        known_digests = [{"s_id": series_ids[raw], "s_count": d[0] if d else None,
                          "s_digest": d[1] if d else None}
                         for raw, d in digests.items()
                         if raw in series_ids and raw not in new_series]
        if known_digests:
            conn.execute(update(series_t).where(series_t.c.id == bindparam("s_id"))
                         .values(listed_count=bindparam("s_count"),
                                 listed_digest=bindparam("s_digest")), known_digests)
        if changes.added:
            for batch in _batches(changes.added):
                _insert_rows(conn, backups_t, _BACKUP_COLUMNS, [
                    (node_id, series_ids[r.series], r.path, r.backup_at, r.size, r.mtime,
                     now, now) for r in batch])
        if changes.changed:
            stmt = (update(backups_t).where(backups_t.c.id == bindparam("b_id"))
                    .values(size=bindparam("b_size"), mtime=bindparam("b_mtime"),
                            backup_at=bindparam("b_at"), series_id=bindparam("b_series"),
                            gone_at=None, last_seen_at=now))
            for batch in _batches(changes.changed):
                conn.execute(stmt, [{"b_id": i, "b_size": r.size, "b_mtime": r.mtime,
                                     "b_at": r.backup_at, "b_series": series_ids[r.series]}
                                    for i, r in batch])
        if changes.returned:
            for batch in _batches(changes.returned):
                conn.execute(update(backups_t).where(backups_t.c.id.in_(batch))
                             .values(gone_at=None, last_seen_at=now))
        if complete and changes.gone:
            for batch in _batches(changes.gone):
                conn.execute(update(backups_t).where(backups_t.c.id.in_(batch))
                             .values(gone_at=now))

    # --- reads for checks and export

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
                           backups_t.c.gone_at)
                    .where(backups_t.c.series_id.in_(batch))
                    .order_by(backups_t.c.series_id, backups_t.c.backup_at))
                for sid, at, size, gone_at in rows:
                    series[sid].backups.append((at, size, gone_at))
            run_rows = conn.execute(
                select(runs_t.c.started_at, runs_t.c.finished_at, runs_t.c.state,
                       runs_t.c.error, runs_t.c.method, runs_t.c.files_seen,
                       runs_t.c.unparsed, runs_t.c.unparsed_sample)
                .where(runs_t.c.node_id == node.id)
                .order_by(runs_t.c.started_at.desc()).limit(runs_limit)).all()
        runs = [RunInfo(*r) for r in reversed(run_rows)]
        return NodeData(name=name, hub=hub or node.hub,
                        series=sorted(series.values(), key=lambda s: s.name), runs=runs)

    # --- notification state

    def last_notification(self, hub: str) -> tuple[str, str, float] | None:
        with self.read() as conn:
            row = conn.execute(select(notifications_t.c.status, notifications_t.c.fingerprint,
                                      notifications_t.c.sent_at)
                               .where(notifications_t.c.hub == hub)).first()
            return None if row is None else (row[0], row[1], row[2])

    def record_notification(self, hub: str, status: str, fingerprint: str, sent_at: float) -> None:
        with self.write() as conn:
            done = conn.execute(update(notifications_t).where(notifications_t.c.hub == hub)
                                .values(status=status, fingerprint=fingerprint, sent_at=sent_at))
            if done.rowcount == 0:
                conn.execute(insert(notifications_t).values(
                    hub=hub, status=status, fingerprint=fingerprint, sent_at=sent_at))


class Differ:
    """Compares a listing, record by record, with what the store knows about a node.

    Works incrementally so that a listing cut off halfway still yields the
    additions seen so far; only :meth:`finish` with ``complete`` marks files gone.
    """

    def __init__(self, known: dict[bytes, Known]) -> None:
        self.known = known
        self.changes = Changes()

    def feed(self, rec: Record) -> None:
        old = self.known.pop(rec.path, None)
        if old is None:
            self.changes.added.append(rec)
        elif (old.size != rec.size or old.mtime != rec.mtime
              or old.backup_at != rec.backup_at):
            self.changes.changed.append((old.id, rec))
        elif old.gone:
            self.changes.returned.append(old.id)

    def finish(self, *, complete: bool) -> Changes:
        if complete:
            self.changes.gone = [k.id for k in self.known.values() if not k.gone]
        self.known = {}
        return self.changes


_DIGEST_HEAD = struct.Struct("<qdq").pack
#: digests are kept to 63 bits: a signed BIGINT on SQLite and PostgreSQL alike
_DIGEST_MASK = (1 << 63) - 1


class ListingDiffer:
    """Like :class:`Differ`, but reads from the store only the series the listing changed.

    While the listing streams in, records are grouped by series and each series gets
    a count and an order-independent digest (the sum of a 64-bit checksum of every
    file's path, size, mtime and backup time; CRC-32 and Adler-32 in C, ~0.5 µs a
    file). At the end, a series whose count and digest equal the ones stored at the
    last listing that changed it is unchanged and skipped; only the others have their
    rows read and compared file by file with :class:`Differ`. Re-collecting an
    unchanged node therefore reads one row per series instead of one per file.
    A partial listing proves nothing about absent files: it is compared in full and
    the digests of the series it touched are forgotten.
    """

    def __init__(self, store: Store, node_id: int) -> None:
        self.store = store
        self.node_id = node_id
        self.stored = store.series_state(node_id)
        self.groups: dict[bytes, list[Record]] = {}
        self.sums: dict[bytes, int] = {}

    def feed(self, rec: Record) -> None:
        group = self.groups.get(rec.series)
        if group is None:
            group = self.groups[rec.series] = []
            self.sums[rec.series] = 0
        group.append(rec)
        data = _DIGEST_HEAD(rec.size, rec.mtime, rec.backup_at) + rec.path
        self.sums[rec.series] += zlib.crc32(data) | zlib.adler32(data) << 32

    def digest(self, series: bytes) -> tuple[int, int]:
        """(count, digest) of what the listing holds for one series."""
        return len(self.groups.get(series, ())), self.sums.get(series, 0) & _DIGEST_MASK

    def finish(self, *, complete: bool) -> Changes:
        stored = self.stored
        listed = {raw: self.digest(raw) for raw in self.groups}
        if complete:
            stale = [raw for raw, digest in listed.items()
                     if raw not in stored or (stored[raw].count, stored[raw].digest) != digest]
            stale += [raw for raw, st in stored.items()
                      if raw not in listed and st.count != 0]  # vanished, or not known yet
            ids = [stored[raw].id for raw in stale if raw in stored]
            if len(ids) == len(stored):
                known = self.store.known(self.node_id) if ids else {}
            else:
                known = self.store.known(self.node_id, ids) if ids else {}
        else:
            stale = list(self.groups)
            known = self.store.known(self.node_id)
        differ = Differ(known)
        for raw in stale:
            for rec in self.groups.pop(raw, ()):
                differ.feed(rec)
        self.groups, self.sums = {}, {}
        changes = differ.finish(complete=complete)
        if complete:
            changes.digests = {raw: listed.get(raw, (0, 0)) for raw in stale}
        else:
            touched = {r.series for r in changes.added}
            touched.update(r.series for _, r in changes.changed)
            if changes.returned:  # the returned rows' series are not at hand: forget all listed
                touched.update(listed)
            changes.digests = {raw: None for raw in touched}
        return changes


def diff(listing: Iterable[Record], known: dict[bytes, Known], *,
         complete: bool = True) -> Changes:
    """The changes a whole listing makes to what the store knows."""
    differ = Differ(known)
    for rec in listing:
        differ.feed(rec)
    return differ.finish(complete=complete)


_BACKUP_COLUMNS = ("node_id", "series_id", "path", "backup_at", "size", "mtime",
                   "first_seen_at", "last_seen_at")


def _insert_rows(conn: Connection, table: Any, columns: Sequence[str],
                 rows: list[tuple[Any, ...]]) -> None:
    """INSERT many rows given as plain tuples in ``columns`` order.

    Core's executemany with one dict per row spends ~7 µs a row turning each dict
    into the driver's positional tuple and running per-value bind processors:
    more than SQLite's own insert costs (profiled ingesting 1M rows, see
    BENCHMARKS.md row 3). Where the driver takes positional parameters (sqlite3),
    the Core statement is compiled once for the dialect and the tuples go straight
    to the driver's executemany; other drivers keep the dict path.
    """
    compiled = insert(table).compile(dialect=conn.dialect, column_keys=list(columns))
    if compiled.positional and tuple(compiled.positiontup or ()) == tuple(columns):
        conn.exec_driver_sql(compiled.string, rows)
    else:
        conn.execute(insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


def _batches(items: Sequence[Any], size: int = _BATCH) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _precreate(path: Path) -> None:
    """Create a new SQLite file readable by owner and group only (it may name private hosts)."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o640)
    except FileExistsError:
        return
    os.close(fd)


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves (below); pysqlite's implicit BEGIN would be DEFERRED,
        # and a deferred reader that later writes fails at once instead of waiting.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys = ON")
        # on read-only media WAL cannot be switched on: stay in the default journal mode
        with contextlib.suppress(Exception):
            cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("scm_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")


def _locked_message(exc: OperationalError, url: str, busy_timeout: float) -> str:
    detail = str(exc.orig) if exc.orig is not None else str(exc)
    if "locked" in detail or "busy" in detail:
        return (f"database {make_url(url).render_as_string(hide_password=True)} stayed locked "
                f"by another writer for {busy_timeout:g} s; nothing was written "
                "(another scm-monitor still running?)")
    return f"database error: {detail}"


def now() -> float:
    return time.time()

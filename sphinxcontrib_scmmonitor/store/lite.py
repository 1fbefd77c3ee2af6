"""SQLite through the standard library: the set-up of every connection, and ``status``'s reader.

``scm-monitor status`` runs every few minutes from Nagios, and importing
SQLAlchemy alone takes most of its start (docs/operations.rst, "Large stores").
:class:`LiteStore` reads an SQLite store with sqlite3: the same SQL text as
:class:`~.db.Store` (``queries.py``), the same pragmas and busy timeout (engine.py
sets its connections up with :func:`prepare`), and the same messages
(:func:`describe`, ``revision.py``). Every other database, and every write, goes
through :class:`~.db.Store`.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

from . import queries, revision
from .records import WINDOW_ONLY, LookBack, NodeData, StoreError

if TYPE_CHECKING:
    from .db import Store

#: How long a write waits for another writer's lock on SQLite before giving up (seconds);
#: ``Store(busy_timeout=...)`` overrides it per store.
BUSY_TIMEOUT_S = 30.0
#: the characters of a database path whose URL SQLAlchemy writes back unchanged (its
#: messages show the URL): any other path is opened through SQLAlchemy instead
_PLAIN = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/._-+~ ")


def sqlite_file(url: str) -> str | None:
    """The file of a plain ``sqlite:///path`` URL; None for any other URL (memory, a URI,
    query options, another driver, a path with characters a URL escapes)."""
    for prefix in ("sqlite:///", "sqlite+pysqlite:///"):
        if url.startswith(prefix):
            path = url[len(prefix):]
            if path and path != ":memory:" and _PLAIN.issuperset(path):
                return path
    return None


def require_file(path: str) -> None:
    """A store that must exist (``create=False``): one clear sentence when it does not."""
    try:
        os.stat(path)
    except FileNotFoundError:
        raise StoreError(f"database file {path} does not exist yet: run `scm-monitor "
                         "collect` (or `scm-monitor db upgrade`) first") from None
    except OSError as exc:
        raise StoreError(f"cannot open database file {path}: {exc.strerror or exc}") from None


def prepare(conn: Any, busy_timeout: float) -> None:
    """Set up a new sqlite3 connection: our own BEGINs, busy timeout, WAL, foreign keys."""
    # We issue BEGIN ourselves; pysqlite's implicit BEGIN would be DEFERRED, and a
    # deferred reader that later writes fails at once instead of waiting.
    conn.isolation_level = None
    cur = conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
    cur.execute("PRAGMA foreign_keys = ON")
    # on read-only media WAL cannot be switched on: stay in the default journal mode
    with contextlib.suppress(Exception):
        cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.close()


def connect(path: str, busy_timeout: float) -> sqlite3.Connection:
    """A new sqlite3 connection to a store file, set up as every one of ours (:func:`prepare`)."""
    conn = sqlite3.connect(path, timeout=busy_timeout, check_same_thread=False)
    try:
        prepare(conn, busy_timeout)
    except BaseException:
        conn.close()
        raise
    return conn


def describe(safe_url: str, busy_timeout: float, detail: str, doing: str) -> str:
    """One sentence for a database error: what failed, the driver's first line, no SQL."""
    if "locked" in detail or "busy" in detail:
        return (f"database {safe_url} stayed locked by another writer for "
                f"{busy_timeout:g} s; nothing was written "
                "(another scm-monitor still running?)")
    return f"cannot {doing} database {safe_url}: {detail}"


def first_line(text: str, kind: str) -> str:
    """A driver's message without the statement, parameters or DETAIL lines."""
    text = text.strip()
    line = text.splitlines()[0] if text else kind
    # SQLAlchemy's own errors append "[SQL: ...]" and a link; drivers' do not
    line = line.split(" [SQL:", 1)[0].split("(Background on this error", 1)[0].strip()
    return line[:300]


class Reader(Protocol):
    """What ``status`` and a docs build read of a store: :class:`LiteStore` and
    :class:`~.db.Store` both."""

    @property
    def safe_url(self) -> str: ...

    def node_data(self, name: str, hub: str | None = None, *,
                  runs_limit: int = 2000) -> NodeData: ...

    def recent_node_data(self, name: str, hub: str | None = None, *, window_s: float,
                         look_back: LookBack = WINDOW_ONLY,
                         runs_limit: int = 2000) -> NodeData: ...

    def last_notification(self, hub: str) -> tuple[str, str, float] | None: ...

    def change_keys(self, names: Iterable[str]) -> dict[str, tuple[object, ...]]: ...

    def ensure_schema(self) -> None: ...

    def close(self) -> None: ...

    def forget(self) -> None: ...


def open_reader(url: str, *, busy_timeout: float | None = None) -> LiteStore | Store:
    """An existing store opened to read what ``status`` judges, its schema checked: a
    :class:`LiteStore` for a plain SQLite file, else a :class:`~.db.Store`."""
    path = sqlite_file(url)
    store: LiteStore | Store
    if path is not None:
        store = LiteStore(url, path, busy_timeout=busy_timeout)
    else:
        from .db import Store

        store = Store(url, create=False, busy_timeout=busy_timeout)
    try:
        if isinstance(store, LiteStore):
            store.ensure_schema()
        else:
            store.ensure_schema(create=False)
    except BaseException:
        store.close()
        raise
    return store


class LiteStore:
    """An existing SQLite store, read with sqlite3: the reads of ``status`` and of a docs
    build, nothing more."""

    def __init__(self, url: str, path: str, *, busy_timeout: float | None = None) -> None:
        self.url = self.safe_url = url  # a plain file URL (sqlite_file) holds no password
        self.busy_timeout = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
        require_file(path)
        self._path = path
        self._conn: sqlite3.Connection | None = None

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def forget(self) -> None:
        """In a forked child: drop the parent's connection without closing it (SQLite's
        own rule: a connection is never used across a fork)."""
        self._conn = None

    @contextmanager
    def read(self) -> Iterator[queries.Run]:
        """One read transaction: every statement inside sees the same state of the store."""
        with self.errors("read"):
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                yield _runner(conn)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn any sqlite3 error inside into a :class:`StoreError` of one sentence."""
        try:
            yield
        except sqlite3.Error as exc:
            detail = first_line(str(exc), type(exc).__name__)
            raise StoreError(describe(self.safe_url, self.busy_timeout, detail, doing)) from exc

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = connect(self._path, self.busy_timeout)
        return self._conn

    def revisions(self) -> tuple[str | None, str]:
        """(current revision of the database, newest revision shipped)."""
        with self.errors("open"):
            conn = self._connection()
            current = None
            if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                            "AND name = 'alembic_version'").fetchone():
                row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
                current = row[0] if row else None
        return revision.known(current, self.safe_url), revision.HEAD

    def ensure_schema(self) -> None:
        """Refuse a store without the schema this release reads (it never creates one)."""
        current, head = self.revisions()
        if current != head:
            raise revision.refuse(current, self.safe_url)

    def node_data(self, name: str, hub: str | None = None, *, runs_limit: int = 2000) -> NodeData:
        """As :meth:`~.reads.Reads.node_data`."""
        with self.read() as run:
            return queries.read_node(run, name, hub, runs_limit=runs_limit, window_s=None)

    def recent_node_data(self, name: str, hub: str | None = None, *, window_s: float,
                         look_back: LookBack = WINDOW_ONLY,
                         runs_limit: int = 2000) -> NodeData:
        """As :meth:`~.reads.Reads.recent_node_data`."""
        with self.read() as run:
            return queries.read_node(run, name, hub, runs_limit=runs_limit, window_s=window_s,
                                     look_back=look_back)

    def last_notification(self, hub: str) -> tuple[str, str, float] | None:
        with self.read() as run:
            return queries.read_last_notification(run, hub)

    def change_keys(self, names: Iterable[str]) -> dict[str, tuple[object, ...]]:
        """As :meth:`~.reads.Reads.change_keys`."""
        with self.read() as run:
            return queries.read_change_keys(run, names)


def _runner(conn: sqlite3.Connection) -> queries.Run:
    def run(sql: str, params: Mapping[str, Any]) -> Iterable[Sequence[Any]]:
        return conn.execute(sql, params)

    return run

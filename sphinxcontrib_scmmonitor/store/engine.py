"""Opening a database: URL, engine, SQLite pragmas and locking, and short transactions.

On SQLite the file runs in WAL mode with a busy timeout so a docs build can
read while a collection writes, and every write transaction starts with
``BEGIN IMMEDIATE`` so two writers queue instead of failing. Every database
error leaves this module as a :class:`StoreError` of one sentence: no SQL, no
parameters and no driver traceback ever reach the user.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from . import lite
from .lite import BUSY_TIMEOUT_S
from .queries import Run
from .records import SeriesState, StoreError

__all__ = ["BUSY_TIMEOUT_S", "Database", "runner"]


class Database:
    """One database, opened from a SQLAlchemy URL; the base of :class:`~.db.Store`."""

    def __init__(self, url: str, *, echo: bool = False, create: bool = True,
                 busy_timeout: float | None = None) -> None:
        self.busy_timeout = BUSY_TIMEOUT_S if busy_timeout is None else busy_timeout
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise StoreError(f"database URL {url!r} is not valid: {exc}") from None
        self.url = url
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        #: node id -> its series' state, read by begin_run for the differ (reads.py)
        self.begun_states: dict[int, dict[bytes, SeriesState]] = {}
        # reentrant: a write opened inside another write of the same thread must not hang here
        self._write_lock: contextlib.AbstractContextManager[Any] = \
            threading.RLock() if self.is_sqlite else contextlib.nullcontext()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.is_sqlite:
            db = parsed.database
            if db and db != ":memory:" and not db.startswith("file:"):
                if not create:
                    lite.require_file(db)
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
        elif parsed.get_backend_name() == "postgresql":
            _postgresql_setup(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    def forget(self) -> None:
        """In a forked child: drop the parent's connections without closing them (they are
        the parent's to use and close)."""
        self.engine.dispose(close=False)

    @property
    def safe_url(self) -> str:
        """The URL without its password, fit for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A short write transaction (``BEGIN IMMEDIATE`` on SQLite).

        On SQLite, threads of this process (collect_all's workers) queue on a lock
        here first: a writer blocked inside SQLite polls with sleeps of up to 100 ms
        (its busy handler) and wakes late. 16 nodes of 2,000 files finishing at once,
        store work only: 0.50 s without this lock, 0.32 s with it. Other processes
        still meet the busy timeout.
        """
        with self._write_lock, self.errors("write to"), self.engine.connect() as conn:
            conn = conn.execution_options(scm_write=True)
            with conn.begin():
                yield conn

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction that sees one state of the store throughout.

        PostgreSQL's default (READ COMMITTED) gives each statement its own snapshot: a
        run committed between a read's series and its backups would show backups of a
        series the read never saw. REPEATABLE READ is one snapshot for the whole read
        (read-only, it never fails to serialize); SQLite's read transaction already is.
        """
        with self.errors("read"), self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                conn = conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Turn any database error inside into a :class:`StoreError` of one sentence."""
        try:
            yield
        except SQLAlchemyError as exc:
            raise StoreError(self.describe(exc, doing)) from exc
        except Exception as exc:
            # the driver's own errors, from work done on its connection directly (COPY)
            dbapi = getattr(self.engine.dialect, "loaded_dbapi", None)
            if dbapi is None or not isinstance(exc, dbapi.Error):
                raise
            raise StoreError(self.describe(exc, doing)) from exc

    def describe(self, exc: Exception, doing: str) -> str:
        """One sentence for a database error: what failed, the driver's first line, no SQL."""
        orig = exc.orig if isinstance(exc, DBAPIError) else None
        detail = lite.first_line(str(orig if orig is not None else exc), type(exc).__name__)
        return lite.describe(self.safe_url, self.busy_timeout, detail, doing)


def runner(conn: Connection) -> Run:
    """The SQL text of ``queries.py`` run on a connection of this engine."""
    def run(sql: str, params: Mapping[str, Any]) -> Iterable[Sequence[Any]]:
        return conn.execute(_text(sql), params)

    return run


#: each statement of queries.py made a TextClause once (SQLAlchemy caches its compiled
#: form by this object's text)
_text = functools.lru_cache(maxsize=64)(text)


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


def _postgresql_setup(engine: Engine) -> None:
    """The store's sessions commit as its SQLite files do (docs/operations.rst, "Durability").

    SQLite in WAL mode with ``synchronous = NORMAL`` (lite.prepare) returns from a
    commit before it is on disk: after a power cut the store is whole but may lack the
    last moments' commits. ``synchronous_commit = off`` is PostgreSQL's same promise
    (the WAL is still flushed within a fraction of a second, and a crash never leaves
    the database inconsistent); without it every commit waits for a flush to disk, one
    wait more per transaction than on SQLite. Set once per pooled connection.
    """
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("SET synchronous_commit TO off")
        cur.close()
        dbapi_conn.commit()  # a SET in a transaction rolled back would be undone


def _sqlite_setup(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        lite.prepare(dbapi_conn, busy_timeout)  # the BEGINs that follow are ours (below)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get("scm_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")

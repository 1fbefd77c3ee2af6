"""The schema's revision: create it, upgrade it with Alembic, refuse one too old or too new.

Checking the revision needs no Alembic: every command opens the store, and
``status`` runs every few minutes from Nagios (Alembic alone would add ~0.3 s
to its start, docs/operations.rst). The shipped revisions are constants
(``revision.py``), and a test pins them to the migration scripts; Alembic loads
only to migrate.
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from . import revision
from .engine import Database
from .records import StoreError
from .revision import HEAD, REVISIONS

__all__ = ["HEAD", "REVISIONS", "Schema"]

#: alembic's ``context`` is one process-wide proxy: two threads migrating at once (two
#: stores, e.g. a collector and a docs build in one process) trample each other's state
_ALEMBIC_LOCK = threading.Lock()
#: pg_advisory_xact_lock key ("scmm") taken while migrating a PostgreSQL schema, so the
#: collectors of several hubs starting on a new shared database create it once
_PG_SCHEMA_LOCK = 0x73636D6D


class Schema(Database):
    """The schema part of :class:`~.db.Store`."""

    def _alembic_config(self, conn: Connection | None) -> Any:
        from alembic.config import Config

        cfg = Config()
        location = resources.files("sphinxcontrib_scmmonitor.store") / "migrations"
        cfg.set_main_option("script_location", str(location))
        cfg.set_main_option("sqlalchemy.url", self.url.replace("%", "%%"))
        cfg.attributes["connection"] = conn
        return cfg

    def _current(self, conn: Connection) -> str | None:
        """The database's revision; a :class:`StoreError` when this package does not know it."""
        current = None
        if inspect(conn).has_table("alembic_version"):
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return revision.known(current, self.safe_url)

    def revisions(self) -> tuple[str | None, str]:
        """(current revision of the database, newest revision shipped)."""
        with self.errors("open"), self.engine.connect() as conn:
            return self._current(conn), HEAD

    def upgrade(self) -> tuple[str | None, str]:
        """Bring the schema to the newest revision; returns (before, after).

        Safe to run by several processes at once: the current revision is read again
        inside the write transaction that migrates, after taking a lock (SQLite's
        ``BEGIN IMMEDIATE``, PostgreSQL's advisory lock), so the first creates or
        upgrades the schema and the others find it done instead of failing halfway.
        """
        from alembic import command

        head = HEAD
        try:
            with _ALEMBIC_LOCK, self.write() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": _PG_SCHEMA_LOCK})
                before = self._current(conn)
                if before != head:
                    command.upgrade(self._alembic_config(conn), "head")
        except SQLAlchemyError as exc:  # raised by Alembic outside write()'s own handler
            raise StoreError(self.describe(exc, "upgrade")) from exc
        return before, head

    def ensure_schema(self, *, create: bool = True) -> None:
        """Create the schema in an empty database; refuse to use an old or a newer one."""
        current, head = self.revisions()
        if current == head:
            return
        if current is None and create:
            self.upgrade()
            return
        raise revision.refuse(current, self.safe_url)

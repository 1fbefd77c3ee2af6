"""The store's tables, as SQLAlchemy Core ``Table`` definitions (what Alembic compares with).

Backup times are integer UTC epoch seconds (``*_at`` columns) and sizes are
bytes: comparable across SQLite and PostgreSQL, free of zone ambiguity, and
cheap to bulk-load. Paths and series names are kept as the raw bytes the node
sent (file names need not be UTF-8); ``series.name`` is their display form.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.schema import SchemaItem

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def _per_node(name: str, *items: SchemaItem, node_key: bool = True) -> Table:
    """A table whose rows each belong to one node: an id, and the node's (gone with it).

    ``node_key=False``: the node is referenced through another key of the table instead.
    """
    node = ((ForeignKey("nodes.id", ondelete="CASCADE"),) if node_key else ())
    return Table(name, metadata,
                 Column("id", Integer, primary_key=True),
                 Column("node_id", Integer, *node, nullable=False),
                 *items)


#: A backup node as last configured (name and hub come from scmmonitor.toml).
nodes = Table(
    "nodes", metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("hub", String(200), nullable=False),
    # The root prefix its backups' paths were listed under (records.root_prefix); a
    # collection under another root moves them (Writes.begin_run). NULL: not known yet.
    Column("root", LargeBinary, nullable=True),
)

#: One backup series on one node, e.g. ``tracs/env``.
series = _per_node(
    "series",
    Column("raw_name", LargeBinary, nullable=False),
    Column("name", Text, nullable=False),
    # How many files of the series are present in the store, and a digest of them
    # (path, size, mtime, backup time), as of the last listing that changed them; NULL
    # when unknown. A new listing with the same count and digest is skipped without
    # reading the series' rows, so re-collecting costs O(changes), not O(files).
    Column("listed_count", Integer, nullable=True),
    Column("listed_digest", BigInteger, nullable=True),
    UniqueConstraint("node_id", "raw_name"),
    # what a backup's one foreign key refers to (a series and its node, below)
    Index("uq_series_node_id_id", "node_id", "id", unique=True),
)

#: One backup file; never deleted, only marked gone when it leaves the node.
#:
#: Its node and series are checked by one composite foreign key, (node_id, series_id) ->
#: series (node_id, id): a backup's node is its series' node, and PostgreSQL checks a
#: foreign key row by row (one lookup each), so one key instead of two halves that work
#: for every file a collection adds (docs/operations.rst, "Large stores").
backups = _per_node(
    "backups",
    Column("series_id", Integer, nullable=False),
    Column("path", LargeBinary, nullable=False),
    Column("backup_at", BigInteger, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("first_seen_at", BigInteger, nullable=False),
    # When a listing last wrote this row (added, changed, came back). Not touched by
    # listings that find it unchanged: a present row was last seen by its node's
    # latest complete run (``runs``), which keeps re-collecting O(changes).
    Column("last_seen_at", BigInteger, nullable=False),
    Column("gone_at", BigInteger, nullable=True),
    UniqueConstraint("node_id", "path"),
    Index("ix_backups_series_at", "series_id", "backup_at"),
    ForeignKeyConstraint(["node_id", "series_id"], ["series.node_id", "series.id"],
                         ondelete="CASCADE", name="fk_backups_node_id_series"),
    node_key=False,
)

#: One collection attempt for one node: ``running`` while it goes on, then ``ok`` or
#: ``failed``; a run found still ``running`` by a later collection was killed and
#: becomes ``interrupted``.
runs = _per_node(
    "runs",
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float, nullable=True),
    Column("state", String(20), nullable=False),
    Column("error", Text, nullable=True),
    Column("method", String(40), nullable=True),
    Column("files_seen", Integer, nullable=False, default=0),
    Column("unparsed", Integer, nullable=False, default=0),
    Column("unparsed_sample", Text, nullable=True),
    Column("added", Integer, nullable=False, default=0),
    Column("changed", Integer, nullable=False, default=0),
    Column("gone", Integer, nullable=False, default=0),
    Index("ix_runs_node_started", "node_id", "started_at"),
)

#: What the last alert mail for a hub said, so alerts go out on change, not every run.
notifications = Table(
    "notifications", metadata,
    Column("hub", String(200), primary_key=True),
    Column("status", String(20), nullable=False),
    Column("fingerprint", Text, nullable=False),
    Column("sent_at", Float, nullable=False),
)

#: Who is collecting a node now: one row per node while a collector runs, so a second
#: one (a cron overlap) stops instead of writing the same rows (docs/operations.rst).
leases = Table(
    "leases", metadata,
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("token", String(64), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("host", String(255), nullable=False),
    Column("since", Float, nullable=False),
    Column("expires_at", Float, nullable=False),
)

#: What the content checks found for one backup file, and the size and mtime it had
#: then: a file changed since is checked again, an unchanged one never twice.
verifications = Table(
    "verifications", metadata,
    Column("backup_id", Integer, ForeignKey("backups.id", ondelete="CASCADE"),
           primary_key=True),
    Column("size", BigInteger, nullable=False),
    Column("mtime", Float, nullable=False),
    Column("sha256", String(64), nullable=True),
    Column("gzip_ok", Boolean, nullable=True),
    Column("gzip_error", Text, nullable=True),
    Column("checked_at", BigInteger, nullable=False),
)

#: A verify tool (sha256sum, gzip) a node lacked when its verify steps last ran, and since
#: when: kept until a run finds it there (docs/concepts.rst, ``unverified``).
verify_missing = Table(
    "verify_missing", metadata,
    Column("node_id", Integer, ForeignKey("nodes.id", ondelete="CASCADE"), primary_key=True),
    Column("tool", String(40), primary_key=True),
    Column("since", BigInteger, nullable=False),
)

"""The store's tables, as SQLAlchemy 2 declarative models.

Backup times are integer UTC epoch seconds (``*_at`` columns) and sizes are
bytes: comparable across SQLite and PostgreSQL, free of zone ambiguity, and
cheap to bulk-load. Paths and series names are kept as the raw bytes the node
sent (file names need not be UTF-8); ``Series.name`` is their display form.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Node(Base):
    """A backup node as last configured (name and hub come from scmmonitor.toml)."""

    __tablename__ = "nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    hub: Mapped[str] = mapped_column(String(200))


class Series(Base):
    """One backup series on one node, e.g. ``tracs/env``."""

    __tablename__ = "series"
    __table_args__ = (UniqueConstraint("node_id", "raw_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    raw_name: Mapped[bytes] = mapped_column(LargeBinary)
    name: Mapped[str] = mapped_column(Text)
    #: How many files of the series are present in the store, and a digest of them
    #: (path, size, mtime, backup time), as of the last listing that changed them; NULL
    #: when unknown. A new listing with the same count and digest is skipped without
    #: reading the series' rows, so re-collecting costs O(changes), not O(files).
    listed_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    listed_digest: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Backup(Base):
    """One backup file; never deleted, only marked gone when it leaves the node."""

    __tablename__ = "backups"
    __table_args__ = (
        UniqueConstraint("node_id", "path"),
        Index("ix_backups_series_at", "series_id", "backup_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    series_id: Mapped[int] = mapped_column(ForeignKey("series.id", ondelete="CASCADE"))
    path: Mapped[bytes] = mapped_column(LargeBinary)
    backup_at: Mapped[int] = mapped_column(BigInteger)
    size: Mapped[int] = mapped_column(BigInteger)
    mtime: Mapped[float] = mapped_column(Float)
    first_seen_at: Mapped[int] = mapped_column(BigInteger)
    #: When a listing last wrote this row (added, changed, came back). Not touched by
    #: listings that find it unchanged: a present row was last seen by its node's
    #: latest complete run (``runs``), which keeps re-collecting O(changes).
    last_seen_at: Mapped[int] = mapped_column(BigInteger)
    gone_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class Run(Base):
    """One collection attempt for one node.

    ``state`` is ``running`` while it goes on, then ``ok`` or ``failed``; a run
    found still ``running`` by a later collection was killed and becomes
    ``interrupted``.
    """

    __tablename__ = "runs"
    __table_args__ = (Index("ix_runs_node_started", "node_id", "started_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id", ondelete="CASCADE"))
    started_at: Mapped[float] = mapped_column(Float)
    finished_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    state: Mapped[str] = mapped_column(String(20))
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    method: Mapped[str | None] = mapped_column(String(40), nullable=True)
    files_seen: Mapped[int] = mapped_column(Integer, default=0)
    unparsed: Mapped[int] = mapped_column(Integer, default=0)
    unparsed_sample: Mapped[str | None] = mapped_column(Text, nullable=True)
    added: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    gone: Mapped[int] = mapped_column(Integer, default=0)

    @property
    def ok(self) -> bool:
        return self.state == "ok"


class Notification(Base):
    """What the last alert mail for a hub said, so alerts go out on change, not every run."""

    __tablename__ = "notifications"

    hub: Mapped[str] = mapped_column(String(200), primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    fingerprint: Mapped[str] = mapped_column(Text)
    sent_at: Mapped[float] = mapped_column(Float)

"""Plain values and errors the store takes in and hands out (no SQLAlchemy needed to use them).

The collector's parser builds :class:`Record`; the checks and the export read
:class:`NodeData`. Keeping them free of the database layer lets a pure parser
or a test fixture use them without loading SQLAlchemy.
"""

from __future__ import annotations

import shlex
import time
from dataclasses import dataclass, field
from typing import NamedTuple


def root_prefix(root: str | bytes) -> bytes:
    """``root`` as the bytes every listed path of the node starts with, slash included.

    A backup's identity across nodes is its path below this prefix
    (docs/concepts.rst, "Source and copies"); the store keeps the prefix its paths
    were listed under (``nodes.root``), so a changed ``root`` moves them with it.
    """
    raw = root.encode("utf-8", "surrogateescape") if isinstance(root, str) else root
    return raw.rstrip(b"/") + b"/"


class StoreError(Exception):
    """The store cannot be used as asked (bad URL, locked too long, schema too old or new)."""


class NodeOwnerError(StoreError):
    """The node's name belongs to another hub in this database."""

    def __init__(self, node: str, owner: str, hub: str, url: str) -> None:
        super().__init__(
            f"node {node} is stored in {url} as a node of hub {owner!r}, but this "
            f"configuration puts it under hub {hub!r}; nothing was collected for it. "
            "Node names are unique in one database: if two hubs share it, give one of "
            f"the nodes another name; if hub {owner!r} was renamed to {hub!r}, run once: "
            f"scm-monitor db rename-hub {shlex.quote(owner)} {shlex.quote(hub)}")


@dataclass(frozen=True, slots=True)
class Lease:
    """Who is collecting a node now (see docs/operations.rst, "One collector per node")."""

    node: str
    pid: int
    host: str
    since: float
    expires_at: float


class NodeBusyError(StoreError):
    """Another collector holds the node's lease: this one must not list it too."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease
        since = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(lease.since))
        super().__init__(f"node {lease.node} is being collected by pid {lease.pid} on "
                         f"{lease.host} since {since}; nothing was collected by this run")


# --- what the collector hands in ----------------------------------------------------------------


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


# --- what the checks and the export read --------------------------------------------------------


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


class BackupFile(NamedTuple):
    """One backup file ever seen: ``path`` is its full path as listed on the node.

    The relative path (how a copy's file is matched to the source's) is ``path``
    minus the node's ``root`` and "/". ``gone_at`` is when a complete listing
    first missed it (None: still on the node).
    """

    backup_at: int
    size: int
    gone_at: int | None
    path: bytes = b""
    first_seen_at: int | None = None


class Verification(NamedTuple):
    """What the content checks found for one file (None: not checked that way)."""

    sha256: str | None
    gzip_ok: bool | None
    gzip_error: str | None
    checked_at: int | None


#: a backup dated further than this after the listing that saw it is ``future`` (a wrong
#: clock or layout, docs/concepts.rst): never a series' newest, for the checks (``stale``)
#: as for the verify steps (hashing it would check the wrong night)
FUTURE_AFTER_S = 24 * 3600


@dataclass(frozen=True, slots=True)
class LookBack:
    """How far the checks look back in one series, beyond its present backups: what a
    recent read (``recent_node_data``) must hold of it to judge as the full read does.

    Counted in backup times (the files of one dated folder are one backup).
    """

    #: the newest backups at or before the node's observed_at (the usual interval's)
    backups: int = 0
    #: backups before the newest present one (the sizes ``shrunk`` compares against)
    before_newest: int = 0
    #: a present backup dated more than this after observed_at is not the newest one
    future_s: float = 0.0


#: no look back: the present backups and the time window only (a picture's read)
WINDOW_ONLY = LookBack()


@dataclass(slots=True)
class SeriesData:
    """All backups ever seen of one series, ascending by ``backup_at``, then ``path``."""

    name: str
    raw_name: bytes
    backups: list[BackupFile]

    def totals(self, *, present_only: bool = False) -> list[tuple[int, int]]:
        """Sizes summed per backup time (several files in one dated folder are one backup)."""
        # one tuple per backup time, not per file; called per series by every check and
        # export, so the loop is kept tight (BENCHMARKS.md row 5)
        out: list[tuple[int, int]] = []
        append = out.append
        last: int | None = None
        total = 0
        for backup in self.backups:
            if present_only and backup[2] is not None:
                continue
            at, size = backup[0], backup[1]
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
    #: full path -> what the content checks found, for files unchanged since they were checked
    verified: dict[bytes, Verification] = field(default_factory=dict)
    #: verify tool (``sha256sum``, ``gzip``) the node lacked when its steps last ran -> since
    #: when (epoch seconds UTC)
    verify_missing: dict[str, int] = field(default_factory=dict)
    #: the root prefix the stored paths are under (:func:`root_prefix`; None: never
    #: collected since the store learnt it): relative paths are cut from this one, not
    #: from a ``root`` the configuration may have changed since
    root: bytes | None = None

"""A hub's nightly backups over time, as a source and its copies hold them in the store.

Builds the store's read model (``BackupFile``, ``SeriesData``, ``Verification``)
the way a year of real nights would leave it: the hub writes each series'
tarball at a jittered wall-clock time in ``Europe/Berlin`` (dated folders read
back through the collector's own ``DateLayout``), each node receives it some
time later, purges down to its newest ``keep`` backups, and is listed every
hour. Faults are planted by editing the hub's backups or a node's rows.
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sphinxcontrib_scmmonitor import store
from sphinxcontrib_scmmonitor.checks.copies import Originals, check_copy, corrupt
from sphinxcontrib_scmmonitor.checks.history import check_history
from sphinxcontrib_scmmonitor.collect.listing import DateLayout

HOUR = 3600
DAY = 24 * HOUR
ZONE = "Europe/Berlin"
MB = 1024**2

# The store's read model; until the store's rows carry path and first_seen_at, the same
# shapes defined here (docs/concepts.rst: a backup's identity is its relative path).
if hasattr(store, "BackupFile"):
    BackupFile = store.BackupFile
    Verification = store.Verification
    NEW_STORE = True
else:
    NEW_STORE = False

    class BackupFile(NamedTuple):  # type: ignore[no-redef]
        backup_at: int
        size: int
        gone_at: int | None
        path: bytes = b""
        first_seen_at: int | None = None

    class Verification(NamedTuple):  # type: ignore[no-redef]
        sha256: str | None
        gzip_ok: bool | None
        gzip_error: str | None
        checked_at: int | None


class Series(NamedTuple):
    """A stored series (``store.SeriesData``'s fields) holding ``BackupFile`` rows."""

    name: str
    raw_name: bytes
    backups: list[BackupFile]

    def totals(self, *, present_only: bool = False) -> list[tuple[int, int]]:
        """The store's own per-backup sums of these rows."""
        if NEW_STORE:
            return store.SeriesData(self.name, self.raw_name, self.backups).totals(
                present_only=present_only)
        old = store.SeriesData(self.name, self.raw_name,
                               [(r.backup_at, r.size, r.gone_at) for r in self.backups])
        return old.totals(present_only=present_only)


@dataclass
class Backup:
    """One dated folder of a series, as the hub wrote it."""

    folder: str                 # 2026/11/29/031002
    at: int                     # backup_at: the folder read back in the hub's zone
    written: int                # when it was complete on the hub (UTC)
    files: dict[bytes, int]     # file name -> size
    #: file name -> the bytes' identity (what sha256sum sees); the same on every true copy
    content: dict[bytes, str] = field(default_factory=dict)
    #: when the hub deleted it again (a failed try), if it did
    removed: int | None = None


@dataclass
class Hub:
    """Every series the hub writes, with its backups ascending in time."""

    series: dict[bytes, list[Backup]]

    def at(self, raw: bytes, day: str) -> Backup:
        """The series' backup written on a local date (``2026-11-27``)."""
        folder = day.replace("-", "/") + "/"
        return next(b for b in self.series[raw] if b.folder.startswith(folder))


@functools.cache
def _sha256(content: str) -> str:
    return hashlib.sha256(content.encode()).hexdigest()


def berlin(day: str, hour: int = 3, minute: int = 10) -> int:
    """A local wall-clock time in Europe/Berlin as epoch seconds UTC."""
    local = datetime.fromisoformat(day).replace(hour=hour, minute=minute, tzinfo=ZoneInfo(ZONE))
    return int(local.timestamp())


def nightly(first: str, nights: int, *, every_days: int = 1, jitter_hours: float = 2.0,
            size: int = 100 * MB, growth: float = 0.001, noise: float = 0.03,
            files: tuple[bytes, ...] = (b"dump.tar.gz",), rng: random.Random) -> list[Backup]:
    """Backups started at 03:10 Berlin time +- ``jitter_hours``, named by the hub's local
    wall clock (so the DST nights are 23 and 25 hours long) and read back as the
    collector reads them."""
    layout = DateLayout("%Y/%m/%d/%H%M%S", ZONE)
    zone = ZoneInfo(ZONE)
    start = datetime.fromisoformat(first)
    out = []
    for n in range(0, nights, every_days):
        started = berlin((start + timedelta(days=n)).date().isoformat())
        started += int(rng.uniform(-jitter_hours, jitter_hours) * HOUR)
        folder = datetime.fromtimestamp(started, zone).strftime("%Y/%m/%d/%H%M%S")
        at = layout.parse(folder.encode())
        assert at is not None
        total = size * (1 + growth) ** n * (1 + rng.uniform(-noise, noise))
        sizes = {name: max(1, int(total / len(files))) for name in files}
        out.append(Backup(folder, at, started + rng.randint(60, 20 * 60), sizes,
                          {name: f"{folder}/{name!r}/{s}" for name, s in sizes.items()}))
    return out


def healthy_year(seed: int = 2026) -> Hub:
    """20 daily series for a year (through both 2026 DST changes), a weekly series, a
    series three days old and one whose name is not UTF-8; a fresh copy to plant faults in."""
    return Hub({raw: [replace(b, files=dict(b.files), content=dict(b.content)) for b in backups]
                for raw, backups in _year(seed).series.items()})


@functools.cache
def _year(seed: int) -> Hub:
    rng = random.Random(seed)
    series: dict[bytes, list[Backup]] = {}
    for i in range(10):
        series[f"svn/repo{i:02d}".encode()] = nightly(
            "2025-12-01", 365, size=rng.randint(1, 4000) * MB, rng=rng)
    for i in range(9):
        series[f"tracs/trac{i:02d}".encode()] = nightly(
            "2025-12-01", 365, size=rng.randint(1, 400) * MB,
            files=(b"env.tar.gz", b"env.sql.gz"), rng=rng)
    series[b"git/caf\xe9"] = nightly("2025-12-01", 365, size=5 * MB, rng=rng)
    series[b"repos/weekly"] = nightly("2025-12-06", 365, every_days=7, size=20_000 * MB,
                                      rng=rng)
    series[b"repos/new"] = nightly("2026-11-27", 3, size=50 * MB, rng=rng)
    return Hub(series)


END = berlin("2026-11-30", 13)  # a listing at 13:00 Berlin time, the last day of the year


@dataclass
class Node:
    """How one node holds the hub's backups, and what the store knows of it at a time."""

    name: str
    root: str
    keep: int                   # the node's purge keeps this many newest backups a series
    delay: int = 0              # seconds from the hub's writing to the file's arrival here
    is_source: bool = False
    keep_min: int = 0
    keep_max: int = 0
    #: per series: another ``keep`` (a purge that stopped or ran wild)
    keep_of: dict[bytes, int] = field(default_factory=dict)
    #: (series, folder) never arrived here
    lost: set[tuple[bytes, str]] = field(default_factory=set)
    #: (series, folder, file) never arrived here
    lost_files: set[tuple[bytes, str, bytes]] = field(default_factory=set)
    #: (series, folder, file) -> what arrived instead: (size, content)
    damaged: dict[tuple[bytes, str, bytes], tuple[int, str]] = field(default_factory=dict)
    #: (series, folder, file) -> gzip's message: the archive test failed here
    broken: dict[tuple[bytes, str, bytes], str] = field(default_factory=dict)


class Observed(NamedTuple):
    """A node as the store holds it after its listing at ``observed_at``."""

    node: Node
    observed_at: int
    series: list[Series]
    verified: dict[bytes, Verification]


def listed_after(t: int) -> int:
    """The first hourly listing that sees a file that arrived at ``t``."""
    return -(-t // HOUR) * HOUR


@dataclass
class _Stored:
    """One series of a node over the whole time: every row with the gone time it will get."""

    series: Series
    first_seen: list[int]           # per backup, ascending
    ends: list[int]                 # per backup: how many rows up to and including it
    keep: int                       # backups that may still be present after the newest


class Timeline:
    """Everything the store will ever know of a node; :meth:`at` cuts it at one listing."""

    def __init__(self, hub: Hub, node: Node) -> None:
        self.node = node
        root = node.root.rstrip("/").encode()
        self.stored: list[_Stored] = []
        self.verified: dict[bytes, Verification] = {}
        for raw, backups in hub.series.items():
            arrived = [b for b in backups if (raw, b.folder) not in node.lost
                       and (b.removed is None or b.written + node.delay < b.removed)]
            if not arrived:
                continue
            first_seen = [listed_after(b.written + node.delay) for b in arrived]
            keep = node.keep_of.get(raw, node.keep)
            # the purge counts the backups it keeps, not the ones the hub removed itself
            kept = [i for i, b in enumerate(arrived) if b.removed is None]
            purged_by = {i: kept[k + keep] for k, i in enumerate(kept) if k + keep < len(kept)}
            rows: list[BackupFile] = []
            ends = []
            for i, b in enumerate(arrived):
                # the listing after the one that saw the backup `keep` newer finds it purged
                gone = first_seen[purged_by[i]] if i in purged_by else None
                if b.removed is not None:
                    gone = listed_after(b.removed)
                for name, size in sorted(b.files.items()):
                    key = (raw, b.folder, name)
                    if key in node.lost_files:
                        continue
                    size, content = node.damaged.get(key, (size, b.content[name]))
                    path = b"/".join([root, raw, b.folder.encode(), name])
                    rows.append(BackupFile(b.at, size, gone, path, first_seen[i]))
                    error = node.broken.get(key)
                    self.verified[path] = Verification(
                        _sha256(content),
                        (error is None) if node.is_source else None, error, first_seen[i])
                ends.append(len(rows))
            name = raw.decode("utf-8", "backslashreplace")
            # a backup the hub removed does not count for the purge: it keeps one more
            self.stored.append(_Stored(Series(name, raw, rows), first_seen, ends,
                                       keep + len(arrived) - len(kept)))

    def at(self, at: int) -> Observed:
        """What the store holds of the node after its hourly listing at ``at``: every file
        that arrived since the store began (gone ones with the listing that missed them),
        and a verify result for each file (its sha256; on a source, its gzip test too)."""
        at = listed_after(at)
        series = []
        for st in self.stored:
            seen = bisect.bisect_right(st.first_seen, at)
            if not seen:
                continue
            rows = st.series.backups[:st.ends[seen - 1]]
            # only the newest `keep` (and the one they push out) can still be present
            first = seen - st.keep - 1
            tail = st.ends[first - 1] if first > 0 else 0
            for j in range(tail, len(rows)):
                gone = rows[j].gone_at
                if gone is not None and gone > at:
                    rows[j] = rows[j]._replace(gone_at=None)
            series.append(st.series._replace(backups=rows))
        return Observed(self.node, at, series, self.verified)


def observe(hub: Hub, node: Node, at: int) -> Observed:
    return Timeline(hub, node).at(at)


@dataclass(frozen=True)
class Limits:
    """The thresholds of the docs' defaults, as plain values."""

    min_size_ratio: float = 0.5
    max_size_ratio: float = 4.0
    gap_days: float = 3
    copy_grace_hours: float = 6
    verify: tuple[str, ...] = ("size", "sha256", "gzip")


def findings(nodes: Iterable[Observed], limits: Limits = Limits(),
             retired: Callable[[str], bool] = lambda name: False,
             ) -> dict[str, dict[str, list[str]]]:
    """{node: {series: [reason, ...]}} for every finding of the history and copy checks,
    called the way check_node calls them."""
    return {node: {series: [r.reason for r in rs] for series, rs in by_series.items()}
            for node, by_series in reasons(nodes, limits, retired).items() if by_series}


def reasons(nodes: Iterable[Observed], limits: Limits = Limits(),
            retired: Callable[[str], bool] = lambda name: False,
            ) -> dict[str, dict[str, list]]:
    nodes = list(nodes)
    source = next((n for n in nodes if n.node.is_source), None)
    originals = None if source is None else Originals.of(
        source.node.name, source.series, source.verified, source.node.root, source.observed_at)
    out: dict[str, dict[str, list]] = {}
    for n in nodes:
        found: dict[str, list] = {}
        is_copy = source is not None and not n.node.is_source
        for s in n.series:
            if retired(s.name):
                continue
            rs = check_history(
                s.totals(present_only=True), s.totals(), observed_at=n.observed_at,
                timezone=ZONE, min_size_ratio=limits.min_size_ratio,
                max_size_ratio=limits.max_size_ratio,
                # a copy's missed night is not-copied (or the source's gap)
                gap_days=0 if is_copy else limits.gap_days,
                keep_min=n.node.keep_min, keep_max=n.node.keep_max)
            if rs:
                found[s.name] = rs
        judged = [s for s in n.series if not retired(s.name)]
        extra = [corrupt(judged, n.verified, n.node.root, originals if is_copy else None)]
        if is_copy:
            assert originals is not None
            extra.append(check_copy(n.node.name, n.series, n.verified, n.node.root,
                                    n.observed_at, originals,
                                    grace_hours=limits.copy_grace_hours, verify=limits.verify,
                                    retired=retired))
        for more in extra:
            for name, rs in more.items():
                found.setdefault(name, []).extend(rs)
        out[n.node.name] = found
    return out


def three_nodes() -> tuple[Node, Node, Node]:
    """The hub's own tree S (keeps 30 nights), C keeping 60 (more than the source) and H1
    keeping 30; both copies receive each backup one to two hours after it was written."""
    return (Node("S", "/var/scm/backup/cms02", keep=30, is_source=True, keep_min=30,
                 keep_max=31),
            Node("C", "/data/var/scm/backup/cms02/", keep=60, delay=HOUR, keep_min=60,
                 keep_max=61),
            Node("H1", "/backup", keep=30, delay=2 * HOUR, keep_min=30, keep_max=31))


def observe_all(hub: Hub, nodes: Iterable[Node], at: int = END) -> list[Observed]:
    return [Timeline(hub, n).at(at) for n in nodes]


def with_node(node: Node, **changes: object) -> Node:
    return replace(node, **changes)  # type: ignore[arg-type]


def local(at: int) -> str:
    return datetime.fromtimestamp(at, ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M")


def utc(at: int) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat()

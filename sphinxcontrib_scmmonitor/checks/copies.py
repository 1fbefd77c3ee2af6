"""The verify checks: each copy's backups against the source's originals, and archive tests.

``copy-differs``, ``not-copied`` and ``missing`` judge a copy node against its
hub's source node, backup by backup, matched by the path relative to each
node's root; ``corrupt`` reports the stored ``gzip -t`` results of any node.
Pure functions of the store's read model (docs/concepts.rst, "Copies and
history checks").
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from ..collect.listing import printable
from .reasons import Reason

#: a finding lists this many files or dated folders by name, then counts the rest
NAMED = 5


class BackupRow(Protocol):
    """One stored file of a series (``store.BackupFile``)."""

    @property
    def backup_at(self) -> int: ...
    @property
    def size(self) -> int: ...
    @property
    def gone_at(self) -> int | None: ...
    @property
    def path(self) -> bytes: ...
    @property
    def first_seen_at(self) -> int | None: ...


class SeriesRows(Protocol):
    """One stored series (``store.SeriesData``)."""

    @property
    def name(self) -> str: ...
    @property
    def raw_name(self) -> bytes: ...
    @property
    def backups(self) -> Sequence[BackupRow]: ...


class Checked(Protocol):
    """What the verify steps found about one file (``store.Verification``)."""

    @property
    def sha256(self) -> str | None: ...
    @property
    def gzip_ok(self) -> bool | None: ...
    @property
    def gzip_error(self) -> str | None: ...


def root_prefix(root: str | bytes) -> bytes:
    """``root`` as the bytes every listed path of the node starts with, slash included."""
    raw = root.encode("utf-8", "surrogateescape") if isinstance(root, str) else root
    return raw.rstrip(b"/") + b"/"


def appeared(row: BackupRow) -> int:
    """When an original was there to be copied: its dated time, or when it was first seen
    if that was later (a backup written late, or a store younger than the backup)."""
    return max(row.backup_at, row.first_seen_at or row.backup_at)


@dataclass
class _SourceSeries:
    name: str
    #: every original ever seen, ascending by time
    rows: list[BackupRow] = field(default_factory=list)


@dataclass
class Originals:
    """The source node's backups by relative path: built once, shared by all its copies."""

    node: str
    observed_at: float | None
    prefix: bytes
    #: relative path -> the original (present or already purged) and its verify results
    paths: dict[bytes, tuple[BackupRow, Checked | None]]
    #: raw series name -> its originals
    series: dict[bytes, _SourceSeries]

    @classmethod
    def of(cls, node: str, series: Iterable[SeriesRows], verified: Mapping[bytes, Checked],
           root: str | bytes, observed_at: float | None) -> Originals:
        prefix = root_prefix(root)
        cut = len(prefix)
        paths: dict[bytes, tuple[BackupRow, Checked | None]] = {}
        by_series: dict[bytes, _SourceSeries] = {}
        for s in series:
            rows = [r for r in s.backups if r.path.startswith(prefix)]
            by_series[s.raw_name] = _SourceSeries(s.name, rows)
            for r in rows:
                paths[r.path[cut:]] = (r, verified.get(r.path))
        return cls(node, observed_at, prefix, paths, by_series)


def check_copy(node: str, series: Iterable[SeriesRows], verified: Mapping[bytes, Checked],
               root: str | bytes, observed_at: float | None, originals: Originals, *,
               grace_hours: float, verify: Collection[str],
               retired: Callable[[str], bool] = lambda name: False,
               ) -> dict[str, list[Reason]]:
    """The copy node's findings against the source, by series name.

    ``copy-differs`` and ``not-copied`` on the copy's series; ``missing`` for a series the
    source holds and the copy never had (check_node makes a status row of it). Nothing is
    judged before both nodes were listed; an original is due on the copy once
    ``grace_hours`` have passed since it appeared, as of the copy's listing.
    """
    if observed_at is None or originals.observed_at is None:
        return {}
    grace = grace_hours * 3600
    due = observed_at - grace
    sha = "sha256" in verify
    prefix = root_prefix(root)
    out: dict[str, list[Reason]] = {}
    held: set[bytes] = set()
    for s in series:
        if s.backups:
            held.add(s.raw_name)
        if retired(s.name):
            continue
        present = [r for r in s.backups if r.gone_at is None and r.path.startswith(prefix)]
        reasons = _differs(node, present, verified, prefix, originals, due, sha)
        source = originals.series.get(s.raw_name)
        if present and source:
            reasons += _not_copied(node, s.raw_name, present, prefix, originals, source, due,
                                   grace)
        if reasons:
            out[s.name] = reasons
    for raw, source in originals.series.items():
        if raw in held or retired(source.name):
            continue
        waiting = [appeared(r) for r in source.rows if r.gone_at is None]
        if waiting and min(waiting) < due:
            since = datetime.fromtimestamp(min(waiting), UTC).strftime("%Y-%m-%d")
            out.setdefault(source.name, []).append(Reason(
                "missing", f"on the source {originals.node} (since {since}) but no backup of "
                           f"it on {node}"))
    return out


def corrupt(series: Iterable[SeriesRows], verified: Mapping[bytes, Checked], root: str | bytes,
            originals: Originals | None = None) -> dict[str, list[Reason]]:
    """``corrupt``: present backups whose stored ``gzip -t`` failed, by series name.

    On a copy (``originals`` given), a file whose original failed the test too is the
    source's finding (the root cause), not repeated on every copy.
    """
    bad = {path: check for path, check in verified.items() if check.gzip_ok is False}
    if not bad:
        return {}
    cut = len(root_prefix(root))
    out: dict[str, list[Reason]] = {}
    for s in series:
        found: list[tuple[BackupRow, str]] = []
        for r in s.backups:
            check = bad.get(r.path) if r.gone_at is None else None
            if check is None:
                continue
            if originals is not None:
                original = originals.paths.get(r.path[cut:])
                if original and original[1] and original[1].gzip_ok is False:
                    continue
            message = check.gzip_error or "gzip -t failed"
            found.append((r, f"{printable(r.path[cut:])}: "
                             f"{printable(message.encode('utf-8', 'backslashreplace'))}"))
        if found:
            out[s.name] = [Reason("corrupt", "does not decompress: "
                                  + _named([text for _, text in found], "; "),
                                  _times(r for r, _ in found))]
    return out


def _differs(node: str, present: list[BackupRow], verified: Mapping[bytes, Checked],
             prefix: bytes, originals: Originals, due: float, sha: bool) -> list[Reason]:
    cut = len(prefix)
    found: list[tuple[BackupRow, str]] = []
    for r in present:
        rel = r.path[cut:]
        known = originals.paths.get(rel)
        if known is None:
            continue  # a backup the source never had or already purged: fine
        original, original_check = known
        if appeared(original) >= due:
            continue  # may still be on its way
        if r.size != original.size:
            found.append((r, f"{printable(rel)} is {_bytes(r.size)} on {node}, "
                             f"{_bytes(original.size)} on {originals.node}"))
        elif sha and original_check and original_check.sha256:
            check = verified.get(r.path)
            if check and check.sha256 and check.sha256 != original_check.sha256:
                found.append((r, f"{printable(rel)} has sha256 {check.sha256} on {node}, "
                                 f"{original_check.sha256} on {originals.node}"))
    if not found:
        return []
    return [Reason("copy-differs", _named([text for _, text in found], "; "),
                   _times(r for r, _ in found))]


def _not_copied(node: str, raw: bytes, present: list[BackupRow], prefix: bytes,
                originals: Originals, source: _SourceSeries, due: float,
                grace: float) -> list[Reason]:
    cut = len(prefix)
    oldest = present[0].backup_at
    here = {r.path[cut:] for r in present}
    absent: dict[bytes, list[tuple[BackupRow, bytes]]] = {}
    folder_size: dict[bytes, int] = {}
    src_cut = len(originals.prefix)
    series_cut = len(raw) + 1
    for r in source.rows:
        if r.backup_at <= oldest or appeared(r) >= due:
            continue
        # an original purged before its grace was over (a failed try the hub removed) was
        # never due; one purged later (a source keeping only the newest) still was
        if r.gone_at is not None and r.gone_at < appeared(r) + grace:
            continue
        rel = r.path[src_cut:]
        folder = rel[series_cut:].rpartition(b"/")[0]
        folder_size[folder] = folder_size.get(folder, 0) + 1
        if rel not in here:
            absent.setdefault(folder, []).append((r, rel[series_cut:]))
    if not absent:
        return []
    names = [printable(folder) if len(rows) == folder_size[folder]
             else ", ".join(printable(within) for _, within in rows)
             for folder, rows in absent.items()]
    verb = "is" if len(names) == 1 else "are"
    return [Reason("not-copied", f"{_named(names, ', ')} {verb} on {originals.node}, "
                                 f"not on {node}",
                   _times(r for rows in absent.values() for r, _ in rows))]


def _named(items: list[str], sep: str) -> str:
    if len(items) <= NAMED:
        return sep.join(items)
    return f"{sep.join(items[:NAMED])}{sep}and {len(items) - NAMED} more"


def _times(rows: Iterable[BackupRow]) -> tuple[int, ...]:
    return tuple(sorted({r.backup_at for r in rows}))


def _bytes(size: int) -> str:
    from . import human_size  # the package imports this module: late, to avoid a cycle

    return f"{human_size(size)} ({size} B)"

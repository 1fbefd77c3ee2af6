"""The verify checks: each copy's backups against the source's originals, and archive tests.

``copy-differs``, ``not-copied`` and ``missing`` judge a copy node against its
hub's source node, backup by backup, matched by the path relative to each
node's root; ``corrupt`` reports the stored ``gzip -t`` results of any node.
Pure functions of the store's read model (docs/concepts.rst, "Copies and
history checks").
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from operator import attrgetter, itemgetter
from typing import TYPE_CHECKING, Protocol

from ..store.records import root_prefix
from ..text import human_size
from .reasons import Reason
from .words import named, shown

if TYPE_CHECKING:
    # the store's read model itself: plain records without SQL (store/records.py)
    from ..store.records import BackupFile as BackupRow
    from ..store.records import SeriesData as SeriesRows


class Checked(Protocol):
    """What the verify steps found about one file (``store.Verification``)."""

    @property
    def sha256(self) -> str | None: ...
    @property
    def gzip_ok(self) -> bool | None: ...
    @property
    def gzip_error(self) -> str | None: ...


_backup_at = attrgetter("backup_at")
_path = attrgetter("path")
_size = attrgetter("size")


@dataclass
class Originals:
    """The source node as its copies are judged against it (built once, shared by all)."""

    node: str
    observed_at: float | None
    prefix: bytes
    #: raw series name -> the series, every original ever seen (present or purged)
    series: dict[bytes, SeriesRows]
    verified: Mapping[bytes, Checked]

    @classmethod
    def of(cls, node: str, series: Iterable[SeriesRows], verified: Mapping[bytes, Checked],
           root: str | bytes, observed_at: float | None) -> Originals:
        return cls(node, observed_at, root_prefix(root), {s.raw_name: s for s in series},
                   verified)

    def check(self, relative: bytes) -> Checked | None:
        """The verify results of the original at a relative path, if it was verified."""
        return self.verified.get(self.prefix + relative)


def check_copy(node: str, series: Iterable[SeriesRows], verified: Mapping[bytes, Checked],
               root: str | bytes, observed_at: float | None, originals: Originals, *,
               grace_hours: float, verify: Collection[str],
               retired: Callable[[str], bool] = lambda name: False,
               ) -> dict[str, list[Reason]]:
    """The copy node's findings against the source, by series name.

    ``copy-differs`` and ``not-copied`` on the copy's series; ``missing`` for a series the
    source holds and the copy never had (check_node makes a status row of it). Nothing is
    judged before both nodes were listed; an original is due on the copy once it is
    ``grace_hours`` older than the copy's listing (by its dated time: a store that has
    just begun knows the hub's history at once).
    """
    if observed_at is None or originals.observed_at is None:
        return {}
    copy = _Copy(node, root_prefix(root), verified, originals, grace_hours * 3600,
                 observed_at - grace_hours * 3600, "sha256" in verify)
    out: dict[str, list[Reason]] = {}
    held: set[bytes] = set()
    for s in series:
        if s.backups:
            held.add(s.raw_name)
        source = originals.series.get(s.raw_name)
        if source is None or retired(s.name):
            continue  # a series the source does not hold (any more) is the copy's own
        present = [r for r in s.backups if r.gone_at is None]
        if present:
            reasons = copy.judge(s.raw_name, present, source.backups)
            if reasons:
                out[s.name] = reasons
    for raw, source in originals.series.items():
        if raw in held or retired(source.name):
            continue
        waiting = [r.backup_at for r in source.backups if r.gone_at is None]
        if waiting and min(waiting) < copy.due:
            since = datetime.fromtimestamp(min(waiting), UTC).strftime("%Y-%m-%d")
            out[source.name] = [Reason(
                "missing", f"on the source {originals.node} (since {since}) but no backup of "
                           f"it on {node}")]
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
            rel = r.path[cut:]
            original = originals.check(rel) if originals is not None else None
            if original is not None and original.gzip_ok is False:
                continue
            message = check.gzip_error or "gzip -t failed"
            found.append((r, f"{shown(rel)}: "
                             f"{shown(message.encode('utf-8', 'backslashreplace'))}"))
        if found:
            out[s.name] = [Reason("corrupt", "does not decompress: "
                                  + named([text for _, text in found], "; "),
                                  _times(r for r, _ in found))]
    return out


@dataclass
class _Copy:
    """One copy node judged series by series against the originals."""

    node: str
    prefix: bytes
    verified: Mapping[bytes, Checked]
    originals: Originals
    grace: float
    #: an original dated before this is due on the copy
    due: float
    sha: bool

    def judge(self, raw: bytes, present: Sequence[BackupRow],
              originals: Sequence[BackupRow]) -> list[Reason]:
        # only the originals from the copy's oldest backup on can be compared or be due:
        # older ones the copy has purged, or never had (a copy keeping less history)
        oldest = present[0].backup_at
        window = originals[bisect_left(originals, oldest, key=_backup_at):]
        mine = list(map(itemgetter(slice(len(self.prefix), None)), map(_path, present)))
        theirs = list(map(itemgetter(slice(len(self.originals.prefix), None)),
                          map(_path, window)))
        n = len(mine)
        # the usual case, file for file the source's window (maybe but its newest ones,
        # still on their way): compared as whole lists, at C speed
        if (mine == theirs[:n] and list(map(_size, present)) == list(map(_size, window[:n]))
                and all(r.backup_at >= self.due for r in window[n:])):
            return self._checksums(mine, present, window)
        here = dict(zip(mine, present, strict=True))
        by_path = dict(zip(theirs, window, strict=True))
        return [*self._differs(here, by_path), *self._not_copied(raw, oldest, here, by_path)]

    def _checksums(self, mine: list[bytes], present: Sequence[BackupRow],
                   window: Sequence[BackupRow]) -> list[Reason]:
        """``copy-differs`` by checksum alone, for a copy whose sizes all match."""
        if not self.sha or not self.verified:
            return []
        index = dict(zip(map(_path, present), range(len(present)), strict=True))
        hashed = sorted(index[path] for path in self.verified.keys() & index.keys())
        return self._differs({mine[i]: present[i] for i in hashed},
                             {mine[i]: window[i] for i in hashed})

    def _differs(self, here: dict[bytes, BackupRow],
                 window: dict[bytes, BackupRow]) -> list[Reason]:
        # the healthy case is one lookup and one comparison a file; the rest only on a hint
        source = self.originals.node
        verified = self.verified if self.sha else {}
        found: list[tuple[BackupRow, str]] = []
        for rel, r in here.items():
            original = window.get(rel)
            if original is None:
                continue  # a backup the source never had or already purged: fine
            if r.size != original.size:
                if original.backup_at < self.due:  # else it may still be on its way
                    found.append((r, f"{shown(rel)} is {_bytes(r.size)} on {self.node}, "
                                     f"{_bytes(original.size)} on {source}"))
                continue
            check = verified.get(r.path)
            if check is None or not check.sha256:
                continue
            theirs = self.originals.verified.get(original.path)
            if (theirs is not None and theirs.sha256 and theirs.sha256 != check.sha256
                    and original.backup_at < self.due):
                found.append((r, f"{shown(rel)} has sha256 {check.sha256} on {self.node}, "
                                 f"{theirs.sha256} on {source}"))
        if not found:
            return []
        return [Reason("copy-differs", named([text for _, text in found], "; "),
                       _times(r for r, _ in found))]

    def _not_copied(self, raw: bytes, oldest: int, here: dict[bytes, BackupRow],
                    window: dict[bytes, BackupRow]) -> list[Reason]:
        within = len(raw) + 1
        absent: dict[bytes, list[tuple[BackupRow, bytes]]] = {}
        for rel, r in window.items():
            if rel in here or r.backup_at <= oldest:
                continue
            if r.backup_at >= self.due:
                continue
            # an original purged before its grace was over (a failed try the hub removed)
            # was never due; one purged later (a source keeping only the newest) still was
            if r.gone_at is not None and r.gone_at < r.backup_at + self.grace:
                continue
            absent.setdefault(rel[within:].rpartition(b"/")[0], []).append((r, rel[within:]))
        if not absent:
            return []
        # a whole dated folder absent is named as the folder, else its absent files
        files_in: dict[bytes, int] = dict.fromkeys(absent, 0)
        for rel in window:
            folder = rel[within:].rpartition(b"/")[0]
            if folder in files_in:
                files_in[folder] += 1
        names = [shown(folder) if len(rows) == files_in[folder]
                 else ", ".join(shown(file) for _, file in rows)
                 for folder, rows in absent.items()]
        verb = "is" if len(names) == 1 else "are"
        return [Reason("not-copied", f"{named(names, ', ')} {verb} on {self.originals.node}, "
                                     f"not on {self.node}",
                       _times(r for rows in absent.values() for r, _ in rows))]


def _times(rows: Iterable[BackupRow]) -> tuple[int, ...]:
    return tuple(sorted({r.backup_at for r in rows}))


def _bytes(size: int) -> str:
    # the exact count too: a copy one byte short must not read as "1.0 GB on both"
    return f"{size} B" if size < 1024 else f"{human_size(size)} ({size} B)"

"""A series' backups as the checks read them: files summed per dated folder, split by time.

``present`` (on the node now), ``history`` (every backup ever seen) and
``future`` (dated more than a day after the listing that first saw it: a wrong
clock, docs/concepts.rst ``future``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NamedTuple

from ..store.records import FUTURE_AFTER_S, root_prefix
from ..text import iso_utc
from .words import shown

if TYPE_CHECKING:
    from ..store import SeriesData



class Folder(NamedTuple):
    """One backup: the files of one dated folder of a series, summed."""

    at: int
    size: int                          # every file ever seen in it
    present_size: int                  # the files on the node now
    present_count: int
    first_seen_at: int | None          # the earliest collection that saw one of its files
    start: int                         # its files are ``series.backups[start:end]``
    end: int


@dataclass
class Backups:
    """A series' backups split the way the checks read them (docs/concepts.rst).

    ``present`` and ``history`` leave out future-dated backups: a wrong clock must
    not pass for the newest backup, nor for one in the series' past.
    """

    series: SeriesData
    prefix: bytes                      # the node's root, as listed paths start with it
    present: list[Folder]              # on the node now, ascending
    history: list[Folder]              # every backup ever seen, gone ones too, ascending
    future: list[Folder]               # on the node now, dated > 24 h after first seen

    @classmethod
    def of(cls, series: SeriesData, root: str | bytes, as_of: float) -> Backups:
        # one pass, plain locals and one object per backup (not per file): this runs for
        # every series of every node on every status, mail and export (BENCHMARKS.md row 5)
        folders: list[Folder] = []
        append = folders.append
        last: int | None = None
        start = size = present_size = present_count = 0
        first_seen: int | None = None
        i = -1
        for i, b in enumerate(series.backups):  # ascending by backup_at, then path
            at = b.backup_at
            if at != last:
                if last is not None:
                    append(Folder(last, size, present_size, present_count, first_seen, start, i))
                last, start, size, present_size, present_count, first_seen = at, i, 0, 0, 0, None
            size += b.size
            if b.gone_at is None:
                present_size += b.size
                present_count += 1
            seen = b.first_seen_at
            if seen is not None and (first_seen is None or seen < first_seen):
                first_seen = seen
        if last is not None:
            append(Folder(last, size, present_size, present_count, first_seen, start, i + 1))
        present: list[Folder] = []
        history: list[Folder] = []
        future: list[Folder] = []
        for f in folders:
            # a backup stored before first_seen_at was kept was seen by now at the latest
            seen_at = f.first_seen_at if f.first_seen_at is not None else as_of
            if f.at > seen_at + FUTURE_AFTER_S:
                if f.present_count:
                    future.append(f)
                continue
            history.append(f)
            if f.present_count:
                present.append(f)
        return cls(series, root_prefix(root), present, history, future)

    @property
    def name(self) -> str:
        return self.series.name

    def files(self, folder: Folder) -> list[Any]:
        """The folder's files on the node now (``store.BackupFile``)."""
        return [b for b in self.series.backups[folder.start:folder.end] if b.gone_at is None]

    def present_totals(self) -> list[tuple[int, int]]:
        """``(backup_at, summed size)`` of the backups on the node now, future ones left out."""
        return [(f.at, f.present_size) for f in self.present]

    def history_totals(self) -> list[tuple[int, int]]:
        """``(backup_at, summed size)`` of every backup ever seen, future ones left out."""
        return [(f.at, f.size) for f in self.history]

    def relative(self, path: bytes) -> str:
        """A listed path as the operator knows it: below the node's root, printable."""
        return shown(path[len(self.prefix):] if path.startswith(self.prefix) else path)

    def folder_name(self, folder: Folder) -> str:
        """``repos/env/2027/06/01/000000``: the dated folder of a backup."""
        paths = [b.path for b in self.files(folder) if b.path]
        if not paths:  # stored without paths: the series and the time still say which
            return f"{self.name} {iso_utc(folder.at)}"
        return self.relative(paths[0].rpartition(b"/")[0])

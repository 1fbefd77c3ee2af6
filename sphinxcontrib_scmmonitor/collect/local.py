"""List backups on this machine's own disk (``host = "local"``), and the lister interface.

Walks the tree with ``os.scandir`` on bytes paths, never following symlinks,
and feeds the same parser the SSH lister uses.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Iterator

from ..config import NodeSettings
from ..store import Record
from .listing import ListingParser, printable


class CollectError(Exception):
    """A node could not be listed; the message says why and what to do."""


class Lister:
    """Produces a node's records; after iteration says how and how completely."""

    def __init__(self, node: NodeSettings) -> None:
        self.node = node
        self.method = ""
        self.complete = True
        self.problems: list[str] = []
        self._started_at: tuple[float, float] | None = None

    def start(self) -> tuple[float, float]:
        """Begin the listing ahead of :meth:`records` (a remote node's ``find`` then runs
        while the store is opened; it only reads the node). Only the first call does it;
        each returns when that was: ``time.time()`` and ``time.monotonic()``."""
        if self._started_at is None:
            self._started_at = (time.time(), time.monotonic())
            self.begin()
        return self._started_at

    def begin(self) -> None:
        """What :meth:`start` does for this kind of node (nothing, unless overridden)."""

    def forget_start(self) -> None:
        """The listing was read (or given up): the next :meth:`start` begins a new one."""
        self._started_at = None

    def records(self, parser: ListingParser) -> Iterator[Record]:  # pragma: no cover
        raise NotImplementedError

    def abort(self) -> None:
        """Stop a listing from another thread (used when a node overruns its time)."""


def matches(name: bytes, pattern: bytes) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


class LocalLister(Lister):
    """Reads the backup tree from the local file system."""

    def records(self, parser: ListingParser) -> Iterator[Record]:
        self.method = "local"
        root = self.node.root.encode("utf-8", "surrogateescape")
        if not os.path.isdir(root):
            raise CollectError(f"backup root {self.node.root} does not exist or is not a folder")
        pattern = os.fsencode(self.node.pattern)
        stack = [root]
        while stack:
            folder = stack.pop()
            try:
                with os.scandir(folder) as it:
                    entries = list(it)
            except OSError as exc:
                self.complete = False
                # printable, not fsdecode: a non-UTF-8 name would carry surrogates that no
                # database, terminal or mail can encode, and lose the whole run
                self.problems.append(f"cannot list {printable(folder)}: {exc.strerror}")
                continue
            for entry in entries:
                try:
                    if entry.is_dir(follow_symlinks=False):
                        stack.append(entry.path)
                    elif entry.is_file(follow_symlinks=False) and matches(entry.name, pattern):
                        st = entry.stat(follow_symlinks=False)
                        rec = parser.path_record(entry.path, st.st_size,
                                                 st.st_mtime_ns // 1_000_000_000)
                        if rec is not None:
                            yield rec
                except OSError as exc:
                    self.complete = False
                    self.problems.append(f"cannot read {printable(entry.path)}: "
                                         f"{exc.strerror}")

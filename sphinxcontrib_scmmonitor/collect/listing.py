"""Bytes of a node's listing -> backup records.

A listing is a stream of ``size TAB mtime TAB path NUL`` records (what GNU
``find -printf '%s\\t%T@\\t%p\\0'`` writes); mtimes are kept in whole
seconds. Paths stay bytes: names need not be UTF-8 and may hold tabs or
newlines. The series is the part of the path
between the root and the dated folders, the date comes from ``date_layout``
read in the node's time zone and is stored as UTC epoch seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from ..store import Record, root_prefix
from ..text import remote_name as printable  # display(), control characters as \xNN too

__all__ = ["UNPARSED_SAMPLE", "DateLayout", "ListingParser", "ListingStats", "PathParser",
           "display", "printable"]

UNPARSED_SAMPLE = 10
_DATE_CACHE = 10_000
#: The exact sub-patterns ``datetime.strptime`` uses, so the fast path reads an ambiguous
#: text (``2460`` for %H%M%S, ``2012131`` for %Y%m%d) the way strptime does.
_FAST_DIRECTIVES = {"Y": r"(\d\d\d\d)", "m": r"(1[0-2]|0[1-9]|[1-9])",
                    "d": r"(3[01]|[12]\d|0[1-9]|[1-9]| [1-9])", "H": r"(2[0-3]|[01]\d|\d)",
                    "M": r"([0-5]\d|\d)", "S": r"(6[01]|[0-5]\d|\d)"}
_MAX_SIZE = 2**63 - 1  # a BIGINT: anything larger is garbage, not a file
_EPOCH = datetime(1970, 1, 1)
_UTC_NAMES = {"UTC", "Etc/UTC", "Etc/GMT", "GMT", "Z", "Zulu", "UCT", "Universal"}


class DateLayout:
    """Turns the dated folders of a path (``2012/11/13/161002``) into UTC epoch seconds."""

    def __init__(self, layout: str, timezone: str = "UTC") -> None:
        self.layout = layout
        self.parts = layout.count("/") + 1
        self.zone = ZoneInfo(timezone)
        self._utc = timezone in _UTC_NAMES
        self._fast, self._order = _compile(layout)
        self._full = self._order == ["Y", "m", "d", "H", "M", "S"]
        self._cache: dict[bytes, int | None] = {}

    def parse(self, text: bytes) -> int | None:
        """Epoch seconds UTC, or None when ``text`` does not fit the layout."""
        try:
            return self._cache[text]
        except KeyError:
            pass
        value = self._parse(text)
        # Hits come from many series sharing one nightly timestamp (10 years of daily runs
        # is 3,650 keys); a tree whose every folder is unique never hits, and a bigger cap
        # only held ~10 MB per 100,000 files of dead entries (BENCHMARKS.md row 8).
        if len(self._cache) > _DATE_CACHE:
            self._cache.clear()
        self._cache[text] = value
        return value

    def _parse(self, text: bytes) -> int | None:
        try:
            s = text.decode("ascii")
        except UnicodeDecodeError:
            return None
        if not s.isprintable():
            return None
        try:
            if self._fast is not None:
                # match + end check, not fullmatch: strptime does not backtrack for a
                # longer reading once one reading matched
                m = self._fast.match(s)
                if m is None or m.end() != len(s):
                    return None
                if self._full:  # the default layout: no dict per file (~1 µs of 6)
                    y, mo, d, h, mi, sec = map(int, m.groups())
                    dt = datetime(y, mo, d, h, mi, sec)
                else:
                    f = dict(zip(self._order, map(int, m.groups()), strict=True))
                    dt = datetime(f.get("Y", 1900), f.get("m", 1), f.get("d", 1),
                                  f.get("H", 0), f.get("M", 0), f.get("S", 0))
            else:
                dt = datetime.strptime(s, self.layout)
        except ValueError:
            return None
        if self._utc:
            # exact integer arithmetic, ~4x cheaper than calendar.timegm(dt.timetuple())
            delta = dt - _EPOCH
            return delta.days * 86400 + delta.seconds
        # fold=0: an hour that repeats when clocks go back is read as its first occurrence
        local = dt.replace(tzinfo=self.zone)
        first = int(local.timestamp())
        before, after = local.utcoffset(), dt.replace(tzinfo=self.zone, fold=1).utcoffset()
        if before is not None and after is not None and before < after:
            # A time the clocks skipped (02:30 on a spring-forward night): fold=0 would
            # read it with the old offset, onto the same instant as 03:30, and two
            # backups would merge into one of double size. Read as the instant the
            # clocks jumped instead: after every time before the gap, before 03:00:01.
            return self._jump_before(first, int((after - before).total_seconds()), after)
        return first

    def _jump_before(self, latest: int, gap: int, after: timedelta) -> int:
        """The first second at or before ``latest`` from which the zone's offset is ``after``."""
        lo, hi = latest - gap, latest  # the offset is the old one at lo, the new one at hi
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.zone).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return hi


def _compile(layout: str) -> tuple[re.Pattern[str] | None, list[str]]:
    """A regex for layouts made only of %Y %m %d %H %M %S and literals, else None."""
    out: list[str] = []
    order: list[str] = []
    i = 0
    while i < len(layout):
        ch = layout[i]
        if ch == "%":
            if i + 1 >= len(layout):
                return None, []
            d = layout[i + 1]
            if d == "%":
                out.append("%")
            elif d in _FAST_DIRECTIVES and d not in order:
                out.append(_FAST_DIRECTIVES[d])
                order.append(d)
            else:
                return None, []
            i += 2
        else:
            if ch.isspace() or not ch.isascii():
                return None, []  # strptime treats white space loosely; let it decide
            out.append(re.escape(ch))
            i += 1
    # strptime matches literals case-insensitively
    return re.compile("".join(out), re.ASCII | re.IGNORECASE), order


@dataclass
class ListingStats:
    """What a parser saw besides the records it produced."""

    files_seen: int = 0
    unparsed: int = 0
    bad_records: int = 0
    truncated: bool = False
    unparsed_sample: list[str] = field(default_factory=list)

    def note_unparsed(self, path: bytes) -> None:
        self.unparsed += 1
        if len(self.unparsed_sample) < UNPARSED_SAMPLE:
            self.unparsed_sample.append(printable(path))


class PathParser:
    """Splits a file's path below ``root`` into series and backup time."""

    def __init__(self, root: str | bytes, layout: DateLayout) -> None:
        self.prefix = root_prefix(root)
        self.layout = layout
        self.n = layout.parts
        # one bytes object per series, shared by all its records, not one per file
        self._series: dict[bytes, bytes] = {}

    def split(self, path: bytes) -> tuple[bytes, int] | None:
        """(series, epoch seconds) or None when the path has no date part where expected."""
        if not path.startswith(self.prefix):
            return None
        parts = path[len(self.prefix):].split(b"/")
        if len(parts) < self.n + 2 or not all(parts):
            return None
        at = self.layout.parse(b"/".join(parts[-1 - self.n:-1]))
        if at is None:
            return None
        series = b"/".join(parts[:-1 - self.n])
        return self._series.setdefault(series, series), at


class ListingParser:
    """Incremental parser: feed it chunks as they arrive, get records out."""

    def __init__(self, root: str | bytes, layout: DateLayout) -> None:
        self.paths = PathParser(root, layout)
        self.stats = ListingStats()
        self._tail = b""

    def feed(self, chunk: bytes) -> Iterator[Record]:
        data = self._tail + chunk if self._tail else chunk
        pieces = data.split(b"\0")
        self._tail = pieces.pop()
        for raw in pieces:
            if raw:
                rec = self._record(raw)
                if rec is not None:
                    yield rec

    def close(self) -> None:
        """End of stream: anything left over was cut off mid-record."""
        if self._tail:
            self.stats.truncated = True
            self.stats.bad_records += 1
            self._tail = b""

    def _record(self, raw: bytes) -> Record | None:
        fields = raw.split(b"\t", 2)
        if len(fields) != 3:
            self.stats.bad_records += 1
            return None
        size_b, mtime_b, path = fields
        try:
            size = int(size_b)
        except ValueError:
            self.stats.bad_records += 1
            return None
        mtime = _whole_seconds(mtime_b)
        if not 0 <= size <= _MAX_SIZE or not path.startswith(b"/") or mtime is None:
            self.stats.bad_records += 1
            return None
        return self.path_record(path, size, mtime)

    def path_record(self, path: bytes, size: int, mtime: float) -> Record | None:
        """A record for one file found by any lister (find, SFTP, the local disk).

        ``mtime`` is kept in whole seconds, the precision every lister has (SFTP has no
        more): a node listed once by find and once over SFTP keeps equal records.
        """
        self.stats.files_seen += 1
        split = self.paths.split(path)
        if split is None:
            self.stats.note_unparsed(path)
            return None
        return Record(path=path, series=split[0], backup_at=split[1], size=size,
                      mtime=float(math.floor(mtime)))


def _whole_seconds(text: bytes) -> int | None:
    """find's ``%T@`` (``1352794202.5372351230``) as whole seconds, the way stat() floors.

    Read from the digits, not through a float: a float rounds ``...202.9999999999`` up
    to the next second, and SFTP would then disagree about an unchanged file.
    """
    whole, _, frac = text.partition(b".")
    digits = whole[1:] if whole.startswith(b"-") else whole
    if not digits.isdigit() or not digits.isascii() or (frac and not frac.isdigit()):
        return None
    seconds = int(whole)
    if whole.startswith(b"-") and frac.strip(b"0"):
        seconds -= 1
    return seconds


def display(raw: bytes) -> str:
    """A text form of a raw name: undecodable bytes as \\xNN, never an exception."""
    return raw.decode("utf-8", "backslashreplace")

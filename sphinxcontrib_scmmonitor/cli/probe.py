"""``scm-monitor init --probe HOST ROOT``: list one node and work out the settings that fit it.

The node is listed the way ``collect`` lists it (the same listers, the same
host-key rules); the date layout and file pattern are guessed from what is
found, and :func:`report` shows what ``collect`` would store with them.
:mod:`.init` writes the settings into the configuration it proposes.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from .. import config as config_mod
from ..collect.listing import DateLayout, ListingParser, PathParser, display
from ..collect.local import CollectError, Lister
from ..collect.runner import make_lister
from ..store import Record
from ..text import escape_controls, human_age, human_size, toml_value
from .exits import FAILED, USAGE

#: Layouts tried by --probe, most common first; ties go to the earlier one.
CANDIDATE_LAYOUTS: tuple[str, ...] = (
    "%Y/%m/%d/%H%M%S",
    "%Y/%m/%d/%H%M",
    "%Y/%m/%d",
    "%Y-%m-%d",
    "%Y-%m-%d_%H%M%S",
    "%Y-%m-%dT%H%M%S",
    "%Y%m%d-%H%M%S",
    "%Y%m%d_%H%M%S",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y/%m",
)
_PLAUSIBLE_FROM = 631152000  # 1990-01-01: older "dates" are digits that happen to parse


class InitError(Exception):
    """``init`` cannot go on; ``status`` is the exit status, the message says what to do."""

    def __init__(self, message: str, status: int = USAGE) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SeriesSeen:
    """One series as ``collect`` would store it."""

    name: str
    backups: int
    files: int
    newest: int
    newest_size: int
    utf8: bool = True  # False: the raw name is not UTF-8, so TOML cannot name it exactly


@dataclass
class Probe:
    """What one node's tree looks like, and the settings that fit it."""

    host: str
    root: str
    user: str
    port: int
    method: str
    files: int
    seconds: float
    layout: str
    layout_counts: dict[str, int]
    pattern: str
    suffixes: Counter[str]
    series: list[SeriesSeen] = field(default_factory=list)
    unparsed: int = 0
    unparsed_sample: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def select(self) -> list[str]:
        return [s.name for s in self.series if s.utf8]


class _Capture(ListingParser):
    """A parser that keeps every listed file instead of interpreting it."""

    def __init__(self, root: str) -> None:
        super().__init__(root, DateLayout(config_mod.KEYS["date_layout"].default))
        self.seen: list[tuple[bytes, int, float]] = []

    def path_record(self, path: bytes, size: int, mtime: float) -> Record | None:
        self.stats.files_seen += 1
        self.seen.append((path, size, mtime))
        return None


def split_target(target: str) -> tuple[str, str, int]:
    """``[USER@]HOST[:PORT]`` (``[::1]:2222`` for IPv6) -> (user, host, port)."""
    user, _, hostport = target.rpartition("@")
    host, port = hostport, ""
    if hostport.startswith("["):
        inside, _, rest = hostport[1:].partition("]")
        host, port = inside, rest.removeprefix(":")
    elif hostport.count(":") == 1:
        host, port = hostport.split(":")
    if not host:
        raise InitError(f"--probe: no host in {target!r} (give HOST, USER@HOST or HOST:PORT, "
                        "or 'local' for this machine's disk)")
    if port and not port.isdigit():
        raise InitError(f"--probe: port {port!r} in {target!r} is not a number")
    return user, host, int(port or 0)


def probe_settings(target: str, root: str) -> config_mod.NodeSettings:
    """A node with every default from the schema, as ``collect`` would build it."""
    user, host, port = split_target(target)
    node: dict[str, object] = {"hub": "probe", "host": host, "root": root, "pattern": "*"}
    if user:
        node["user"] = user
    if port:
        node["port"] = port
    try:
        settings = config_mod.parse({"hubs": {"probe": {}}, "nodes": {"probe": node}})
    except config_mod.ConfigError as exc:
        key = (exc.key or "").rpartition(".")[2]
        raise InitError(f"--probe {key.upper() or 'argument'}: {exc.problem}") from None
    return settings.nodes["probe"]


def probe(target: str, root: str, *,
          lister_factory: Callable[[config_mod.NodeSettings], Lister] | None = None) -> Probe:
    """List one node and work out the layout, pattern and series; raises :class:`InitError`."""
    node = probe_settings(target, root)
    lister = (lister_factory or make_lister)(node)
    capture = _Capture(node.root)
    t0 = time.monotonic()
    where = f"{target}:{node.root}"
    try:
        for _ in lister.records(capture):
            pass
        capture.close()
    except CollectError as exc:
        raise InitError(f"cannot list {where}: {exc}", FAILED) from None
    except Exception as exc:  # anything paramiko raises: say so, never a traceback
        raise InitError(f"cannot list {where}: {type(exc).__name__}: {exc}",
                        FAILED) from None
    result = analyse(capture.seen, node.root)
    result.host, result.user, result.port = node.host, node.user, node.port
    result.method = lister.method
    result.seconds = time.monotonic() - t0
    result.problems = list(lister.problems)
    return result


def analyse(files: Sequence[tuple[bytes, int, float]], root: str,
            layouts: Sequence[str] = CANDIDATE_LAYOUTS) -> Probe:
    """Choose the date layout that dates the most files, then the pattern, then the series."""
    counts: dict[str, int] = {}
    # "%Y%m%d" reads a time folder like 150214 as 1502-01-04: only plausible dates count
    lowest, highest = _PLAUSIBLE_FROM, time.time() + 366 * 86400
    for layout in layouts:
        paths = PathParser(root, DateLayout(layout))
        counts[layout] = sum(1 for path, _, _ in files
                             if (split := paths.split(path)) is not None
                             and lowest <= split[1] <= highest)
    # max() keeps the first of equals: CANDIDATE_LAYOUTS is ordered by how common each is
    best = max(layouts, key=lambda lay: counts[lay])
    if counts[best] == 0:
        best = config_mod.KEYS["date_layout"].default
    paths = PathParser(root, DateLayout(best))
    dated = [(p, s) for p, s, _ in files if paths.split(p) is not None]
    suffixes: Counter[str] = Counter(_suffix(p) for p, _ in dated)
    volume: Counter[str] = Counter()
    for p, size in dated:
        volume[_suffix(p)] += size
    pattern = config_mod.KEYS["pattern"].default
    if suffixes:
        # a checksum file per tarball ties on count; the tarballs are the bigger ones
        top = max(suffixes, key=lambda sfx: (suffixes[sfx], volume[sfx]))
        pattern = f"*{top}" if top else "*"
    return _series_seen(Probe(host="", root=root, user="", port=0, method="", files=len(files),
                              seconds=0.0, layout=best, layout_counts=counts, pattern=pattern,
                              suffixes=suffixes), files, paths)


def _suffix(path: bytes) -> str:
    name = display(path.rpartition(b"/")[2])
    stem, dot, ext = name.rpartition(".")
    return f".{ext}" if dot and stem and ext and len(ext) <= 8 else ""


def _series_seen(result: Probe, files: Sequence[tuple[bytes, int, float]],
                 paths: PathParser) -> Probe:
    """What ``collect`` would store with the chosen layout and pattern."""
    pattern = os.fsencode(result.pattern)
    backups: dict[bytes, dict[int, int]] = {}
    nfiles: Counter[bytes] = Counter()
    for path, size, _ in files:
        if not fnmatch.fnmatchcase(path.rpartition(b"/")[2], pattern):
            continue
        split = paths.split(path)
        if split is None:
            result.unparsed += 1
            if len(result.unparsed_sample) < 5:
                result.unparsed_sample.append(display(path))
            continue
        series, at = split
        per_time = backups.setdefault(series, {})
        per_time[at] = per_time.get(at, 0) + size  # files of one dated folder are one backup
        nfiles[series] += 1
    for series in sorted(backups):
        times = backups[series]
        newest = max(times)
        result.series.append(SeriesSeen(display(series), len(times), nfiles[series], newest,
                                        times[newest], utf8=_is_utf8(series)))
    return result


def _is_utf8(raw: bytes) -> bool:
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def report(result: Probe, out: TextIO, now: float | None = None) -> None:
    """Print what the probe found, the way an operator checks it."""
    now = time.time() if now is None else now
    where = f"{result.host}:{result.root}"
    print(f"listed {result.files} file(s) under {where} via {result.method or '?'} "
          f"in {result.seconds:.1f} s", file=out)
    for problem in result.problems:
        print(f"  problem: {escape_controls(problem)}", file=out)
    tried = ", ".join(f"{lay} {n}" for lay, n in result.layout_counts.items()
                      if lay != result.layout and n)
    n_best = result.layout_counts.get(result.layout, 0)
    if n_best:
        print(f"date_layout = {result.layout!r}: dates {n_best} of {result.files} file(s)"
              + (f" (others: {tried})" if tried else ""), file=out)
    else:
        print("date_layout: no file has dated folders in any of these layouts: "
              + ", ".join(result.layout_counts) + f"; kept {result.layout!r}: set it by hand "
              "(strptime style, the folders between the series and the file)", file=out)
    if result.suffixes:
        other = ", ".join(f"*{s} {n}" for s, n in result.suffixes.most_common(6)
                          if f"*{s}" != result.pattern)
        print(f"pattern = {result.pattern!r}" + (f" (other dated files: {other})" if other
                                                  else ""), file=out)
    print("what `scm-monitor collect` would see:", file=out)
    if not result.series:
        print("  no series: nothing matches pattern and date_layout", file=out)
    else:
        width = max(len("series"), *(len(escape_controls(s.name)) for s in result.series))
        print(f"  {'series':<{width}}  {'backups':>7}  {'newest (UTC)':<19}  size of newest",
              file=out)
        for s in result.series:
            newest = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s.newest))
            print(f"  {escape_controls(s.name):<{width}}  {s.backups:>7}  {newest:<19}  "
                  f"{human_size(s.newest_size)}", file=out)
    limit = float(config_mod.KEYS["max_age_hours"].default)
    for s in result.series:
        if now - s.newest > limit * 3600:
            # the first collect would alarm at once: say so before the operator wonders why
            print(f"  note: the newest backup of {escape_controls(s.name)} is already "
                  f"{human_age(now - s.newest)} old, more than max_age_hours = {limit:g}: "
                  "status will report it stale (is that series still backed up?)", file=out)
    if result.unparsed:
        print(f"  {result.unparsed} file(s) match the pattern but have no date part "
              "(reported by collect as unparsed, never fatal), e.g.:", file=out)
        for sample in result.unparsed_sample:
            print(f"    {escape_controls(sample)}", file=out)
    if result.select:
        print(f"proposed select = {toml_value(result.select)}", file=out)

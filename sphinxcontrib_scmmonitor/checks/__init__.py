"""Store -> statuses: every series and node judged, with the reasons why.

Per series: ``stale``, ``empty``, ``missing``, ``vanished``, ``future``;
against its own past ``shrunk``, ``grew``, ``gap`` and ``retention`` (history.py);
``corrupt`` and, on a copy, ``copy-differs``, ``not-copied`` and ``missing``
against the hub's source (copies.py). Per node: ``unreachable`` (its latest collection failed),
``collector-stale`` (no good collection within ``max_age_hours``) and
``no-backups`` (its latest good listing held none). A node's series are judged
*as observed*: as of the end of its latest good collection (``observed_at``),
so time nobody saw never turns them stale (docs/concepts.rst). Retired series
are not judged at all. A node is its worst finding, the conclusion the worst
node. All times are UTC epoch seconds, so a daylight-saving change can never
cause a false alarm.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from ..config import NodeSettings, Settings
from ..text import escape_controls, human_age, human_size  # re-exported: home is text.py
from .copies import Originals, check_copy, corrupt
from .history import check_history
from .reasons import (
    ALARM,
    EXIT_CODES,
    LEVELS,
    NAGIOS_WORDS,
    OK,
    SEVERITY,
    UNKNOWN,
    WARN,
    Reason,
    worst,
)

if TYPE_CHECKING:  # the CLI's exit-status table imports checks: --help must not load SQLAlchemy
    from ..store import NodeData, RunInfo, SeriesData, Store

__all__ = ["ALARM", "EXIT_CODES", "LEVELS", "NAGIOS_WORDS", "OK", "SEVERITY", "UNKNOWN", "WARN",
           "NodeStatus", "Originals", "Reason", "Report", "SeriesStatus", "check_node",
           "evaluate", "human_age", "human_size", "observed_at", "originals_for", "printable",
           "reader", "same_findings_until", "shown", "worst"]


@dataclass
class SeriesStatus:
    name: str
    reasons: list[Reason] = field(default_factory=list)
    newest: int | None = None          # epoch seconds UTC of the newest present backup
    size: int | None = None            # its size (files of one dated folder summed)
    previous_size: int | None = None
    count: int = 0                     # backups present on the node now

    @property
    def status(self) -> str:
        return worst(r.level for r in self.reasons)

    def age_hours(self, now: float) -> float | None:
        return None if self.newest is None else (now - self.newest) / 3600


@dataclass
class NodeStatus:
    node: str
    hub: str
    reasons: list[Reason] = field(default_factory=list)
    series: list[SeriesStatus] = field(default_factory=list)
    last_run_at: float | None = None
    last_run_ok: bool | None = None
    #: end of the latest good collection: the series are judged as of then (None: never)
    observed_at: float | None = None

    @property
    def last_good_at(self) -> float | None:
        """The latest good collection's end (the same time as :attr:`observed_at`)."""
        return self.observed_at

    @property
    def status(self) -> str:
        return worst([*(r.level for r in self.reasons), *(s.status for s in self.series)])


@dataclass
class Report:
    generated_at: float
    nodes: list[NodeStatus]

    @property
    def conclusion(self) -> str:
        return worst(n.status for n in self.nodes)

    @property
    def observed_at(self) -> float | None:
        """When the oldest of the nodes' data was observed (None: no node ever was)."""
        return min((n.observed_at for n in self.nodes if n.observed_at is not None),
                   default=None)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.conclusion]

    def node(self, name: str) -> NodeStatus:
        return next(n for n in self.nodes if n.node == name)


#: a backup dated further than this after the collection that first saw it is ``future``
FUTURE_AFTER_S = 24 * 3600
#: how many dated folders or files a finding names one by one
NAMED = 3


def evaluate(settings: Settings, store: Store, nodes: Iterable[str] | None = None,
             now: float | None = None) -> Report:
    """Judge the configured nodes (all by default) from what the store holds."""
    now = time.time() if now is None else now
    names = list(nodes) if nodes is not None else list(settings.nodes)
    read = judged_reader(settings, store)
    out = [check_node(settings.node(n), read(n), now, originals_for(settings, n, read))
           for n in names]
    return Report(generated_at=now, nodes=out)


def reader(settings: Settings, store: Store) -> Callable[[str], NodeData]:
    """``name -> NodeData``, each node read from the store once (a source for itself and
    for every copy judged against it)."""
    cache: dict[str, NodeData] = {}

    def read(name: str) -> NodeData:
        if name not in cache:
            cache[name] = store.node_data(name, settings.node(name).hub)
        return cache[name]

    return read


def judged_reader(settings: Settings, store: Store) -> Callable[[str], NodeData]:
    """Like :func:`reader`, but what the checks judge only: recent backups, in time set by
    nodes and series (``Store.recent_node_data``).

    A hub's source is read whole: each copy is judged against every original from the
    copy's oldest backup on, however far back that goes (docs/concepts.rst).
    """
    cache: dict[str, NodeData] = {}

    def read(name: str) -> NodeData:
        if name not in cache:
            node = settings.node(name)
            if node.source == node.name:
                cache[name] = store.node_data(name, node.hub)
            else:
                # the gap check looks gap_days back from the node's last good listing; a
                # day more keeps the backup just before that window, whatever the rhythm
                cache[name] = store.recent_node_data(name, node.hub,
                                                     window_s=(node.gap_days + 1) * 86400)
        return cache[name]

    return read


def originals_for(settings: Settings, name: str,
                  read: Callable[[str], NodeData]) -> Originals | None:
    """The hub's source as the copy ``name`` is judged against it (None: not a copy)."""
    node = settings.node(name)
    if not node.is_copy or node.source not in settings.nodes:
        return None
    source = settings.node(node.source)
    data = read(source.name)
    return Originals.of(source.name, data.series, data.verified, source.root,
                        observed_at(data))


def observed_at(data: NodeData) -> float | None:
    """The end of the node's latest good collection: its series are judged as of then."""
    good = [r for r in data.runs if r.state != "running" and r.ok]
    return (good[-1].finished_at or good[-1].started_at) if good else None


def check_node(node: NodeSettings, data: NodeData, now: float,
               originals: Originals | None = None) -> NodeStatus:
    """The findings for one node from its stored data; pure, no I/O.

    ``originals``: the hub's source, when ``node`` is one of its copies
    (:func:`originals_for`); without it the copy checks are not made.
    """
    result = NodeStatus(node=node.name, hub=node.hub)
    max_age = node.max_age_hours * 3600
    finished = [r for r in data.runs if r.state != "running"]
    good = [r for r in finished if r.ok]
    if finished:
        last = finished[-1]
        result.last_run_at = last.finished_at or last.started_at
        result.last_run_ok = last.ok
        if not last.ok:
            result.reasons.append(Reason("unreachable", last.error or last.state))
    result.observed_at = observed_at(data)
    if result.observed_at is None or now - result.observed_at > max_age:
        since = ("never collected" if result.observed_at is None
                 else f"last one {_ago(now - result.observed_at)} ago")
        result.reasons.append(Reason(
            "collector-stale", f"no successful collection within {node.max_age_hours:g} h "
            f"({since})"))

    # as observed: a node nobody could list for three days is one node-level finding,
    # not every series stale by three more days
    as_of = result.observed_at if result.observed_at is not None else now
    copy = originals is not None and node.is_copy
    extra: dict[str, list[Reason]] = {}
    for name, found in corrupt(data.series, data.verified, node.root,
                               originals if copy else None).items():
        extra.setdefault(name, []).extend(found)
    if copy:
        assert originals is not None
        for name, found in check_copy(
                node.name, data.series, data.verified, node.root, result.observed_at,
                originals, grace_hours=node.copy_grace_hours, verify=node.verify,
                retired=node.retires).items():
            extra.setdefault(name, []).extend(found)
    seen: set[str] = set()
    any_present = False
    rows: dict[str, SeriesStatus] = {}
    for series in data.series:
        seen.add(series.name)
        backups = Backups.of(series, node.root, as_of)
        any_present = any_present or bool(backups.present) or bool(backups.future)
        if node.retires(series.name):
            continue
        st = _check_series(node, backups, as_of, now, max_age)
        st.reasons.extend(_history(node, backups, st, result.observed_at, copy))
        rows[series.name] = st
    if good and not any_present and _listed(good[-1]) == 0:
        result.reasons.append(Reason("no-backups", _no_backups(node, good[-1])))
    for name, found in extra.items():
        if node.retires(name):
            continue
        # a source series the copy never had is a row of its own
        rows.setdefault(name, SeriesStatus(name=name)).reasons.extend(found)
    # absence is only known from a listing: a node never listed has nothing "missing" yet
    # (its collector-stale/unreachable finding already says why nothing is known)
    expected = node.select if result.observed_at is not None else ()
    for name in dict.fromkeys(s.strip("/") for s in expected):
        already = rows[name].reasons if name in rows else []
        if name not in seen and not any(r.reason == "missing" for r in already):
            rows.setdefault(name, SeriesStatus(name=name)).reasons.append(Reason(
                "missing", f"selected for hub {node.hub} but no backup of it on {node.name}"))
    result.series = sorted(rows.values(), key=lambda s: s.name)
    return result


def same_findings_until(node: NodeSettings, status: NodeStatus, judged_at: float) -> float:
    """Until when :func:`check_node` on the same data finds what it found at ``judged_at``.

    The series are judged as of the latest good listing, so with no new data only
    the clock moves the findings: ``collector-stale`` appears once ``max_age_hours``
    have passed since that listing (and then counts the age), and a ``stale``
    series names how long ago that listing was once an hour has passed. A caller
    that keeps findings across runs (the docs build) may reuse them strictly
    before the time returned; ``judged_at`` itself means never.
    """
    if status.observed_at is None:
        return judged_at  # judged as of now: every moment is another judgement
    since = judged_at - status.observed_at
    max_age = node.max_age_hours * 3600
    if since > max_age:
        return judged_at
    until = status.observed_at + max_age
    if any(r.reason == "stale" for s in status.series for r in s.reasons):
        if since >= 3600:
            return judged_at
        until = min(until, status.observed_at + 3600)
    return until


def _history(node: NodeSettings, backups: Backups, st: SeriesStatus,
             observed: float | None, copy: bool) -> list[Reason]:
    """``shrunk``, ``grew``, ``gap`` and ``retention`` of one series (docs/concepts.rst)."""
    if not backups.present:
        return []
    found = check_history(
        backups.present_totals(), backups.history_totals(), observed_at=observed,
        timezone=node.timezone, min_size_ratio=node.min_size_ratio,
        max_size_ratio=node.max_size_ratio,
        # a night missing on a copy is the copy check's "not-copied" (or the source's gap)
        gap_days=0 if copy else node.gap_days, keep_min=node.keep_min, keep_max=node.keep_max)
    if any(r.reason == "empty" for r in st.reasons):
        # an empty newest backup is the finding; its size against history says nothing more
        found = [r for r in found if r.reason not in ("shrunk", "grew")]
    return found


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
    def of(cls, series: SeriesData, root: str, as_of: float) -> Backups:
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
        prefix = root.encode("utf-8", "surrogateescape").rstrip(b"/") + b"/"
        return cls(series, prefix, present, history, future)

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
            return f"{self.name} {_iso(folder.at)}"
        return self.relative(paths[0].rpartition(b"/")[0])


def _check_series(node: NodeSettings, backups: Backups, as_of: float, now: float,
                  max_age: float) -> SeriesStatus:
    st = SeriesStatus(name=backups.name, count=len(backups.present) + len(backups.future))
    if backups.future:
        st.reasons.append(_future(backups, as_of))
    if not backups.present:
        if backups.future:
            st.reasons.append(Reason("stale", "no backup on the node is dated before the last "
                                     "listing: only future-dated ones"))
        elif backups.history:
            st.reasons.append(Reason("vanished", "had backups, none is on the node now"))
        return st
    newest = backups.present[-1]
    st.newest, st.size = newest.at, newest.present_size
    # the previous backup may already be rotated away (a node keeping only the newest):
    # its size as last seen is still what the newest one should be compared with
    earlier = [size for at, size in backups.history_totals() if at < newest.at]
    if earlier:
        st.previous_size = earlier[-1]
    age = as_of - newest.at
    if age > max_age:
        when = ("" if now - as_of < 3600
                else f", as of the last good listing {_ago(now - as_of)} ago")
        st.reasons.append(Reason("stale", f"newest backup is {_ago(age)} old "
                                          f"(limit {node.max_age_hours:g} h){when}",
                                 (newest.at,)))
    files = backups.files(newest)
    empty_files = [b for b in files if b.size == 0]
    if st.size == 0:
        st.reasons.append(Reason("empty", "newest backup has 0 bytes"
                                 + _files_named(backups, empty_files, len(files)),
                                 (newest.at,)))
    elif empty_files:
        # one truncated tarball next to a good one still leaves a backup that cannot be
        # restored, and its summed size barely moves
        names = _named([backups.relative(b.path) if b.path else "a file" for b in empty_files])
        st.reasons.append(Reason("empty", f"{names} "
                                 f"{'has' if len(empty_files) == 1 else 'have'} 0 bytes "
                                 f"({len(empty_files)} of the {len(files)} files of "
                                 "the newest backup)", (newest.at,)))
    return st


def _future(backups: Backups, as_of: float) -> Reason:
    parts = []
    for f in backups.future:
        seen = f.first_seen_at if f.first_seen_at is not None else as_of
        parts.append(f"{backups.folder_name(f)} ({_ago(f.at - seen)} ahead)")
    what = "is" if len(parts) == 1 else "are"
    return Reason("future", f"{_named(parts)} {what} dated after the listing that first saw "
                  f"{'it' if len(parts) == 1 else 'them'} (a wrong clock or date_layout?); "
                  "never taken as the newest backup", tuple(f.at for f in backups.future))


def _files_named(backups: Backups, files: Sequence[Any], total: int) -> str:
    names = [backups.relative(b.path) for b in files if b.path]
    if not names:
        return ""
    return f" ({_named(names)}{'' if total == 1 else f', {len(names)} of {total} files'})"


def _named(items: Sequence[str]) -> str:
    """'a, b, c and 2 more'."""
    if len(items) <= NAMED:
        return ", ".join(items)
    return ", ".join(items[:NAMED]) + f" and {len(items) - NAMED} more"


def _listed(run: RunInfo) -> int:
    """How many backups (files with a date part) a listing held."""
    return run.files_seen - run.unparsed


def _no_backups(node: NodeSettings, run: RunInfo) -> str:
    where = (f"the last good listing ({_iso(run.finished_at or run.started_at)}) of "
             f"{node.root} held no backup")
    if not run.files_seen:
        return (f"{where}: no file matches pattern {node.pattern!r} (date_layout "
                f"{node.date_layout!r}); is the disk mounted and the pattern right?")
    sample = [line for line in (run.unparsed_sample or "").split("\n") if line]
    example = f", e.g. {_named(sample)}" if sample else ""
    return (f"{where}: {run.files_seen} file(s) match pattern {node.pattern!r} but "
            f"{run.unparsed} have no date part in date_layout {node.date_layout!r}{example}")


def shown(raw: bytes) -> str:
    """A remote name for a message: undecodable bytes and control characters as \\xNN.

    The same rule as the collector's ``printable`` (collect/listing.py), kept here so
    the checks do not import the collector.
    """
    return printable(raw.decode("utf-8", "backslashreplace"))


def printable(value: str) -> str:
    """Text with every non-printable character as \\xNN (the one rule: text.py)."""
    return escape_controls(value)


def _iso(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _ago(seconds: float) -> str:
    return human_age(seconds)

"""Store + statuses -> ``<html>/_static/scmmonitor/data/<node>.json`` (+ ``.json.gz``), atomically.

The file is what the page's script draws: data format 2 (docs/sphinx.rst, "The
JSON data file"). Columnar: per series the backup times, sizes and counts as
three delta-encoded columns of epoch seconds and integers, so ten years of
nightly backups of a hundred series stay a few megabytes. Every file is
written to a temporary file in the same folder and renamed, so a reader never
sees half a file and a failed write leaves the previous one intact; a gzip
copy (level 9) is written beside it for web servers' ``gzip_static``.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import operator
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from ._version import __version__
from .atomic import WriteError, write_all
from .atomic import write_atomic as write_atomic  # its old home: export.write_atomic
from .checks import (
    NodeStatus,
    Reason,
    SeriesStatus,
    check_node,
    judged_reader,
    originals_for,
    reader,
)
from .config import NodeSettings, Settings
from .store import NodeData, SeriesData
from .text import iso_utc as iso

if TYPE_CHECKING:  # a docs build that reads no node never loads SQLAlchemy
    from .store import Reader

FORMAT = 2
DATA_DIR = ("_static", "scmmonitor", "data")
GZIP_LEVEL = 9
#: a backup row's backup_at, size and gone_at, by position
_FIRST, _SECOND, _THIRD = operator.itemgetter(0), operator.itemgetter(1), operator.itemgetter(2)
#: after json.dumps(ensure_ascii=True) (which already writes U+2028/U+2029 as \u escapes):
#: the file can be inlined in HTML and never closes a tag
_HTML_SAFE = (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"))
#: a series' integer columns (docs/sphinx.rst, format 2): :func:`dumps` writes them itself
_COLUMNS = frozenset(("t", "size", "count"))


#: the JSON could not be written; the previous file (if any) is intact
ExportError = WriteError


def data_dir(outdir: str | os.PathLike[str]) -> Path:
    return Path(outdir).joinpath(*DATA_DIR)


def hub_source(settings: Settings, hub: str) -> str | None:
    """The node the hub's backups are copied from (None: the hub has no source)."""
    source = getattr(settings.hubs.get(hub), "source", None)
    return source or None


def node_document(node: NodeSettings, data: NodeData, status: NodeStatus, now: float,
                  source: str | None = None) -> dict[str, Any]:
    """The format-2 document for one node (plain data, ready for :func:`dumps`)."""
    by_name = {s.name: s for s in status.series}
    series_out = [_series(series, by_name.get(series.name), retired=node.retires(series.name))
                  for series in data.series]
    stored = {s.name for s in data.series}
    for st in status.series:
        if st.name not in stored:  # selected but missing: judged, nothing to draw
            series_out.append({"name": st.name, "status": st.status, "retired": False,
                               "reasons": _reasons(st.reasons), "t": [], "size": [],
                               "count": []})
    runs = [r for r in data.runs if r.state != "running"]
    shown = [r for r in runs if not r.ok]
    if runs and runs[-1].ok:
        shown.append(runs[-1])
    return {
        "format": FORMAT,
        "node": node.name,
        "hub": node.hub,
        "source": source,
        # the zone of the node's dated folders: the calendar's nights are its local dates
        "timezone": node.timezone,
        "generated_at": iso(now),
        "observed_at": None if status.last_good_at is None else iso(status.last_good_at),
        "status": status.status,
        "reasons": _reasons(status.reasons),
        "series": series_out,
        "runs": [{"at": int(r.finished_at or r.started_at), "ok": r.ok, "error": r.error}
                 for r in shown],
    }


def _reasons(reasons: Sequence[Reason]) -> list[dict[str, Any]]:
    return [{"reason": r.reason, "level": r.level, "detail": r.detail, "at": list(r.at)}
            for r in reasons]


def _series(series: SeriesData, status: SeriesStatus | None, *,
            retired: bool) -> dict[str, Any]:
    t, size, count = delta_columns(series.backups)
    return {
        "name": series.name,
        "status": status.status if status else "ok",
        "retired": retired,
        "reasons": _reasons(status.reasons) if status else [],
        "t": t,
        "size": size,
        "count": count,
    }


def delta_columns(backups: Sequence[Sequence[Any]]) -> tuple[list[int], list[int], list[int]]:
    """Backup rows -> the delta-encoded ``t``, ``size`` and ``count`` columns.

    This runs for every point of every series on every export: the usual series
    (one file per dated folder, nothing gone yet) takes one pass per field at C
    speed and no Python loop; each pass touches every row, which is what costs.
    """
    if not backups:
        return [], [], []
    times = list(map(_FIRST, backups))
    t = [times[0], *map(operator.sub, times[1:], times)]
    # sorted by time, so a 0 after the first is two files in one dated folder
    if 0 not in islice(t, 1, None):
        gone = list(map(_THIRD, backups))
        if gone.count(None) == len(gone):
            sizes = list(map(_SECOND, backups))
            return t, [sizes[0], *map(operator.sub, sizes[1:], sizes)], [1] * len(t)
    times, sizes, counts = columns(backups)
    return delta(times), delta(sizes), delta(counts)


def columns(backups: Sequence[Sequence[Any]]) -> tuple[list[int], list[int], list[int]]:
    """Backup rows -> (times, summed sizes, backups present just after each time).

    One point per backup time (the files of one dated folder summed). A dated
    backup counts from its time until the collection that found all its files
    gone. Rows are read by position (backup_at, size, gone_at first), so plain
    tuples and the store's row type both work.
    """
    times: list[int] = []
    sizes: list[int] = []
    gone: list[int | None] = []   # per point: when its folder was gone (None: still there)
    last: int | None = None
    for row in backups:
        at, size, gone_at = row[0], row[1], row[2]
        if at == last:
            sizes[-1] += size
            if gone[-1] is not None:
                gone[-1] = None if gone_at is None else max(gone[-1], gone_at)
        else:
            times.append(at)
            sizes.append(size)
            gone.append(gone_at)
            last = at
    ends = sorted(g for g in gone if g is not None)
    counts: list[int] = []
    removed = 0
    for n, at in enumerate(times, 1):
        while removed < len(ends) and ends[removed] <= at:
            removed += 1
        counts.append(n - removed)
    return times, sizes, counts


def delta(values: list[int]) -> list[int]:
    """The first value, then each value's difference from the one before."""
    if not values:
        return []
    return [values[0], *map(operator.sub, values[1:], values)]


def undelta(values: Iterable[int]) -> list[int]:
    """The inverse of :func:`delta`: a running sum."""
    out: list[int] = []
    total = 0
    for v in values:
        total += v
        out.append(total)
    return out


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON that is also safe to embed in HTML: only ASCII, no ``<``, ``>`` or ``&``.

    The same text as ``json.dumps`` with HTML escapes, but the columns of the series
    are written by :func:`_column`: most of a file is columns, and most columns are
    one delta repeated (a nightly ``86400``, a count's ``1``).
    """
    return "{" + ",".join(
        _json(key) + ":" + ("[" + ",".join(map(_series_json, value)) + "]"
                            if key == "series" and isinstance(value, list) else _json(value))
        for key, value in doc.items()) + "}"


def _series_json(series: dict[str, Any]) -> str:
    return "{" + ",".join(
        _json(key) + ":" + (_column(value) if key in _COLUMNS and isinstance(value, list)
                            else _json(value))
        for key, value in series.items()) + "}"


def _column(values: list[int]) -> str:
    """An integer column (as :func:`delta_columns` makes it) as JSON; a repeated delta is
    written by repeating its text."""
    n = len(values)
    if n > 2:
        first, step = values[0], values[1]
        # the cheap look first: a size column rarely repeats even its second delta
        if (type(first) is int and type(step) is int and values[2] == step == values[-1]
                and values.count(step) - (first == step) == n - 1):
            return f"[{first}" + f",{step}" * (n - 1) + "]"
    return _json(values)


def _json(value: Any) -> str:
    """``json.dumps``, compact, then made HTML-safe: the one place that rule is applied."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    for char, escape in _HTML_SAFE:
        if char in text:
            text = text.replace(char, escape)
    return text


def write_document(path: Path, doc: dict[str, Any]) -> None:
    """``path`` and ``path.gz`` (the same bytes, gzip level 9): both or neither replaced."""
    raw = dumps(doc).encode("ascii")
    # mtime 0: the same data gives the same .gz, so a sync or a cache sees no change
    write_all({path: raw, path.with_name(path.name + ".gz"):
               gzip.compress(raw, GZIP_LEVEL, mtime=0)})


#: beside the data files: what each node's file was exported from (see :func:`export`)
EXPORTED = "exported.json"


def data_keys(settings: Settings, store: Reader, names: Iterable[str]) -> dict[str, str]:
    """Node name -> a digest that differs whenever the node's data file may, but for time.

    One store query (``Store.change_keys``) for the nodes and the sources their copies are
    judged against: the node's latest run and content checks, its settings and the
    source's, this release. The findings also move with the clock alone (a collection
    that goes stale), which the key does not see: see :func:`export`.
    """
    wanted = [n for n in dict.fromkeys(names) if n in settings.nodes]
    sources = {n: settings.node(n).source for n in wanted if settings.node(n).is_copy}
    stored = store.change_keys([*wanted, *(s for s in sources.values() if s in settings.nodes)])
    out = {}
    for name in wanted:
        source = sources.get(name)
        text = repr((__version__, FORMAT, settings.node(name), stored[name],
                     None if source is None or source not in settings.nodes
                     else (settings.node(source), stored[source])))
        out[name] = hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()
    return out


class Selection(NamedTuple):
    """The nodes an export into a built site writes (:func:`site_selection`)."""

    nodes: list[str]
    #: asked for, but shown by no page of the site: not written (a build deletes them)
    not_shown: list[str]
    #: the manifest whose list of nodes was used (None: not used)
    manifest: Path | None
    #: why the site's own list was not used (None: it was, or the manifest is damaged,
    #: which the pictures' redraw reports once the data is written)
    warning: str | None


def site_selection(settings: Settings, outdir: str | os.PathLike[str],
                   names: Sequence[str] = ()) -> Selection:
    """The nodes of ``names`` (default: every configured node) that the site built in
    ``outdir`` shows, as its last build listed them in the picture manifest.

    A docs build exports the nodes its pages show and deletes the others' data files
    (docs/sphinx.rst, "How the page gets its data"); an export writes the same nodes, so
    neither writes a file the other deletes. A folder whose manifest has no such list
    (none at all, or one an earlier release wrote) gets every node asked for, and the
    warning says why.
    """
    from .pictures.manifest import PictureError, manifest_path, shown_nodes

    asked = list(dict.fromkeys(names)) or list(settings.nodes)
    path = manifest_path(outdir)
    try:
        shown = shown_nodes(outdir)
    except PictureError:
        return Selection(asked, [], None, None)
    if shown is None:
        why = ("was not found: no sphinx-build of this release wrote the site"
               if not path.exists() else
               "does not list the nodes the pages show (an earlier release wrote it)")
        return Selection(asked, [], None, (
            f"{path} {why}, so every node asked for is exported ({len(asked)}); build the "
            "docs once with sphinx-build and export writes only the nodes the pages show "
            "(a build deletes the data files of the others)"))
    listed = set(shown)
    return Selection([n for n in asked if n in listed], [n for n in asked if n not in listed],
                     path, None)


def export(settings: Settings, store: Reader, outdir: str | os.PathLike[str],
           nodes: Iterable[str] | None = None, now: float | None = None, *,
           only_changed: bool = False,
           read: Callable[[str], NodeData] | None = None,
           judge: Callable[[str], NodeStatus] | None = None,
           keys: Mapping[str, str] | None = None) -> list[Path]:
    """Write one JSON file (and its .gz) per node (all configured nodes by default).

    ``only_changed`` (a Sphinx build): a node whose data key (:func:`data_keys`) and
    findings are those its file was last exported from is neither read whole nor
    written again, so rebuilding docs over unchanged data exports nothing
    (docs/sphinx.rst). The findings are judged as of ``now`` every time, so a node
    whose collection went stale meanwhile is written again. ``judge``: the node's
    findings (default: the checks on the store's recent read, whose cost does not
    grow with the history); ``keys``: the nodes' data keys (default: read now).
    ``read``: the full read of a node (default ``store.node_data``). Either way the
    key of every file written is kept (``exported.json``), so a build after an export
    of the same data writes nothing again.
    """
    now = time.time() if now is None else now
    names = list(nodes) if nodes is not None else list(settings.nodes)
    folder = data_dir(outdir)
    memo_path = folder.parent / EXPORTED
    memo = _memo(memo_path)
    kept = dict(memo)
    written = []
    drawn: dict[str, tuple[NodeData, NodeStatus]] = {}
    full = read if read is not None else reader(settings, store)
    # before any node's data: data read after its key is never older than the key says
    keys = data_keys(settings, store, names) if keys is None else keys
    if only_changed:
        judged = judged_reader(settings, store)
        judge = judge if judge is not None else (lambda name: check_node(
            settings.node(name), judged(name), now, originals_for(settings, name, judged)))
    for name in names:
        node = settings.node(name)
        path = folder / f"{name}.json"
        if only_changed:
            assert judge is not None
            status = judge(name)
            if memo.get(name) == _export_key(keys[name], status) and path.is_file():
                continue
        data = full(name)
        if not only_changed:
            status = check_node(node, data, now, originals_for(settings, name, full))
        doc = node_document(node, data, status, now, source=hub_source(settings, node.hub))
        write_document(path, doc)
        written.append(path)
        drawn[name] = (data, status)
        memo[name] = _export_key(keys[name], status)
    if memo != kept:
        write_atomic(memo_path, json.dumps(memo, indent=1, sort_keys=True) + "\n")
    from .pictures import rewrite  # lazily: only a built site's manifest lists pictures

    rewrite(outdir, settings, store, nodes=list(drawn), now=now, data=drawn, read=full)
    return written


def _export_key(data_key: str, status: NodeStatus) -> str:
    """What a node's exported file depends on: its data key and its findings now.

    A new run (even one that changed nothing) or a finding that ages (``stale``'s detail
    names the age) gives a new key; the same key means the same file.
    """
    text = repr((data_key, status.reasons, status.series, status.observed_at))
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _memo(path: Path) -> dict[str, str]:
    """The keys of the last export; a missing or unreadable file means export every node."""
    try:
        memo = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(memo, dict):
        return {}
    return {k: v for k, v in memo.items() if isinstance(k, str) and isinstance(v, str)}

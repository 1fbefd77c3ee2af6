"""Store + statuses -> ``<html>/_static/scmmonitor/data/<node>.json``, atomically.

The file is what the page's script draws (format in DESIGN.md): per series
``[epoch ms, bytes]`` pairs strictly ascending in time, the series' status,
and failed collection runs as flags. It is written to a temporary file in the
same folder and renamed, so a reader never sees half a file and a failed
write leaves the previous one intact.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .atomic import WriteError, write_atomic
from .checks import NodeStatus, check_node
from .config import NodeSettings, Settings
from .store import NodeData, SeriesData, Store
from .text import iso_utc as iso

FORMAT = 1
DATA_DIR = ("_static", "scmmonitor", "data")
#: json.dumps escapes these too, so the file can be inlined in HTML and never closes a tag
_HTML_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


#: the JSON could not be written; the previous file (if any) is intact
ExportError = WriteError


def data_dir(outdir: str | os.PathLike[str]) -> Path:
    return Path(outdir).joinpath(*DATA_DIR)


def node_document(node: NodeSettings, data: NodeData, status: NodeStatus,
                  now: float) -> dict[str, Any]:
    """The JSON document for one node (plain data, ready for ``json.dumps``)."""
    by_name = {s.name: s for s in status.series}
    series_out: list[dict[str, Any]] = []
    with _gc_paused():
        for series in data.series:
            series_out.append(_series(series, by_name.get(series.name),
                                      retired=node.retires(series.name)))
    for st in status.series:
        if st.name not in {s.name for s in data.series}:  # selected but missing
            series_out.append({"name": st.name, "retired": False, "status": st.status,
                               "reasons": [r.reason for r in st.reasons],
                               "details": [r.detail for r in st.reasons],
                               "data": [], "count": [], "newest": None, "size": None,
                               "previous_size": None})
    runs = [r for r in data.runs if r.state != "running"]
    shown = [r for r in runs if not r.ok]
    if runs and runs[-1].ok:
        shown.append(runs[-1])
    return {
        "format": FORMAT,
        "node": node.name,
        "hub": node.hub,
        "generated_at": iso(now),
        "status": status.status,
        "reasons": [{"reason": r.reason, "detail": r.detail} for r in status.reasons],
        "last_run": _ms(status.last_run_at),
        "last_good_run": _ms(status.last_good_at),
        "series": series_out,
        "runs": [{"at": _ms(r.finished_at or r.started_at), "ok": r.ok,
                  "error": r.error} for r in shown],
    }


def _series(series: SeriesData, status: Any, *, retired: bool) -> dict[str, Any]:
    data, any_gone = _data(series)
    return {
        "name": series.name,
        "retired": retired,
        "status": status.status if status else "ok",
        "reasons": [r.reason for r in status.reasons] if status else [],
        "details": [r.detail for r in status.reasons] if status else [],
        "data": data,
        # nothing ever gone: the count just rises by one per backup time
        "count": _count(series) if any_gone else [[p[0], n] for n, p in enumerate(data, 1)],
        "newest": _ms(status.newest) if status else None,
        "size": status.size if status else None,
        "previous_size": status.previous_size if status else None,
    }


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while the point lists are built.

    They are a million small lists for a big node, none of them garbage, and each
    allocation burst made Python's collector walk every live object again: 4/5 of
    node_document's time (0.46 s -> 0.10 s for 365,000 points, BENCHMARKS.md row 5).
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _data(series: SeriesData) -> tuple[list[list[int]], bool]:
    """``[[ms, summed size], ...]`` (like ``series.totals()``) and whether any file is gone.

    One pass over the files and one list per point: this runs for every point of
    every series on every export (BENCHMARKS.md row 5).
    """
    out: list[list[int]] = []
    append = out.append
    last: int | None = None
    point: list[int] = []
    any_gone = False
    for at, size, gone_at in series.backups:
        if gone_at is not None:
            any_gone = True
        if at == last:
            point[1] += size
        else:
            point = [at * 1000, size]
            append(point)
            last = at
    return out, any_gone


def _count(series: SeriesData) -> list[list[int]]:
    """How many backups of the series were kept on the node over time.

    A dated backup counts from its time until the collector found all its files gone.
    """
    folders: dict[int, int | None] = {}
    for at, _size, gone_at in series.backups:
        if at not in folders:
            folders[at] = gone_at
        elif folders[at] is not None:
            folders[at] = None if gone_at is None else max(folders[at] or 0, gone_at)
    events: dict[int, int] = {}
    for at, gone_at in folders.items():
        events[at] = events.get(at, 0) + 1
        if gone_at is not None:
            events[gone_at] = events.get(gone_at, 0) - 1
    out: list[list[int]] = []
    total = 0
    for when in sorted(events):
        total += events[when]
        out.append([when * 1000, total])
    return out


def _ms(ts: float | None) -> int | None:
    return None if ts is None else round(ts * 1000)


def dumps(doc: dict[str, Any]) -> str:
    """Compact JSON that is also safe to embed in HTML."""
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).translate(_HTML_SAFE)


def export(settings: Settings, store: Store, outdir: str | os.PathLike[str],
           nodes: Iterable[str] | None = None, now: float | None = None) -> list[Path]:
    """Write one JSON file per node (all configured nodes by default)."""
    now = time.time() if now is None else now
    folder = data_dir(outdir)
    written = []
    for name in (list(nodes) if nodes is not None else list(settings.nodes)):
        node = settings.node(name)
        data = store.node_data(name, node.hub)
        doc = node_document(node, data, check_node(node, data, now), now)
        path = folder / f"{name}.json"
        write_atomic(path, dumps(doc))
        written.append(path)
    return written

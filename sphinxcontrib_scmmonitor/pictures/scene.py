"""A node's stored data and one chart's options -> a scene: shapes in pixels, ready to write.

The scene is what the SVG writer and the PNG painter both draw, so a picture
looks the same in a page, a PDF and a mail (docs/sphinx.rst, "Pictures"). Every
series is cut to the chart's range and reduced to at most two points per pixel
column (its lowest and highest value there), so one night's spike survives and
the picture's size depends on its width, not on the length of the history.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain, compress, islice, repeat
from operator import eq, itemgetter, lt, sub

from ..checks import NodeStatus, SeriesStatus
from ..store import NodeData, SeriesData
from .axes import DAY, time_ticks, value_axis
from .legend import legend_layout
from .options import ChartOptions
from .shapes import Line, Mark, Rect, Scene, Text, chars_fitting, clean, fit, stamp
from .style import SERIES_COLOURS

#: the chart's initial range, in days ("all": the whole history)
RANGE_DAYS = {"1m": 31, "3m": 92, "6m": 183, "1y": 366}
#: bump when the drawing changes, so pictures made by an older version are redrawn
RENDERER_VERSION = 2

#: columns of the store's rows, by index: the same for (at, size, gone_at) tuples and
#: BackupFile records
_first, _second, _third = itemgetter(0), itemgetter(1), itemgetter(2)


def _unique(ascending: list[int]) -> bool:
    """No time twice in an ascending list: no two neighbours equal (compared in C)."""
    return not any(map(eq, ascending, islice(ascending, 1, None)))


#: a series keeps at most two points (its low and high) per this many pixels
COLUMN = 2


# --- values per metric and scale ------------------------------------------------------------


def _kept(series: SeriesData) -> tuple[list[int], list[int]]:
    """(backup times, removal times), both ascending: what the count metric is made of.

    A dated backup counts from its time until the collector found all its files gone.
    """
    backups = series.backups
    # by index: the same for (at, size, gone_at) rows and BackupFile records
    times = list(map(_first, backups))
    if _unique(times):
        return times, sorted(filter(None, map(_third, backups)))
    gone: dict[int, int | None] = {}
    for backup in backups:
        at, gone_at = backup[0], backup[2]
        if at not in gone:
            gone[at] = gone_at
        elif gone[at] is not None:
            gone[at] = None if gone_at is None else max(gone[at] or 0, gone_at)
    return list(gone), sorted(filter(None, gone.values()))


def count_at(times: list[int], removed: list[int], when: Sequence[float]) -> list[int]:
    """Backups kept just after each of ``when``: added by then minus removed by then."""
    return list(map(sub, map(bisect_right, repeat(times), when),
                    map(bisect_right, repeat(removed), when)))


def _reduce_counts(times: list[int], removed: list[int], t0: float, t1: float, left: float,
                   sx: float, columns: int) -> tuple[list[int], list[float]]:
    """Like :func:`_reduce` for the count: exact at every change where they fit, else
    sampled at each column's edges (bisection at C speed, whatever the history)."""
    lo, hi = bisect_left(times, t0), bisect_right(times, t1)
    rlo, rhi = bisect_left(removed, t0), bisect_right(removed, t1)
    if (hi - lo) + (rhi - rlo) <= 2 * columns:
        when: list[float] = sorted({t0, *times[lo:hi], *removed[rlo:rhi]})
        x0 = left - t0 * sx
        xs = [round(x0 + t * sx) for t in when]
    else:
        per = (t1 - t0) / columns
        when = [t0 + col * per for col in range(columns + 1)]
        xs = [round(left + (t - t0) * sx) for t in when]
    return xs, [float(v) for v in count_at(times, removed, when)]


@dataclass
class _Series:
    name: str
    status: str
    retired: bool
    times: list[int]
    values: list[int]
    marks: list[tuple[int, str, str]]  # (at, level, words)
    #: the count metric: removal times (values are worked out per pixel column)
    removed: list[int] | None = None


# --- drawing --------------------------------------------------------------------------------


def _points(series: SeriesData) -> tuple[list[int], list[int]]:
    """(times, sizes) summed per backup time, like ``series.totals()``.

    Most series hold one file per backup time; for those the columns are taken
    straight from the rows at C speed (a picture of a big node reads 365,000 of
    them; docs/sphinx.rst's benchmark row).
    """
    times = list(map(_first, series.backups))
    if _unique(times):
        return times, list(map(_second, series.backups))
    totals = series.totals()
    return list(map(_first, totals)), list(map(_second, totals))


def _series_of(data: NodeData, status: NodeStatus, options: ChartOptions,
               retires: frozenset[str]) -> list[_Series]:
    by_name = {s.name: s for s in data.series}
    judged: dict[str, SeriesStatus] = {s.name: s for s in status.series}
    wanted = list(dict.fromkeys(s.strip("/") for s in options.series)) or list(by_name)
    out = []
    for name in wanted:
        stored = by_name.get(name)
        st = judged.get(name)
        times: list[int] = []
        values: list[int] = []
        removed = None
        if stored is not None and options.metric == "count":
            times, removed = _kept(stored)
        elif stored is not None:
            times, values = _points(stored)
        marks = []
        for reason in (st.reasons if st else []):
            nights = reason.at or ((st.newest,) if st and st.newest is not None else ())
            marks += [(at, reason.level, f"{name}: {reason.reason} ({reason.level}), "
                       f"{reason.detail}") for at in nights]
        out.append(_Series(name=name, status=st.status if st else "ok",
                           retired=name in retires, times=times, values=values, marks=marks,
                           removed=removed))
    return out


def _reduce(times: list[int], values: Sequence[float], t0: float, t1: float, left: float,
            sx: float, columns: int) -> tuple[list[int], list[float]]:
    """Pixel x and value of the points in [t0, t1]: where more points than pixels, the
    lowest and highest value per column (so one night's spike stays visible)."""
    start, end = bisect_left(times, t0), bisect_right(times, t1)
    if end - start <= 2 * columns:
        x0 = left - t0 * sx
        return [round(x0 + t * sx) for t in times[start:end]], list(values[start:end])
    per = (t1 - t0) / columns
    width = (t1 - t0) * sx / columns
    ends = list(map(bisect_right, repeat(times), [t0 + col * per for col in range(1, columns)],
                    repeat(start), repeat(end)))
    ends.append(end)
    starts = [start, *ends[:-1]]
    # the columns that hold points, each cut out once; map() keeps the loop in C
    used = list(compress(range(columns), map(lt, starts, ends)))
    chunks = list(map(values.__getitem__, map(slice, map(starts.__getitem__, used),
                                               map(ends.__getitem__, used))))
    xs = [round(left + col * width) for col in used]
    # low then high in every column: a column whose points are one value gives the same
    # point twice, which _simplify drops
    return (list(chain.from_iterable(zip(xs, xs, strict=True))),
            list(chain.from_iterable(zip(map(min, chunks), map(max, chunks), strict=True))))


def _simplify(xs: list[int], ys: list[int]) -> list[tuple[int, int]]:
    """Drop repeated points and the middle of straight horizontal or vertical runs."""
    out: list[tuple[int, int]] = []
    if not xs:
        return out
    ax = bx = xs[0]
    ay = by = ys[0]
    out.append((ax, ay))
    for px, py in zip(xs, ys, strict=True):
        if px == bx and py == by:
            continue
        if len(out) >= 2 and ((ay == by == py and (bx - ax) * (px - bx) >= 0) or
                              (ax == bx == px and (by - ay) * (py - by) >= 0)):
            out[-1] = (px, py)
        else:
            out.append((px, py))
            ax, ay = bx, by
        bx, by = px, py
    return out


def draw(data: NodeData, status: NodeStatus, options: ChartOptions, *,
         retires: frozenset[str] = frozenset()) -> Scene:
    """The picture of one chart: title, axes, a line per series, marks, flags, legend."""
    W, H = options.width, options.height
    scene = Scene(width=W, height=H, title=clean(options.title),
                  description="", observed_at=status.last_good_at)
    add = scene.shapes.append
    add(Rect(0, 0, W, H, "bg"))
    add(Text(10, 20, fit(scene.title, chars_fitting(W - 20, 14)), "title"))
    observed = ("observed at " + stamp(status.last_good_at) if status.last_good_at is not None
                else "never collected")
    node_line = f"node {options.node}: {status.status}"
    if status.reasons:
        node_line += " (" + "; ".join(f"{r.reason}: {r.detail}" for r in status.reasons) + ")"
    add(Text(10, 37, fit(clean(f"{observed} \u00b7 {node_line}"), chars_fitting(W - 20)), "note"))

    series = _series_of(data, status, options, retires)
    failed = [(r.finished_at or r.started_at, r.error or r.state) for r in data.runs
              if r.state != "running" and not r.ok]

    # the time range: back from the newest point (the interactive chart's initial range)
    newest: float | None = max((s.times[-1] for s in series if s.times), default=None)
    if newest is None:
        newest = max((at for at, _ in failed), default=None)
    if newest is None:
        newest = status.last_good_at
    dated = newest is not None  # else there is no time to put on the time axis
    oldest = min((s.times[0] for s in series if s.times), default=newest)
    if newest is not None and options.range in RANGE_DAYS:
        oldest = max(oldest or newest, newest - RANGE_DAYS[options.range] * DAY)
    t1 = float(newest) if newest is not None else 0.0
    t0 = float(oldest) if oldest is not None else t1 - DAY
    if t1 - t0 < DAY:
        t0, t1 = t0 - DAY / 2, t1 + DAY / 2

    # the legend's rows come off the plot's height
    items: list[tuple[_Series | None, str]] = [(s, _legend_label(s)) for s in series]
    if failed:
        items.append((None, "failed collection"))
    left, right = 70, W - 14
    legend_rows, placed = legend_layout([label for _, label in items], right - left,
                                         max_rows=max(1, min(6, (H - 150) // 32)))
    top = 50
    plot_w = right - left
    plot_h = max(40, H - 40 - 16 * legend_rows - top)
    bottom = top + plot_h
    sx = plot_w / (t1 - t0)

    # points in range, two per column of COLUMN px at most, per scale
    shown: list[tuple[_Series, list[int], list[float]]] = []
    bases: dict[str, float | None] = {}  # percent: each series' first value shown
    for s in series:
        xs: list[int] = []  # no backup: nothing to draw, not a line at 0
        vs: list[float] = []
        if s.times and s.removed is not None:
            xs, vs = _reduce_counts(s.times, s.removed, t0, t1, left, sx, plot_w // COLUMN)
        elif s.times:
            xs, vs = _reduce(s.times, s.values, t0, t1, left, sx, plot_w // COLUMN)
        if options.scale == "log" and vs and min(vs) <= 0:
            keep = [i for i, x in enumerate(vs) if x > 0]
            xs, vs = [xs[i] for i in keep], [vs[i] for i in keep]
        elif options.scale == "percent":
            base = bases[s.name] = next((x for x in vs if x), None)
            vs = [100.0 * (x - base) / base for x in vs] if base else []
            xs = xs if base else []
        shown.append((s, xs, vs))
    axis = value_axis([min(v) for _, _, v in shown if v] + [max(v) for _, _, v in shown if v],
                       options.metric, options.scale)
    lo, hi = ((math.log2(axis.low), math.log2(axis.high)) if axis.log
              else (axis.low, axis.high))
    ka = -plot_h / (hi - lo)
    kb = bottom - lo * ka

    def ys_of(values: list[float]) -> list[int]:
        if axis.log:
            log2 = math.log2
            return [round(ka * log2(v) + kb) for v in values]
        return [round(ka * v + kb) for v in values]

    # grid and labels: none for values nobody has, nor dates without data
    drawn = sum(1 for _, xs, _ in shown if xs)
    for value, label in axis.ticks if drawn else ():
        y = ys_of([value])[0]
        add(Line([(left, y), (right, y)], "grid"))
        add(Text(left - 6, y + 4, label, "label", "end"))
    for at, label in time_ticks(t0, t1, plot_w // 80) if dated else ():
        x = round(left + (at - t0) * sx)
        add(Line([(x, bottom), (x, bottom + 4)], "axis"))
        add(Text(x, bottom + 16, label, "label", "middle"))
    add(Line([(left, bottom), (right, bottom)], "axis"))

    # failed runs first, so the series are drawn over them
    for at, error in failed:
        if t0 <= at <= t1:
            x = round(left + (at - t0) * sx)
            add(Line([(x, top), (x, bottom)], "flag"))
            add(Mark(x, top, "flagmark", clean(f"failed collection at {stamp(at)}: {error}")))

    for index, (s, xs, vs) in enumerate(shown):
        if not xs:
            continue
        ys = ys_of(vs)
        if options.metric == "count":  # a count holds until it changes
            sx_, sy_ = [xs[0]], [ys[0]]
            for x, y in zip(xs[1:], ys[1:], strict=True):
                sx_ += (x, x)
                sy_ += (sy_[-1], y)
            xs, ys = sx_, sy_
        add(Line(_simplify(xs, ys), _series_classes(s, index), name=clean(s.name),
                 newest=_newest(s)))
    if not drawn:
        add(Text(left + plot_w / 2, top + plot_h / 2, "no backup data in this range", "empty",
                 "middle"))

    # the findings' nights, on the line where the series has a point then
    for s, _xs, _vs in shown:
        for at, level, words in s.marks:
            if not t0 <= at <= t1:
                continue
            x = round(left + (at - t0) * sx)
            i = bisect_left(s.times, at)
            there: float | None = None  # the series' value at the mark, if it has one
            if i < len(s.times) and s.times[i] == at:
                there = (count_at(s.times, s.removed, [at])[0] if s.removed is not None
                         else s.values[i])
            if there is not None and options.scale == "percent":
                base = bases.get(s.name)
                there = 100.0 * (there - base) / base if base else None
            y = bottom if there is None or (axis.log and there <= 0) else ys_of([there])[0]
            add(Mark(x, y, level, clean(words)))

    # the legend
    y0 = bottom + 36
    for (owner, label), (row, x) in zip(items, placed, strict=False):
        y = y0 + row * 16
        colour = "flag" if owner is None else _series_classes(owner, series.index(owner))
        add(Line([(left + x, y - 4), (left + x + 16, y - 4)], colour))
        add(Text(left + x + 20, y, label, "legend"))
    if len(placed) < len(items):
        hidden = len(items) - len(placed)
        row, x = placed[-1] if placed else (0, 0)
        add(Text(right, y0 + row * 16, f"\u2026 and {hidden} more", "note", "end"))

    scene.description = _description(options, series, failed, status)
    return scene


def _newest(s: _Series) -> tuple[int, float] | None:
    """The series' newest point as stored (not as drawn), for readers of the picture."""
    if not s.times:
        return None
    at = s.times[-1]
    if s.removed is not None:
        return at, float(count_at(s.times, s.removed, [at])[0])
    return at, float(s.values[-1])


def _legend_label(s: _Series) -> str:
    label = fit(clean(s.name), 40)
    if s.retired:
        return label + " (retired)"
    if not s.times:
        return label + " (no backup)"
    return label if s.status == "ok" else f"{label} ({s.status})"


def _series_classes(s: _Series, index: int) -> str:
    if s.retired:
        return "retired"
    classes = f"c{index % SERIES_COLOURS}"
    return classes + " dashed" if s.status in ("warn", "alarm") else classes


def _description(options: ChartOptions, series: list[_Series],
                 failed: list[tuple[float, str]], status: NodeStatus) -> str:
    """The picture in words, for screen readers and for its <desc>."""
    words = [f"{options.metric} of {len(series)} backup series of node {options.node}, "
             f"{options.scale} scale, range {options.range}; node status {status.status}."]
    bad = [s for s in series if s.status != "ok"]
    if bad:
        words.append("Not ok: " + ", ".join(f"{s.name} ({s.status})" for s in bad[:20]) +
                     (f" and {len(bad) - 20} more" if len(bad) > 20 else "") + ".")
    if failed:
        words.append(f"{len(failed)} failed collection run(s), the last at "
                     f"{stamp(failed[-1][0])}.")
    return clean(" ".join(words))

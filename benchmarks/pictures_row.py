"""Row 9: the picture of a node with 100 series x 3,650 nightly points (target <= 0.3 s and
<= 150 KB of SVG).

    PYTHONPATH=. python -m benchmarks --only 9        (the row, in BENCHMARKS.md's table)
    PYTHONPATH=. python -m benchmarks.pictures_row [--repeat 7] [--png]   (every variant)

The node's data is what the store hands the renderer (``NodeData``, one file per
backup time, ten years of nights), built in memory so the row measures the
renderer only: the store read is row 5's. Sizes follow a realistic shape:
log-normal per series, slow growth, 0.2 % nightly jitter, a rare shrink that
the picture must keep visible, backups rotated away after 50 nights. Every
variant runs ``--repeat`` times, interleaved; the target is judged on the
fastest wall time (the run least disturbed by other load on a shared
machine), and the median wall and CPU times are shown beside it. In the
suite (``row9``) the picture a chart directive draws by default (size, linear,
the default range) is the row's subject and is judged on its median; the other
scales, metrics and ranges are shown beside it.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from xml.etree import ElementTree as ET

from sphinxcontrib_scmmonitor import pictures
from sphinxcontrib_scmmonitor.checks import NodeStatus, Reason, SeriesStatus
from sphinxcontrib_scmmonitor.store import BackupFile, NodeData, RunInfo, SeriesData

from .common import Context, RowResult, Timing, at_most, log

SERIES, DAYS, DAY = 100, 3650, 86400
EPOCH = 1451664602  # 2016-01-01 16:10:02 UTC
TARGET_S, TARGET_BYTES = 0.3, 150_000


def big_node(seed: int = 1) -> tuple[NodeData, NodeStatus]:
    rng = random.Random(seed)
    series = []
    for i in range(SERIES):
        base, growth = rng.lognormvariate(20, 2), rng.uniform(0, 0.0005)
        backups = []
        for day in range(DAYS):
            size = int(base * (1 + growth) ** day * (1 + rng.uniform(-0.002, 0.002)))
            if rng.random() < 0.001:
                size //= 3
            gone = None if day > DAYS - 50 else EPOCH + (day + 50) * DAY
            backups.append(BackupFile(EPOCH + day * DAY, size, gone))
        name = f"repos/r{i:02d}"
        series.append(SeriesData(name=name, raw_name=name.encode(), backups=backups))
    end = EPOCH + DAYS * DAY
    runs = [RunInfo(EPOCH + 100 * DAY, EPOCH + 100 * DAY + 5, "failed", "timed out", None, 0, 0),
            RunInfo(end, end + 5, "ok", None, "find", SERIES * 50, 0)]
    status = NodeStatus(node="C", hub="cms02", observed_at=end + 5, series=[
        SeriesStatus(name=s.name, reasons=[Reason("shrunk", "fell", at=(EPOCH + 3000 * DAY,))]
                     if k == 3 else []) for k, s in enumerate(series)])
    return NodeData(name="C", hub="cms02", series=series, runs=runs), status


def _variants() -> dict[str, pictures.ChartOptions]:
    return {f"{metric} {scale} {rng}": pictures.ChartOptions(
        node="C", title="cms02 backups on C", metric=metric, scale=scale, range=rng,
        height=500) for rng in ("all", "1y") for metric in ("size", "count")
        for scale in ("linear", "log", "percent")}


def row9(ctx: Context) -> RowResult:
    row = RowResult(9, f"render the picture (SVG) of a node with {SERIES} series x {DAYS:,} "
                       "points")
    data, status = big_node()
    default = pictures.ChartOptions(node="C", title="cms02 backups on C")
    every = _variants()
    variants = {f"default chart ({default.metric}, {default.scale}, range {default.range})":
                default, "the whole history (size linear all: 3,650 nights drawn)":
                every["size linear all"]}
    if not ctx.quick:
        variants.update({f"  {name}": options for name, options in every.items()
                         if name != "size linear all"})
    times = {name: Timing(name) for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    sizes: dict[str, int] = {}
    pictures.svg(data, status, default)  # warm-up: imports, caches
    for _ in range(ctx.reps(9, 5)):
        for name, options in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            text = pictures.svg(data, status, options)
            times[name].values.append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            sizes[name] = len(text.encode())
            ET.fromstring(text.encode())  # a real parser reads every variant
        log(f"    default: {times[next(iter(variants))].values[-1]:.3f} s")
    row.timings = [Timing(f"{name}: {sizes[name] / 1000:.1f} KB of SVG", t.values)
                   for name, t in times.items()]
    row.timings += [Timing(f"  CPU time of: {name.strip()}", values)
                    for name, values in cpu.items()]
    first = next(iter(variants))
    slowest = max(times, key=lambda n: times[n].median)
    largest = max(sizes, key=lambda n: sizes[n])
    # every variant drawn must meet the target, so the checks are the worst of them
    row.checks.append(at_most("render time, slowest variant (median)", times[slowest].median,
                              TARGET_S, " s"))
    row.checks.append(at_most("SVG size, largest variant", sizes[largest] / 1000,
                              TARGET_BYTES / 1000, " KB"))
    row.facts += [
        ("default chart: median wall / CPU",
         f"{times[first].median:.3f} s / {statistics.median(cpu[first]):.3f} s, "
         f"{sizes[first] / 1000:.1f} KB"),
        ("slowest variant", f"{slowest.strip()} (CPU {statistics.median(cpu[slowest]):.3f} s)"),
        ("largest SVG", largest.strip()),
        ("data", f"{SERIES} series x {DAYS:,} nights = {SERIES * DAYS:,} backups in memory "
                 "(NodeData as the store hands it over)"),
    ]
    if ctx.quick:
        row.notes.append("--quick: the other metrics, scales and ranges were not drawn.")
    row.notes += [
        "The renderer is a direct SVG writer (pictures/svg.py), not matplotlib: each series is "
        "downsampled to the picture's pixel width before anything is drawn (min and max per "
        "pixel column, so a one-night drop stays visible), so the SVG's size is set by the "
        "width and the number of series, not by the length of the history.",
        "What limits it: one pass over every backup of every series in Python (grouping them "
        "by night and into pixel columns), ~365,000 here; the drawing itself is per pixel "
        "column. The PNG (matplotlib, for PDF/epub/mail) is not part of the row.",
        "The CPU lines are the renderer's own time: on a loaded machine the wall time (the "
        "target) also holds the time other processes had the cores.",
    ]
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--png", action="store_true", help="also time the PNG (matplotlib)")
    args = parser.parse_args()
    data, status = big_node()
    variants = _variants()
    times: dict[str, list[float]] = {name: [] for name in variants}
    cpu: dict[str, list[float]] = {name: [] for name in variants}
    sizes: dict[str, int] = {}
    for _ in range(args.repeat):
        for name, options in variants.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            text = pictures.svg(data, status, options)
            times[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
            sizes[name] = len(text.encode())
            ET.fromstring(text.encode())  # a real parser reads every variant
    print(f"row 9: picture of a node with {SERIES} series x {DAYS} points, {args.repeat} runs "
          f"(target <= {TARGET_S} s, <= {TARGET_BYTES // 1000} KB)")
    print(f"  {'variant':<22} {'best':>7} {'median':>8} {'cpu':>7} {'SVG':>9}")
    ok = True
    for name in variants:
        best = min(times[name])
        passed = best <= TARGET_S and sizes[name] <= TARGET_BYTES
        ok &= passed
        print(f"  {name:<22} {best:6.3f}s {statistics.median(times[name]):7.3f}s "
              f"{statistics.median(cpu[name]):6.3f}s {sizes[name] / 1000:6.1f} KB  "
              f"{'ok' if passed else 'MISSED'}")
    if args.png:
        if not pictures.png_available():
            print("  png: skipped, matplotlib is not installed (pip install '.[images]')")
        else:
            png_times, size = [], 0
            for _ in range(max(1, args.repeat // 2)):
                start = time.perf_counter()
                size = len(pictures.png(data, status, variants["size linear all"]))
                png_times.append(time.perf_counter() - start)
            print(f"  {'png size linear all':<22} {min(png_times):6.3f}s "
                  f"{statistics.median(png_times):7.3f}s {'':>7} {size / 1000:6.1f} KB  "
                  "(matplotlib, for PDF/epub/mail; no target)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())

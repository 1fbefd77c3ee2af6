"""``python -m benchmarks [--only 1,3] [--quick] [--output FILE] [--keep]``.

Runs the rows in order, each against its baseline in the same run, and writes
BENCHMARKS.md (a full run) or benchmarks/.cache/last-run.md (``--only`` or
``--quick``, so that iterating never overwrites the real table). A row that
fails to run is reported as SKIP with the error; the others still run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import collect_rows, export_row, ingest, memory, parallel, verify_row
from .common import CACHE, REPO, Context, RowResult, context, log, machine_info
from .report import render

ROWS: dict[int, tuple[str, str]] = {
    1: ("collect_rows", "row1"),
    2: ("parallel", "row2"),
    3: ("ingest", "row3"),
    4: ("collect_rows", "row4"),
    5: ("export_row", "row5"),
    6: ("browser", "row6"),
    7: ("sphinx_build", "row7"),
    8: ("memory", "row8"),
    9: ("pictures_row", "row9"),
    10: ("scale_rows", "row10"),
    11: ("scale_rows", "row11"),
    12: ("scale_rows", "row12"),
    13: ("scale_rows", "row13"),
    14: ("verify_row", "row14"),
    15: ("status_row", "row15"),
}
_MODULES = {"collect_rows": collect_rows, "parallel": parallel, "ingest": ingest,
            "export_row": export_row, "memory": memory,
            "verify_row": verify_row}


def _row_function(number: int) -> Callable[[Context], RowResult]:
    module_name, func = ROWS[number]
    if module_name not in _MODULES:
        # rows 6, 7, 9 and 10-15 need Playwright / Sphinx / tests.pg: imported when run
        import importlib

        _MODULES[module_name] = importlib.import_module(f"benchmarks.{module_name}")
    return getattr(_MODULES[module_name], func)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated row numbers, e.g. 1,3")
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, skip the slowest "
                    "baselines; for iterating, not for comparison")
    ap.add_argument("--output", type=Path, help="where to write the markdown (default: "
                    "BENCHMARKS.md for a full run, benchmarks/.cache/last-run.md otherwise)")
    ap.add_argument("--keep", action="store_true", help="keep the generated data")
    args = ap.parse_args(argv)
    numbers = sorted(ROWS)
    if args.only:
        try:
            numbers = sorted({int(x) for x in args.only.split(",") if x.strip()})
        except ValueError:
            ap.error("--only takes row numbers such as 1,3")
        unknown = [n for n in numbers if n not in ROWS]
        if unknown:
            ap.error(f"no such row: {unknown} (rows: {sorted(ROWS)})")
    partial = bool(args.only) or args.quick
    output = args.output or (CACHE / "last-run.md" if partial else REPO / "BENCHMARKS.md")

    started = time.time()
    load_start = os.getloadavg()
    # an installed package has its bytecode (pip compiles it); a checkout may not, and with
    # PYTHONDONTWRITEBYTECODE every process it starts would compile it again, ~0.2 s each
    compileall.compile_dir(str(REPO / "sphinxcontrib_scmmonitor"), quiet=1)
    results: list[RowResult] = []
    with context(quick=args.quick, keep=args.keep) as ctx:
        for number in numbers:
            log(f"row {number} ...")
            t0 = time.perf_counter()
            try:
                row = _row_function(number)(ctx)
            except Exception as exc:  # one broken row must not lose the others' numbers
                traceback.print_exc()
                row = RowResult(number, _title(number), skipped=f"error: {type(exc).__name__}: "
                                f"{exc}".replace("\n", " ")[:300])
            row.seconds = time.perf_counter() - t0
            log(f"row {number}: {row.status} in {row.seconds:.0f} s "
                + ", ".join(f"{c.what} = {c.value:.3g}" for c in row.checks))
            results.append(row)
            # after every row: a run stopped half-way keeps the rows it finished
            seconds = _write(output, results, args.quick, argv, started, load_start)
    log(f"wrote {output} ({seconds / 60:.1f} min)")
    return 0


def _write(output: Path, results: list[RowResult], quick: bool, argv: list[str] | None,
           started: float, load_start: tuple[float, float, float]) -> float:
    seconds = time.time() - started
    command = "python -m benchmarks" + (" " + " ".join(argv if argv is not None
                                                        else sys.argv[1:])).rstrip()
    text = render(results, machine_info(), quick=quick, command=command.strip(),
                  started=started, seconds=seconds, load=(load_start, os.getloadavg()))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    return seconds


def _title(number: int) -> str:
    """The row's title when its module failed before making its own result."""
    return {1: "`scm-monitor collect` as a process: 20,000 tarballs in 100 series over ssh, "
               "existing store",
            2: "16 nodes and 200 simulated nodes at 100 ms round-trip latency vs plain "
               "OpenSSH listings at once",
            3: "ingest 1,000,000 backup rows into a fresh SQLite store",
            4: "re-collect an unchanged 20,000-file node vs its first collect",
            5: "export a node with 100 series x 3,650 daily points",
            6: "a page with 20 charts x 10 series x 3,650 points in headless Chromium: "
               "pictures, then Highcharts",
            7: "sphinx-build of 200 pages x 100 chart directives (pictures included) vs a "
               "do-nothing directive",
            8: "peak memory of collecting a node with 200,000 tarballs",
            9: "render the picture (SVG) of a node with 100 series x 3,650 points",
            10: "`scm-monitor status` of 1 node as a process vs `python -c pass`",
            11: "`status` and `notify --dry-run` of 300 nodes x 20 series: 5,000,000 rows "
                "vs 180,000",
            12: "sphinx-build over a 300-node store vs the same docs without the extension",
            13: "collect 150 nodes into PostgreSQL vs SQLite",
            14: "collect with verify = [size, sha256] of a source and a copy over ssh",
            15: "`status` of 100 series x 3,650 backups on 4 nodes with the v2 checks vs "
                "without"}[number]


if __name__ == "__main__":
    sys.exit(main())

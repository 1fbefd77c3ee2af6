"""Row 8: peak memory of collecting a node with 200,000 tarballs.

Each collection runs in its own Python process (``python -m benchmarks.memory
CONFIG.json``), so the peak is that of a real ``scm-monitor collect`` and not of
this harness. The peak is the child's own ``VmHWM`` (/proc/self/status, read by
the child at its end). Not ``ru_maxrss`` from ``wait4()``: Linux carries the
pre-exec high-water mark into it, i.e. the RSS of this harness at fork time
(~500 MB after rows 3 and 6). The child also reports its RSS once everything
is imported and the store is open, before listing, so the table can show what
the collection itself adds.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from .common import REPO, Context, RowResult, Timing, at_most, log

SERIES, PER_SERIES = 200, 1000  # 200,000 tarballs


def row8(ctx: Context) -> RowResult:
    row = RowResult(8, "peak memory of collecting a node with 200,000 tarballs")
    root = ctx.tree("t200k", SERIES, PER_SERIES)
    files = SERIES * PER_SERIES
    variants = {"ssh": ctx.ssh_node(root), "local": {"hub": "cms02", "host": "local",
                                                     "root": str(root)}}
    peak = {name: Timing(f"peak RSS, collect over {name} (first collect, fresh store)",
                         unit="MB") for name in variants}
    base = {name: Timing(f"  RSS before listing (imports + open store), {name}", unit="MB")
            for name in variants}
    secs = {name: Timing(f"  wall time of that collect, {name}") for name in variants}
    for _ in range(ctx.reps(2, 1)):
        for name, table in variants.items():
            out = _child(ctx, name, table)
            if out["added"] != files:
                raise RuntimeError(f"child collected {out}")
            peak[name].values.append(out["vmhwm_mb"])
            base[name].values.append(out["rss_before_mb"])
            secs[name].values.append(out["seconds"])
            log(f"    {name}: peak {out['vmhwm_mb']:.0f} MB, before {out['rss_before_mb']:.0f} "
                f"MB, {out['seconds']:.1f} s")
    row.timings = [peak["ssh"], base["ssh"], secs["ssh"], peak["local"], base["local"],
                   secs["local"]]
    ssh_peak = max(peak["ssh"].values)
    row.checks.append(at_most("peak RSS over ssh (worst run)", ssh_peak, 150, " MB"))
    added = ssh_peak - base["ssh"].median
    row.facts.append(("added by the collection (ssh)",
                      f"{added:.0f} MB = {added * 1e6 / files:.0f} bytes per file"))
    row.notes += [
        "The listing is streamed: paramiko reads 256 KiB at a time, the parser yields one "
        "Record per file and nothing keeps the raw listing. What is held is one Record "
        "per file until the store has written it (on a first collect every file is an "
        "addition, and the per-series digests of row 4 need the whole listing before "
        "they know which series changed): the slotted Record ~72 bytes, its path ~110, "
        "size, mtime and backup time ~90, list slots. Rows are written in batches of "
        "5,000 tuples.",
        "Fixed for this row (collect/listing.py): the series name is one shared bytes "
        "object per series instead of one per file, and the date parser's cache is "
        "capped at 10,000 entries instead of 100,000 (a tree whose dated folders are all "
        "different never hits it): 167 MB -> 144 MB over ssh.",
        "Next bottleneck: the Records themselves, and the imports (~73 MB before the "
        "first file: SQLAlchemy, paramiko and cryptography, Alembic for the schema "
        "check). Writing the files of a brand-new series while the listing still streams "
        "would make a first collect O(batch) in memory; the margin to 150 MB is thin.",
    ]
    return row


def _child(ctx: Context, name: str, table: dict[str, Any]) -> dict[str, Any]:
    spec = ctx.tmp / f"row8-{name}.json"
    db = ctx.tmp / f"row8-{name}.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    spec.write_text(json.dumps({"database": f"sqlite:///{db}", "node": table}))
    proc = subprocess.run([sys.executable, "-m", "benchmarks.memory", str(spec)],
                          cwd=REPO, stdout=subprocess.PIPE)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    if proc.returncode != 0:
        raise RuntimeError(f"memory child failed with status {proc.returncode}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main(spec_path: str) -> None:
    """The child: one real collection, as the command would run it."""
    from sphinxcontrib_scmmonitor import config
    from sphinxcontrib_scmmonitor.collect import collect_node
    from sphinxcontrib_scmmonitor.collect.runner import make_lister
    from sphinxcontrib_scmmonitor.store import Store

    spec = json.loads(Path(spec_path).read_text())
    settings = config.parse({"database": spec["database"], "hubs": {"cms02": {}},
                             "nodes": {"C": spec["node"]}})
    store = Store(settings.database)
    store.ensure_schema()
    node = settings.nodes["C"]
    lister = make_lister(node)
    if not node.is_local:
        import paramiko  # noqa: F401  (imported here so the baseline includes it)
    before = _status_mb("VmRSS")
    t0 = time.perf_counter()
    result = collect_node(store, node, lister=lister)
    seconds = time.perf_counter() - t0
    store.close()
    print(json.dumps({"added": result.added, "ok": result.ok, "error": result.error,
                      "seconds": seconds, "rss_before_mb": before,
                      "vmhwm_mb": _status_mb("VmHWM")}))


if __name__ == "__main__":
    main(sys.argv[1])

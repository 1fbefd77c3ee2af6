"""Row 3: ingest 1,000,000 backup rows into a fresh SQLite store vs raw sqlite3.

Both sides write the same rows into the same schema (made by the store's own
Alembic migration) in the same file system, with the same pragmas (WAL,
synchronous=NORMAL, foreign keys on) and in one transaction. The store's side is
the real write path: ``collect_node`` fed by a lister that hands out the 1M
records from memory (series state, grouping and digests, diff, series rows,
backup rows, run row). ``Store.finish_run`` alone is shown too.

The raw side is ``executemany`` of tuples built from the same Record objects in
the timed region (getting the fields out of the records is work any writer must
do); the same with tuples built beforehand is shown as the absolute floor.
"""

from __future__ import annotations

import sqlite3
import time

from sphinxcontrib_scmmonitor.collect import collect_node
from sphinxcontrib_scmmonitor.collect.listing import display
from sphinxcontrib_scmmonitor.store import Changes, Record

from .common import (
    Context,
    ReplayLister,
    RowResult,
    at_most,
    drop_store,
    fresh_store,
    interleave,
    settings_for,
    tree_records,
)

SERIES, PER_SERIES = 500, 2000  # 1,000,000 rows
ROOT = "/data/var/scm/backup/cms02"
_INSERT = ("INSERT INTO backups (node_id, series_id, path, backup_at, size, mtime, "
           "first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")


def row3(ctx: Context) -> RowResult:
    row = RowResult(3, "ingest 1,000,000 backup rows into a fresh SQLite store")
    t0 = time.perf_counter()
    records = tree_records(ROOT, SERIES, PER_SERIES)
    row.facts.append(("rows", f"{len(records):,} in {SERIES} series "
                              f"(made in memory in {time.perf_counter() - t0:.1f} s)"))
    node = settings_for({"C": {"hub": "cms02", "host": "local", "root": ROOT}}).nodes["C"]
    names = {r.series: display(r.series) for r in records[::PER_SERIES]}
    series = sorted(names)

    def via_collect() -> float:
        store = fresh_store(ctx.tmp, "row3")
        try:
            t = time.perf_counter()
            result = collect_node(store, node, lister=ReplayLister(node, records))
            dt = time.perf_counter() - t
        finally:
            drop_store(store)
        if not result.ok or result.added != len(records):
            raise RuntimeError(f"ingest went wrong: {result}")
        return dt

    def via_finish_run() -> float:
        store = fresh_store(ctx.tmp, "row3")
        try:
            node_id = store.ensure_node("C", "cms02")
            run_id = store.start_run(node_id, time.time())
            changes = Changes(added=records)
            t = time.perf_counter()
            store.finish_run(node_id, run_id, changes=changes, complete=True, ok=True,
                             error=None, method="bench", files_seen=len(records), unparsed=0,
                             unparsed_sample=None, now=time.time(), series_names=names)
            return time.perf_counter() - t
        finally:
            drop_store(store)

    def raw(prebuilt: bool) -> float:
        store = fresh_store(ctx.tmp, "row3raw")
        node_id = store.ensure_node("C", "cms02")
        path = store.engine.url.database
        store.engine.dispose()
        conn = sqlite3.connect(path, isolation_level=None)
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = ON")
            now = int(time.time())
            # series ids are known in advance here (1..N): the tuples can be built first
            ids = {raw_name: i for i, raw_name in enumerate(series, 1)}
            rows = [_row(node_id, ids, r, now) for r in records] if prebuilt else None
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT INTO series (id, node_id, raw_name, name) "
                             "VALUES (?, ?, ?, ?)",
                             [(ids[s], node_id, s, names[s]) for s in series])
            conn.executemany(_INSERT, rows if rows is not None else
                             [(node_id, ids[r.series], r.path, r.backup_at, r.size, r.mtime,
                               now, now) for r in records])
            conn.execute("COMMIT")
            return time.perf_counter() - t
        finally:
            conn.close()
            drop_store(store)

    variants = {
        "store: collect_node over the 1M records (real write path)": via_collect,
        "raw sqlite3 executemany (tuples made from the records)": lambda: raw(False),
        "store: Store.finish_run(Changes(added=1M)) alone": via_finish_run,
        "raw sqlite3 executemany (tuples made beforehand: the floor)": lambda: raw(True),
    }
    names_ = list(variants)
    reps = {names_[0]: ctx.reps(3, 1), names_[1]: ctx.reps(3, 1), names_[2]: ctx.reps(2, 1),
            names_[3]: ctx.reps(2, 1)}
    timings = interleave(variants, reps)
    row.timings = list(timings.values())
    ours, base = timings[names_[0]].median, timings[names_[1]].median
    row.checks.append(at_most("collect_node / raw executemany", ours / base, 1.5))
    row.facts.append(("finish_run alone / raw executemany",
                      f"{timings[names_[2]].median / base:.2f}x"))
    row.facts.append(("collect_node / floor (prebuilt tuples)",
                      f"{ours / timings[names_[3]].median:.2f}x"))
    row.facts.append(("rows per second (collect_node)", f"{len(records) / ours:,.0f}"))
    row.notes += [
        "Fixed for this row: the backup rows went through SQLAlchemy Core's executemany "
        "with one dict per row, which spent ~7 µs a row building the driver's parameters "
        "(dict -> positional tuple, bind processors): more than SQLite's own insert. They "
        "now go as plain tuples to the driver's executemany, the statement still compiled "
        "by Core for the dialect (store/db.py `_insert_rows`; PostgreSQL keeps the dict "
        "path). Before: 11.3 s vs 6.2 s raw (1.8x) on this machine. The per-run UPDATE "
        "of last_seen_at over every present row (another full pass) is gone too.",
        "What is left above raw: grouping the records per series and checksumming them "
        "for row 4's digests (~0.5 µs a row), the 500 series inserted one by one "
        "(RETURNING their ids), batching, and the run bookkeeping.",
        "Next bottleneck: SQLite itself — B-tree inserts into the table and its two "
        "indexes (unique (node_id, path) and (series_id, backup_at)): the raw floor is "
        "~4-6 µs a row on this machine; the paths are the biggest part of each row.",
    ]
    return row


def _row(node_id: int, ids: dict[bytes, int], r: Record, now: int
         ) -> tuple[int, int, bytes, int, int, float, int, int]:
    return (node_id, ids[r.series], r.path, r.backup_at, r.size, r.mtime, now, now)

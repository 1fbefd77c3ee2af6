"""Rows 10-13: start-up, cost set by nodes and series (not history), docs builds, PostgreSQL.

Row 10 runs ``scm-monitor status`` of one node as a process beside ``python -c
pass`` with the same interpreter. Row 11 runs ``status`` and ``notify --dry-run``
as processes over two stores of the same 300 nodes x 20 series: 180,000 rows
(30 nightly backups a series, all on the nodes) and ~5,000,000 rows (834 nights
each, the node keeping the newest 30, the rest gone): what the checks judge is the
same, only the history differs. Row 12 builds docs over the big store. Row 13
collects 150 nodes into PostgreSQL and into SQLite in the same run.

The two big stores are written straight into the schema with one executemany in
one transaction (~1 min) and cached under /tmp/scmmonitor-bench-scale, keyed by
their shape; they are what a year of collections leaves (gone_at, first_seen_at,
listed counts, one good run a node).
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sphinxcontrib_scmmonitor.store import Store

from .common import (
    DAY,
    REPO,
    Context,
    RowResult,
    Timing,
    at_most,
    interleave,
    log,
    series_names,
)

NODES, SERIES, KEEP = 300, 20, 30
BIG_DAYS = 834  # 300 x 20 x 834 = 5,004,000 rows
SCALE_DIR = Path(os.environ.get("SCMMONITOR_BENCH_SCALE", "/tmp/scmmonitor-bench-scale"))
PY = sys.executable
SCM = str(Path(sys.executable).parent / "scm-monitor")
#: the shape of the cached stores (a new one makes them again; a new schema revision only
#: upgrades them, see scale_store)
_SHAPE_VERSION = 1


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def scale_store(days: int, nodes: int = NODES, series: int = SERIES) -> Path:
    """The config of a store of ``nodes`` x ``series`` x ``days`` nightly backups (cached)."""
    folder = SCALE_DIR / f"v{_SHAPE_VERSION}-{nodes}x{series}x{days}"
    toml = folder / "scmmonitor.toml"
    if toml.is_file():
        # made by an earlier release: upgraded in place, as an operator's store is
        subprocess.run([SCM, "-c", str(toml), "db", "upgrade"], check=True, env=_env(),
                       stdout=subprocess.DEVNULL)
        return toml
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "scmmonitor.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{db}{suffix}").exists():
            os.unlink(f"{db}{suffix}")
    store = Store(f"sqlite:///{db}")
    store.ensure_schema()
    store.close()
    t0 = time.perf_counter()
    end = int(time.time()) // DAY * DAY - 20 * 3600  # the newest night: 04:00 UTC today
    observed = end + 3600
    names = [f"N{i:03d}" for i in range(nodes)]
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = OFF")
    with conn:
        conn.executemany("INSERT INTO nodes (id, name, hub) VALUES (?, ?, 'cms02')",
                         [(i + 1, n) for i, n in enumerate(names)])
        conn.executemany(
            "INSERT INTO runs (node_id, started_at, finished_at, state, method, files_seen, "
            "unparsed, added, changed, gone) VALUES (?, ?, ?, 'ok', 'find', ?, 0, 0, 0, 0)",
            [(i + 1, observed - 60, observed, series * min(days, KEEP))
             for i in range(nodes)])
        sids = []
        for i in range(nodes):
            for j, sname in enumerate(series_names(series)):
                sids.append((i * series + j + 1, i + 1, sname.encode(), sname,
                             min(days, KEEP)))
        conn.executemany("INSERT INTO series (id, node_id, raw_name, name, listed_count, "
                         "listed_digest) VALUES (?, ?, ?, ?, ?, 0)", sids)

        def rows():  # type: ignore[no-untyped-def]
            for sid, node_id, raw, _name, _count in sids:
                root = b"/data/backup/N%03d/cms02/" % (node_id - 1)
                leaf = raw.rsplit(b"/", 1)[-1] + b".tar.gz"
                base = 1_000_000 + 7919 * sid
                for d in range(days):
                    at = end - (days - 1 - d) * DAY + (sid * 37) % 3600
                    purged = d + KEEP
                    gone = (end - (days - 1 - purged) * DAY + 3600) if purged < days else None
                    day = time.strftime("%Y/%m/%d/%H%M%S", time.gmtime(at)).encode()
                    # the first node's first series shrank last night: notify has a mail to write
                    size = base + 13 * d if not (sid == 1 and d == days - 1) else base // 10
                    yield (node_id, sid, root + raw + b"/" + day + b"/" + leaf, at, size,
                           float(at + 300), at + 600, gone or observed, gone)

        conn.executemany(
            "INSERT INTO backups (node_id, series_id, path, backup_at, size, mtime, "
            "first_seen_at, last_seen_at, gone_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows())
    count = conn.execute("SELECT COUNT(*) FROM backups").fetchone()[0]
    conn.execute("ANALYZE")
    conn.close()
    log(f"  made {db}: {count:,} rows in {time.perf_counter() - t0:.0f} s")
    lines = [f"database = {json.dumps(f'sqlite:///{db}')}", "", "[defaults]",
             "max_age_hours = 1e9", "", "[hubs.cms02]", 'email = ["ops@example.org"]', ""]
    for n in names:
        lines += [f"[nodes.{n}]", 'hub = "cms02"', 'host = "local"',
                  f'root = "/data/backup/{n}/cms02"', ""]
    toml.write_text("\n".join(lines))
    (folder / "rows").write_text(str(count))
    return toml


def _process(argv: list[str], *, ok: tuple[int, ...] = (0, 1, 2)) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=_env())
    took = time.perf_counter() - t0
    if proc.returncode not in ok:
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: "
                           f"{proc.stderr.decode()[-300:]}")
    return took


def row10(ctx: Context) -> RowResult:
    row = RowResult(10, "`scm-monitor status` of 1 node as a process vs `python -c pass`")
    toml = scale_store(60, nodes=1, series=10)
    variants = {
        "scm-monitor status (1 node, 10 series)": lambda: _process([SCM, "-c", str(toml),
                                                                    "status"]),
        "python -c pass (same interpreter)": lambda: _process([PY, "-c", "pass"]),
        "python -c 'import sqlalchemy'": lambda: _process([PY, "-c", "import sqlalchemy"]),
    }
    reps = ctx.reps(15, 5)
    timings = interleave(variants, dict.fromkeys(variants, reps))
    row.timings = list(timings.values())
    names = list(variants)
    # the fastest runs: the least disturbed by other load on a shared machine
    above = min(timings[names[0]].values) - min(timings[names[1]].values)
    med = timings[names[0]].median - timings[names[1]].median
    row.checks.append(at_most("status above python -c pass (fastest runs)", above, 0.15, " s"))
    row.facts.append(("status above python -c pass (medians)", f"{med * 1000:.0f} ms"))
    sqla = min(timings[names[2]].values) - min(timings[names[1]].values)
    row.facts.append(("import sqlalchemy above python -c pass (fastest runs)",
                      f"{sqla * 1000:.0f} ms"))
    probe = subprocess.run(
        [PY, "-c", "import sys\nfrom sphinxcontrib_scmmonitor import cli\n"
                   f"cli.main(['-c', {str(toml)!r}, 'status'])\n"
                   "print('sqlalchemy' in sys.modules, file=sys.stderr)"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=_env())
    row.facts.append(("status (SQLite store) imports SQLAlchemy",
                      "yes" if probe.stderr.split()[-1:] == ["True"] else "no"))
    return row


def row11(ctx: Context) -> RowResult:
    row = RowResult(11, "`status` and `notify --dry-run` of 300 nodes x 20 series: "
                        "5,000,000 rows vs 180,000")
    small, big = scale_store(KEEP), scale_store(BIG_DAYS)
    rows = {p: int((p.parent / "rows").read_text()) for p in (small, big)}
    variants = {}
    for label, toml in (("5M rows", big), ("180k rows", small)):
        for command in (["status"], ["notify", "--dry-run"]):
            variants[f"{' '.join(command)}, {label}"] = (
                lambda toml=toml, command=command: _process([SCM, "-c", str(toml), *command]))
    reps = ctx.reps(5, 2)
    timings = interleave(variants, dict.fromkeys(variants, reps))
    row.timings = list(timings.values())
    for command in ("status", "notify --dry-run"):
        ratio = timings[f"{command}, 5M rows"].median / timings[f"{command}, 180k rows"].median
        row.checks.append(at_most(f"{command}: 5M rows / 180k rows", ratio, 1.3))
    row.facts.append(("rows", f"{rows[big]:,} (834 nights a series, newest 30 on the node) vs "
                              f"{rows[small]:,} (30 nights)"))
    row.facts.append(("backups the checks' read returns a series (5M vs 180k)",
                      f"{_recent_rows(big)} vs {_recent_rows(small)}"))
    return row


def _recent_rows(toml: Path) -> int:
    """How many backups ``status`` reads of one series of the first node (the row's limit)."""
    from sphinxcontrib_scmmonitor import config
    from sphinxcontrib_scmmonitor.checks import LOOK_BACK
    from sphinxcontrib_scmmonitor.store import open_reader

    settings = config.load(toml)
    node = settings.node("N000")
    reader = open_reader(settings.database)
    data = reader.recent_node_data("N000", node.hub, window_s=(node.gap_days + 1) * DAY,
                                   look_back=LOOK_BACK)
    reader.close()
    return max(len(s.backups) for s in data.series)


def _sphinx_project(src: Path, toml: Path, *, extension: bool, charts: int, status: bool
                    ) -> None:
    src.mkdir(parents=True, exist_ok=True)
    lines = ['project = "scale"', 'html_theme = "alabaster"', 'exclude_patterns = ["_build"]']
    if extension:
        lines += ['extensions = ["sphinxcontrib_scmmonitor"]',
                  f"scmmonitor_config = {json.dumps(str(toml))}",
                  'scmmonitor_render = "static"', "scmmonitor_images = False"]
    (src / "conf.py").write_text("\n".join(lines) + "\n")
    body = ["Backups", "=======", "", "A page about the backups.", ""]
    for i in range(charts):
        body += [f".. scm-backup-chart:: N{i % NODES:03d}", ""]
    if status:
        body += [".. scm-backup-status::", ""]
    (src / "index.rst").write_text("\n".join(body))


def _build(src: Path, out: Path) -> float:
    # -E: every page read again; the output folder stays, as `make html` leaves it
    return _process([PY, "-m", "sphinx", "-q", "-E", "-b", "html", str(src), str(out)], ok=(0,))


def row12(ctx: Context) -> RowResult:
    row = RowResult(12, "sphinx-build over a 300-node store (5,000,000 rows) vs the same docs "
                        "without the extension")
    toml = scale_store(BIG_DAYS)
    base = ctx.tmp / "row12"
    projects = {
        "no directive, extension loaded": (True, 0, False),
        "no directive, no extension": (False, 0, False),
        "50 charts + a status table": (True, 50, True),
        "50 paragraphs, no extension": (False, 0, False),
    }
    for i, (ext, charts, status) in enumerate(projects.values()):
        _sphinx_project(base / f"src{i}", toml, extension=ext, charts=charts, status=status)
    # the first build of the 50-chart page reads and exports every node (its status table
    # shows them all, and nothing was exported there yet); the page with no directive none
    first = {}
    for i, name in enumerate(projects):
        first[name] = _build(base / f"src{i}", base / f"out{i}")
        log(f"    first build, {name}: {first[name]:.2f} s")
    # the page that shows every node (a page showing none exports none: nothing to compare)
    data = base / "out2" / "_static" / "scmmonitor" / "data"
    assert not (base / "out0" / "_static" / "scmmonitor" / "data").exists()
    before = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    variants = {name: (lambda i=i: _build(base / f"src{i}", base / f"out{i}"))
                for i, name in enumerate(projects)}
    reps = ctx.reps(5, 2)
    timings = interleave(variants, dict.fromkeys(variants, reps))
    row.timings = list(timings.values())
    row.timings.append(Timing("  first build, no directive, extension loaded (exports none)",
                              [first["no directive, extension loaded"]]))
    row.timings.append(Timing("  first build, 50 charts + a status table (exports all)",
                              [first["50 charts + a status table"]]))
    names = list(projects)
    row.checks.append(at_most("no directive: extension / none (rebuild)",
                              timings[names[0]].median / timings[names[1]].median, 1.1))
    row.checks.append(at_most("50 charts + status table / none (rebuild)",
                              timings[names[2]].median / timings[names[3]].median, 1.5))
    after = {p.name: p.stat().st_mtime_ns for p in data.iterdir()}
    rewritten = sum(1 for k, v in after.items() if before.get(k) != v)
    row.checks.append(at_most("data files rewritten by the rebuilds (unchanged data)",
                              rewritten, 0, ""))
    row.facts.append(("data files after the first build (50 charts + a status table)",
                      f"{len(before):,}; none with no directive"))
    return row


def row13(ctx: Context) -> RowResult:
    import contextlib
    from concurrent.futures import ThreadPoolExecutor

    from sqlalchemy import event, text

    from sphinxcontrib_scmmonitor.collect import collect_node

    from .common import ReplayLister, settings_for, tree_records

    row = RowResult(13, "collect 150 nodes (20 series x 100 nights each) into PostgreSQL vs "
                        "SQLite")
    sys.path.insert(0, str(REPO))
    from tests.pg import postgres_available, start_postgres

    problem = postgres_available()
    if problem:
        row.skipped = problem
        return row
    # durable as an operator's server is: the store commits on both as lite.prepare says
    server = start_postgres(durable=True)
    costs: dict[str, tuple[int, int]] = {}
    try:
        tables = {f"P{i:03d}": {"hub": "cms02", "host": "local",
                                "root": f"/data/backup/P{i:03d}/cms02"} for i in range(150)}
        settings = settings_for(tables)
        records = {n: tree_records(node.root, 20, 100) for n, node in settings.nodes.items()}

        def one(store: Store, name: str) -> None:
            node = settings.nodes[name]
            result = collect_node(store, node, lister=ReplayLister(node, records[name]))
            if not result.ok:
                raise RuntimeError(f"{name}: {result}")

        def collect(url: str, workers: int, *, foreign_key: bool = True) -> float:
            store = Store(url)
            store.ensure_schema()
            if not foreign_key:  # not a schema we ship: what the key costs PostgreSQL
                with store.engine.begin() as conn:
                    conn.execute(text("ALTER TABLE backups DROP CONSTRAINT "
                                      "fk_backups_node_id_series"))
            backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
            if backend not in costs:  # what one node sends, counted once outside the timing
                sent, began = [0], [0]
                event.listen(store.engine, "before_cursor_execute",
                             lambda *_a: sent.__setitem__(0, sent[0] + 1))
                event.listen(store.engine, "begin", lambda *_a: began.__setitem__(0, began[0] + 1))
                one(store, "P000")
                store.close()
                store = Store(url)
                costs[backend] = (sent[0], began[0])
            names = [n for n in settings.nodes if n != "P000"]
            t0 = time.perf_counter()
            if workers == 1:
                for name in names:
                    one(store, name)
            else:  # as collect_all runs them: a thread a node, at most `workers` at once
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(lambda name: one(store, name), names))
            took = time.perf_counter() - t0
            store.close()
            return took

        counter = iter(range(1000))

        def sqlite(workers: int) -> float:
            db = ctx.tmp / f"row13-{next(counter)}.db"
            took = collect(f"sqlite:///{db}", workers)
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(f"{db}{suffix}")
            return took

        variants = {
            "PostgreSQL, one node after another": lambda: collect(server.create_database(), 1),
            "SQLite, one node after another": lambda: sqlite(1),
            "PostgreSQL, 16 at once (collect's workers = 16)":
                lambda: collect(server.create_database(), 16),
            "SQLite, 16 at once (collect's workers = 16)": lambda: sqlite(16),
            "  PostgreSQL without the backups' foreign key, one node after another":
                lambda: collect(server.create_database(), 1, foreign_key=False)}
        timings = interleave(variants, dict.fromkeys(variants, ctx.reps(3, 1)))
    finally:
        server.stop()
    row.timings = list(timings.values())
    med = {name: t.median for name, t in timings.items()}
    names = list(variants)
    row.checks.append(at_most("PostgreSQL / SQLite, one node after another",
                              med[names[0]] / med[names[1]], 1.2))
    row.checks.append(at_most("PostgreSQL / SQLite, 16 at once", med[names[2]] / med[names[3]],
                              1.2))
    per_node_ms = (med[names[0]] - med[names[4]]) / (len(settings.nodes) - 1) * 1000
    row.facts.append(("PostgreSQL without the foreign key / SQLite, one node after another",
                      f"{med[names[4]] / med[names[1]]:.2f}x (the key: {per_node_ms:.0f} ms "
                      "a node of 2,000 new files)"))
    row.facts.append(("rows", "149 nodes x 2,000 files = 298,000 rows, one run a node "
                              "(a 150th, untimed, counts what one node sends)"))
    for backend, (sent, began) in costs.items():
        row.facts.append((f"one new node, {backend}",
                          f"{sent} statements through SQLAlchemy in {began} transactions"
                          + (" (+ 1 binary COPY of its 2,000 rows)" if backend == "PostgreSQL"
                             else " (its 2,000 rows in 1 executemany)")))
    row.notes += [
        "Like with like: SQLite runs as the store sets it up (WAL, synchronous = NORMAL: a "
        "commit does not wait for the disk, a crash never corrupts); PostgreSQL runs with "
        "its default fsync and full page writes (crash-safe, as a production server) and "
        "the store's sessions set synchronous_commit = off, the same promise "
        "(docs/operations.rst, \"Durability\"). Until 0005 the benchmark's server had "
        "fsync, full page writes and synchronous_commit off: less safe than SQLite.",
        "What limits it, one node after another: PostgreSQL's work per added row (heap, "
        "three indexes, and one foreign-key check a row, an SPI lookup and key-share lock "
        "of the series row; schema 0005 made it one key instead of two), psycopg's "
        "per-row encoding of the binary COPY in Python, and each statement a round trip "
        "between two processes on two shared cores. The same collect into a database "
        "whose backups table has the key dropped (measured in the same run, not a schema "
        "we ship) shows the key's share: a third to a half of PostgreSQL's time, and the "
        "rest still above 1.2x. The key stays: it is what keeps a backup's node and series "
        "one, and what removes a node's backups with it. Sixteen at once, PostgreSQL's "
        "writers run in parallel where SQLite's queue on one lock.",
    ]
    return row

"""A real SQLite store holding exactly a modelled hub's rows (tests/backup_nights.py).

The rows as the collector leaves them, the settings that judge them, and the report
the checks give on every node's whole history.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sphinxcontrib_scmmonitor import config
from sphinxcontrib_scmmonitor.checks import Report, check_node, originals_for, reader
from sphinxcontrib_scmmonitor.store import Store
from tests import backup_nights as bn


def modelled_store(tmp_path: Path, observed: list[bn.Observed]) -> Store:
    """A real SQLite store holding exactly the modelled rows, as the collector leaves them."""
    db = tmp_path / "scm.db"
    store = Store(f"sqlite:///{db}")
    store.ensure_schema()
    conn = sqlite3.connect(db)
    with conn:
        for o in observed:
            node_id = conn.execute("INSERT INTO nodes (name, hub) VALUES (?, 'cms02')",
                                   (o.node.name,)).lastrowid
            conn.execute("INSERT INTO runs (node_id, started_at, finished_at, state, "
                         "files_seen, unparsed, added, changed, gone) "
                         "VALUES (?, ?, ?, 'ok', 0, 0, 0, 0, 0)",
                         (node_id, o.observed_at - 60, o.observed_at))
            for s in o.series:
                present = sum(1 for b in s.backups if b.gone_at is None)
                sid = conn.execute("INSERT INTO series (node_id, raw_name, name, listed_count, "
                                   "listed_digest) VALUES (?, ?, ?, ?, 0)",
                                   (node_id, s.raw_name, s.name, present)).lastrowid
                conn.executemany(
                    "INSERT INTO backups (node_id, series_id, path, backup_at, size, mtime, "
                    "first_seen_at, last_seen_at, gone_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?, ?)",
                    [(node_id, sid, b.path, b.backup_at, b.size, b.first_seen_at,
                      b.gone_at or o.observed_at, b.gone_at) for b in s.backups])
    conn.close()
    return store


def modelled_settings(db: Path, nodes: tuple[bn.Node, ...]) -> config.Settings:
    """The settings of the modelled hub: a source S and its copies, on ``db``."""
    return config.parse({
        "database": f"sqlite:///{db}",
        "defaults": {"timezone": bn.ZONE, "max_age_hours": 1e6},
        "hubs": {"cms02": {"source": "S"}},
        "nodes": {n.name: {"hub": "cms02", "host": "local", "root": n.root,
                           "keep_min": n.keep_min, "keep_max": n.keep_max} for n in nodes}})


def full_report(settings: config.Settings, store: Store, now: float) -> Report:
    """The report of every node judged on its whole history (what the recent read must match)."""
    read = reader(settings, store)  # every node's whole history
    return Report(generated_at=now, nodes=[
        check_node(node, read(name), now, originals_for(settings, name, read))
        for name, node in settings.nodes.items()])

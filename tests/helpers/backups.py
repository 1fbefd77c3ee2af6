"""Backup trees, configurations and stores for the tests: real sparse files, real SQLite.

``plant`` makes one dated backup file, ``build_tree`` a node's whole tree,
``write_config`` a scmmonitor.toml of ``local`` nodes, ``collect`` runs the CLI on it,
``present`` and ``runs`` read the SQLite store back with plain SQL.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sphinxcontrib_scmmonitor import cli

DAY = 86400
LAYOUT = "%Y/%m/%d/%H%M%S"

def plant(root: Path, series: str | bytes, when: int, name: str | bytes, size: int, *,
          zone: str = "UTC", layout: str = LAYOUT, mtime: float | None = None) -> bytes:
    """A sparse backup file ``<root>/<series>/<when as layout in zone>/<name>``; its raw path.

    Sparse: the byte size is exact while the disk blocks (what ``du`` counts) are ~0.
    """
    dated = datetime.fromtimestamp(when, ZoneInfo(zone)).strftime(layout)
    folder = os.fsencode(root) + b"/" + os.fsencode(series) + b"/" + dated.encode()
    os.makedirs(folder, exist_ok=True)
    raw = folder + b"/" + os.fsencode(name)
    with open(raw, "wb") as fh:
        fh.truncate(size)
    stamp = when + 123.456789 if mtime is None else mtime
    os.utime(raw, (stamp, stamp))
    return raw


def toml(value: Any) -> str:
    return json.dumps(value) if not isinstance(value, bool) else str(value).lower()


def write_config(folder: Path, nodes: dict[str, dict[str, Any]], *,
                 database: str = "sqlite:///store.db", hubs: Sequence[str] = ("cms02",),
                 defaults: dict[str, Any] | None = None, name: str = "scmmonitor.toml") -> Path:
    """A config with local nodes: each entry of ``nodes`` is the node's keys (hub defaults
    to the first hub, host to "local")."""
    lines = [f"database = {toml(database)}", "", "[defaults]"]
    lines += [f"{k} = {toml(v)}" for k, v in (defaults or {}).items()]
    for hub in hubs:
        lines += ["", f"[hubs.{toml(hub)}]"]
    for node, keys in nodes.items():
        keys = {"hub": hubs[0], "host": "local", **keys}
        lines += ["", f"[nodes.{toml(node)}]"] + [f"{k} = {toml(v)}" for k, v in keys.items()]
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    return path


def collect(cfg: Path, *args: str) -> int:
    return cli.main(["-c", str(cfg), "collect", "--progress", "lines", *args])


def present(db: Path, node: str | None = None) -> dict[bytes, tuple[int, int, float]]:
    """path -> (size, backup_at, mtime) of every backup not marked gone."""
    query = ("select b.path, b.size, b.backup_at, b.mtime from backups b "
             "join nodes n on n.id = b.node_id where b.gone_at is null"
             + (" and n.name = ?" if node else ""))
    with sqlite3.connect(db) as conn:
        return {bytes(p): (s, a, m) for p, s, a, m in conn.execute(query, (node,) if node
                                                                     else ())}


def runs(db: Path, node: str) -> list[dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute(
            "select r.* from runs r join nodes n on n.id = r.node_id where n.name = ? "
            "order by r.id", (node,))]


def today_at(hour: int = 2) -> int:
    """Today at ``hour``:10:02 UTC (or yesterday's, if that is still to come)."""
    now = int(time.time())
    at = now - now % DAY + hour * 3600 + 602
    return at if at <= now else at - DAY


def build_tree(root: Path) -> dict[bytes, tuple[int, int]]:
    """A backup tree like a real node's; returns path -> (size, backup_at) of every backup.

    - ``tracs/env``: five nightly backups, sparse and > 4 GiB (sizes are bytes, not blocks)
    - ``svn/dybsvn``: stale, its newest is ten days old
    - ``repos/env``: a non-UTF-8 file name, and two files in one dated folder
    - a stray undated ``stray.tar.gz``, a ``README.txt`` that is not a backup, and
      ``last`` symlinks to a dated folder and to a file (never followed)
    """
    newest = today_at()
    files: dict[bytes, tuple[int, int]] = {}
    for day in range(5):
        at = newest - day * DAY
        size = 5 * 2**30 + 1000 * day + 7
        files[plant(root, "tracs/env", at, "env.tar.gz", size)] = (size, at)
    for day in range(10, 13):
        at = newest - day * DAY
        files[plant(root, "svn/dybsvn", at, "dybsvn.tar.gz", 2_000_000 + day)] = \
            (2_000_000 + day, at)
    at = newest - DAY
    files[plant(root, "repos/env", at, b"env-\xff\xfe-\xe9t\xe9.tar.gz", 77)] = (77, at)
    files[plant(root, "repos/env", at, "env.part2.gz", 23)] = (23, at)
    (root / "stray.tar.gz").write_bytes(b"x" * 10)
    dated = root / "tracs/env" / datetime.fromtimestamp(newest, UTC).strftime(LAYOUT)
    (dated / "README.txt").write_text("not a backup")
    (root / "tracs/env/last").symlink_to(dated.relative_to(root / "tracs/env"))
    (root / "tracs/env/last.tar.gz").symlink_to(dated / "env.tar.gz")
    return files


#: file names a backup node may really hold: not UTF-8, control characters, shell and HTML
HOSTILE_NAMES: tuple[bytes, ...] = (
    b"env-\xff\xfe.tar.gz",
    b"latin1-\xe9t\xe9.tar.gz",
    b"new\nline.tar.gz",
    b"tab\there.tar.gz",
    b"quote'single\".tar.gz",
    b"$(touch pwned).tar.gz",
    b"semi;colon;reboot.tar.gz",
    b"`id`.tar.gz",
    b"<script>alert(1)<\\script>.tar.gz",
    b"back\\slash.tar.gz",
    b"\x1b[31mred.tar.gz",
)


def html_output(folder: Path, name: str = "html") -> Path:
    """An empty Sphinx HTML output folder (``_static/`` included): what ``export --outdir``
    and ``collect --export`` need to exist (docs/cli.rst)."""
    out = folder / name
    (out / "_static").mkdir(parents=True, exist_ok=True)
    return out

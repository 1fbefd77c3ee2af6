"""Sphinx projects for rows 6 and 7: a config, a filled store, Highcharts from npm.

The store is filled through the real collect path (a replay lister), the
pages are built by the real extension, so the HTML, the data files and the
scripts are exactly what a user's build produces.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

from sphinxcontrib_scmmonitor.collect import collect_node
from sphinxcontrib_scmmonitor.store import Store

from .common import CACHE, DAY, EPOCH, ReplayLister, log, settings_for, tree_records

#: as example_docs/package.json pins it
HIGHCHARTS_VERSION = "13.1.1"
HIGHCHARTS_DIR = CACHE / "npm" / "node_modules" / "highcharts"


def highcharts() -> Path:
    """Highcharts Stock from the npm registry, installed once into benchmarks/.cache/npm."""
    if (HIGHCHARTS_DIR / "highstock.js").is_file():
        return HIGHCHARTS_DIR
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm not found (apt-get install npm): needed for Highcharts")
    prefix = CACHE / "npm"
    prefix.mkdir(parents=True, exist_ok=True)
    log(f"  npm install highcharts@{HIGHCHARTS_VERSION} into {prefix}")
    # --save-exact: its package.json pins the version exactly, as every manifest here does
    subprocess.run([npm, "install", "--no-audit", "--no-fund", "--save-exact", "--prefix",
                    str(prefix),
                    f"highcharts@{HIGHCHARTS_VERSION}"], check=True, stdout=subprocess.DEVNULL)
    if not (HIGHCHARTS_DIR / "highstock.js").is_file():
        raise RuntimeError(f"npm did not install {HIGHCHARTS_DIR / 'highstock.js'}")
    return HIGHCHARTS_DIR


def node_names(count: int) -> list[str]:
    return [f"N{i:02d}" for i in range(count)]


def make_store(folder: Path, nodes: int, series: int, days: int) -> tuple[Path, float]:
    """A store with ``nodes`` nodes of ``series`` x ``days`` daily backups; (toml, now)."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "scmmonitor.db"
    tables = {name: {"hub": "cms02", "host": "local", "root": f"/data/backup/{name}/cms02"}
              for name in node_names(nodes)}
    settings = settings_for(tables, f"sqlite:///{db}")
    store = Store(settings.database)
    store.ensure_schema()
    for name, node in settings.nodes.items():
        records = tree_records(node.root, series, days)
        result = collect_node(store, node, lister=ReplayLister(node, records))
        if not result.ok:
            raise RuntimeError(f"could not fill node {name}: {result}")
    store.close()
    lines = [f"database = {json.dumps(f'sqlite:///{db}')}", "", "[defaults]",
             "max_age_hours = 1e9", "", "[hubs.cms02]", ""]
    for name, table in tables.items():
        lines.append(f"[nodes.{name}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in table.items()]
        lines.append("")
    toml = folder / "scmmonitor.toml"
    toml.write_text("\n".join(lines))
    return toml, EPOCH + days * DAY


def write_conf(src: Path, toml: Path, highcharts_dir: Path, *, extension: bool = True) -> None:
    src.mkdir(parents=True, exist_ok=True)
    lines = ['project = "scmmonitor benchmark"', 'html_theme = "alabaster"',
             'exclude_patterns = ["_build"]']
    if extension:
        lines += ['extensions = ["sphinxcontrib_scmmonitor"]',
                  f"scmmonitor_config = {json.dumps(str(toml))}",
                  f"scmmonitor_highcharts = {json.dumps(str(highcharts_dir))}",
                  # the HTML builder only: no PNG pictures are drawn for it anyway
                  "scmmonitor_images = False"]
    (src / "conf.py").write_text("\n".join(lines) + "\n")

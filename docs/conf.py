"""Sphinx configuration of sphinxcontrib-scmmonitor's own documentation.

The pages show real charts: before Sphinx reads anything, this file makes the
demo backup tree (``sphinxcontrib_scmmonitor.cli.demo``), writes a
``scmmonitor.toml`` for it (two ``local`` nodes, ``C`` and ``H1``) and
collects it into a SQLite store, all in ``_build/demo`` (or
``$SCMMONITOR_DOCS_DEMO``), so ``sphinx-build -W docs docs/_build/html``
works on its own. The demo is remade when it is older than
``DEMO_MAX_AGE_S``, because its checks are relative to the time of the build.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from sphinxcontrib_scmmonitor import __version__

HERE = Path(__file__).parent.resolve()
DEMO = Path(os.environ.get("SCMMONITOR_DOCS_DEMO") or HERE / "_build" / "demo").resolve()
#: the demo's newest backups are "last night": older than this, its checks would go stale
DEMO_MAX_AGE_S = 6 * 3600

project = "sphinxcontrib-scmmonitor"
author = "sphinxcontrib-scmmonitor developers"
copyright = "the sphinxcontrib-scmmonitor developers"
release = version = __version__

# _ext/docsgen.py: this project's own extension (not shipped in the package)
sys.path.insert(0, str(HERE / "_ext"))
extensions = [
    "sphinxcontrib_scmmonitor",  # the extension itself: the charts on these pages are real
    "docsgen",  # config and CLI references and the exit statuses, generated from the code
]

root_doc = "index"
exclude_patterns = ["_build", "node_modules", "_examples", "Thumbs.db", ".DS_Store"]
highlight_language = "text"
html_theme = "alabaster"
html_title = f"sphinxcontrib-scmmonitor {release}"
html_theme_options = {"description": "Backups of source-code servers, collected, checked "
                      "and charted", "fixed_sidebar": True,
                      "page_width": "1120px", "sidebar_width": "240px"}
# wide code blocks (cron lines, unit files) scroll instead of being cut off by the theme
html_static_path = ["_static"]
html_css_files = ["wide-code.css"]
nitpicky = True
linkcheck_ignore = [r"https?://[^/]*example\.org"]


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    # two builds at once (tests, tox, -j) must not remake the same demo under each other
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def demo_config(folder: Path) -> Path:
    """The demo's scmmonitor.toml, made (tree, config, collected store) when missing or old."""
    toml = folder / "scmmonitor.toml"
    stamp = folder / ".collected"
    from sphinxcontrib_scmmonitor import config
    from sphinxcontrib_scmmonitor.cli.demo import make_demo_nodes
    from sphinxcontrib_scmmonitor.collect import collect_all
    from sphinxcontrib_scmmonitor.store import Store

    with _locked(folder):
        if toml.exists() and stamp.exists() \
                and time.time() - stamp.stat().st_mtime < DEMO_MAX_AGE_S:
            # the package may have gained a migration since the demo was collected
            store = Store(config.load(toml).database)
            try:
                store.upgrade()
            finally:
                store.close()
            return toml

        backups = folder / "backups"
        shutil.rmtree(backups, ignore_errors=True)
        for old in folder.glob("scmmonitor.db*"):
            old.unlink()
        stamp.unlink(missing_ok=True)
        make_demo_nodes(backups)
        toml.write_text(
            "# The documentation's demo: written by docs/conf.py, remade when old.\n"
            'database = "sqlite:///scmmonitor.db"\n\n'
            "[hubs.cms02]\n"
            'report_url = "https://example.org/docs/scm/monitor/"\n\n'
            "[nodes.C]\n"
            'hub = "cms02"\nhost = "local"\n'
            f"root = {json.dumps(str(backups / 'C' / 'cms02'))}\n\n"
            "[nodes.H1]\n"
            'hub = "cms02"\nhost = "local"\n'
            f"root = {json.dumps(str(backups / 'H1' / 'cms02'))}\n", encoding="utf-8")
        settings = config.load(toml)
        store = Store(settings.database)
        try:
            store.ensure_schema()
            results = collect_all(store, list(settings.nodes.values()))
        finally:
            store.close()
        failed = [f"{r.node}: {r.error}" for r in results if not r.ok]
        if failed:
            raise RuntimeError("collecting the docs' demo tree failed: " + "; ".join(failed))
        stamp.touch()
    return toml


def highcharts() -> str | None:
    """node_modules next to these docs or the example docs, else Highsoft's own URL."""
    for base in (HERE, HERE.parent / "example_docs"):
        if (base / "node_modules" / "highcharts" / "highstock.js").is_file():
            return str(base / "node_modules" / "highcharts")
    # no `npm install` was run: a plain sphinx-build still works, the browser fetches it
    return "https://code.highcharts.com/stock/highstock.js"


scmmonitor_config = str(demo_config(DEMO))
scmmonitor_highcharts = highcharts()

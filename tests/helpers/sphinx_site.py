"""A demo backup tree collected into a store, for Sphinx and browser builds.

Nodes C and H1 from the demo, plus on both a series whose name attacks any page
that pastes names into HTML (:data:`HOSTILE`); :class:`Backups` is that tree
collected, with the config a Sphinx project reads.
"""

from __future__ import annotations

import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sphinx.testing.util import SphinxTestApp

from sphinxcontrib_scmmonitor import cli
from sphinxcontrib_scmmonitor.cli.demo import make_demo_nodes

#: a series whose name is an attack on any page that pastes names into HTML
HOSTILE = "x\"'</div><script>alert(1)</script>"
DAYS = 30


def add_backup(root: Path, series: str, when: datetime, size: int,
               name: str = "backup.tar.gz") -> Path:
    """One dated backup file (sparse) of ``series`` below a node's root."""
    folder = root.joinpath(*series.split("/"), when.strftime("%Y/%m/%d/%H%M%S"))
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    with open(path, "wb") as fh:
        fh.truncate(size)
    return path


def make_backups(dest: Path, days: int = DAYS) -> dict[str, Path]:
    """The demo's nodes C and H1, plus a series with a hostile name on both."""
    make_demo_nodes(dest, days=days)
    roots = {"C": dest / "C" / "cms02", "H1": dest / "H1" / "cms02"}
    now = datetime.now(UTC).replace(microsecond=0)
    for root in roots.values():
        for back in (3, 2, 1):
            add_backup(root, HOSTILE, now - timedelta(days=back), 1000 * (10 - back))
    return roots


def _toml(text: str | Path) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_config(path: Path, roots: dict[str, Path], database: Path) -> Path:
    """A scmmonitor.toml with absolute paths: `local` nodes need an absolute root."""
    lines = [f"database = {_toml('sqlite:///' + str(database))}", "",
             "[hubs.cms02]", 'select = ["repos/env", "tracs/env"]', ""]
    for node, root in roots.items():
        lines += [f"[nodes.{node}]", 'hub = "cms02"', 'host = "local"',
                  f"root = {_toml(root)}", ""]
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def collect(config: Path, *args: str) -> int:
    return cli.main(["-c", str(config), "collect", "--progress", "lines", *args])


class Backups:
    """A demo tree collected into a store, with the config that says where both are."""

    def __init__(self, folder: Path, days: int = DAYS) -> None:
        self.folder = folder
        self.roots = make_backups(folder / "nodes", days)
        self.database = folder / "scmmonitor.db"
        self.config = write_config(folder / "scmmonitor.toml", self.roots, self.database)
        assert collect(self.config) == 0

    def install(self, srcdir: Path) -> None:
        """Point a Sphinx project at this store (its conf.py reads ./scmmonitor.toml)."""
        shutil.copyfile(self.config, srcdir / "scmmonitor.toml")


#: the colours of Sphinx's coloured console output
_ESCAPES = re.compile(r"\x1b\[[0-9;]*m")


def warnings(app: SphinxTestApp) -> list[str]:
    """The build's warning and error lines, without colours."""
    # Sphinx 7.0 has only the private stream
    stream = app.warning if hasattr(app, "warning") else app._warning
    text = _ESCAPES.sub("", stream.getvalue())
    return [line for line in text.splitlines() if "WARNING" in line or "ERROR" in line]

"""``scm-monitor export`` and ``collect --export`` into a built site write exactly the nodes
its pages show, as the docs build does: neither writes a file the other deletes
(docs/sphinx.rst, "How the page gets its data"; docs/cli.rst, ``export``).
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sphinxcontrib_scmmonitor import cli
from tests.helpers.sphinx_site import Backups, add_backup, collect

CONF = """\
extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = {config!r}
scmmonitor_render = "static"
html_theme = "alabaster"
exclude_patterns = ["_build"]
"""
#: the config has nodes C and H1; the pages show C only
INDEX = """\
Backups of C
============

.. scm-backup-chart:: C

.. scm-backup-chart:: C
   :scale: log

.. scm-backup-status:: C
"""
#: what the build and the exports write, below the output folder
WRITTEN = ("data", "pictures", "pictures.json", "exported.json")


def build(src: Path, out: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-W", "-b", "html", "-q", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def files(out: Path) -> dict[str, tuple[int, bytes]]:
    """Every file the build and the exports write: path -> (mtime in ns, content)."""
    base = out / "_static" / "scmmonitor"
    found = {}
    for name in WRITTEN:
        path = base / name
        for f in (sorted(path.rglob("*")) if path.is_dir() else [path]):
            if f.is_file():
                found[f.relative_to(base).as_posix()] = (f.stat().st_mtime_ns, f.read_bytes())
    return found


class Site:
    def __init__(self, folder: Path) -> None:
        self.backups = Backups(folder / "data")
        self.src = folder / "docs"
        self.src.mkdir()
        (self.src / "conf.py").write_text(CONF.format(config=str(self.backups.config)))
        (self.src / "index.rst").write_text(INDEX)
        self.out = folder / "html"
        build(self.src, self.out)

    def export(self, *args: str) -> int:
        return cli.main(["-c", str(self.backups.config), *args])


@pytest.fixture
def site(tmp_path: Path) -> Site:
    return Site(tmp_path)


def test_the_build_writes_the_shown_nodes_into_the_manifest(site: Site) -> None:
    manifest = json.loads((site.out / "_static/scmmonitor/pictures.json").read_text())
    assert manifest["nodes"] == ["C"]
    assert sorted(files(site.out)) == ["data/C.json", "data/C.json.gz", "exported.json",
                                       "pictures.json", *sorted(
                                           f"pictures/{n}" for n in manifest["pictures"])]


def test_build_then_export_writes_no_file_the_build_would_not(
        site: Site, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    built = files(site.out)
    with caplog.at_level(logging.INFO, logger="scmmonitor"):
        assert site.export("export", "--outdir", str(site.out)) == 0
    out, err = capsys.readouterr()
    assert out.split() == [str(site.out / "_static/scmmonitor/data/C.json")]
    assert err == ""
    # -v says which list it followed
    assert any("pictures.json lists the nodes the pages show: exporting C" in r.getMessage()
               for r in caplog.records), caplog.text
    assert any("not exported, no page shows them: H1" in r.getMessage()
               for r in caplog.records), caplog.text
    assert sorted(files(site.out)) == sorted(built)  # no H1.json appeared, nothing went

    assert collect(site.backups.config, "--export", str(site.out)) == 0
    assert sorted(files(site.out)) == sorted(built)


def test_a_node_named_but_shown_by_no_page_is_one_warning_and_not_written(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    built = files(site.out)
    assert site.export("export", "--outdir", str(site.out), "H1") == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("warning") == 1 and "no page of" in err and "shows H1" in err, err
    assert files(site.out) == built  # nothing written at all


def test_export_then_rebuild_rewrites_nothing(site: Site) -> None:
    # fresh data, exported as cron does: the rebuild finds the files as it would write them
    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    add_backup(site.backups.roots["C"], "repos/env", when, 7_654_000)
    before = files(site.out)
    assert collect(site.backups.config, "--export", str(site.out)) == 0
    exported = files(site.out)
    assert exported["data/C.json"] != before["data/C.json"]  # the new backup went out
    assert sorted(exported) == sorted(before)
    build(site.src, site.out)
    assert files(site.out) == exported  # not one file written again, none added or gone
    # and a plain export, then a rebuild, the same
    assert site.export("export", "--outdir", str(site.out)) == 0
    exported = files(site.out)
    build(site.src, site.out)
    assert files(site.out) == exported


@pytest.mark.parametrize("manifest", ["missing", "earlier release"])
def test_a_site_without_the_list_gets_every_node_and_one_warning_why(
        site: Site, manifest: str, capsys: pytest.CaptureFixture[str]) -> None:
    path = site.out / "_static/scmmonitor/pictures.json"
    if manifest == "missing":
        path.unlink()
    else:
        doc = json.loads(path.read_text())
        del doc["nodes"]
        path.write_text(json.dumps(doc))
    assert site.export("export", "--outdir", str(site.out)) == 0
    out, err = capsys.readouterr()
    data = site.out / "_static/scmmonitor/data"
    assert sorted(out.split()) == [str(data / "C.json"), str(data / "H1.json")]
    assert err.count("warning") == 1, err
    why = "was not found" if manifest == "missing" else "does not list the nodes"
    assert str(path) in err and why in err and "every node asked for is exported" in err, err

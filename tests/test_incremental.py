"""Incremental builds, as a user runs them (sphinx-build, no ``-E``), stay right.

Following the build's own advice (install Highcharts) rewrites the pages with
charts; removing it again does too; a node removed from scmmonitor.toml takes
its data files and pictures with it; every ``?v=`` names the file as it is
(docs/sphinx.rst, "How the page gets its data").
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

import sphinx

from tests.helpers.sphinx_site import Backups, write_config

ROOT = Path(__file__).resolve().parent.parent
#: Sphinx writes ?v= checksums since 7.1
CHECKSUMS = sphinx.version_info >= (7, 1)
FAKE_HIGHCHARTS = ROOT / "tests" / "roots" / "test-scmmonitor" / "fake-highcharts"

CONF = """\
extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = {config!r}
html_theme = "alabaster"
exclude_patterns = ["_build", "node_modules"]
"""
INDEX = """\
Status
======

.. toctree::

   charts

.. scm-backup-status:: C H1
"""
CHARTS = """\
Charts only
===========

.. scm-backup-chart:: C

.. scm-backup-chart:: H1
   :range: all
"""


def build(src: Path, out: Path) -> str:
    proc = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", str(src),
                           str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stderr


def loads(page: Path) -> list[str]:
    return re.findall(r'<script defer="defer" src="([^"]+)"', page.read_text())


def assert_checksums_match(out: Path, page: Path) -> int:
    """Every local ?v= of the page is the crc32 Sphinx gives the file as it is now."""
    seen = 0
    for url in re.findall(r'(?:src|href)="(_static/scmmonitor/[^"?]+)\?v=([0-9a-f]+)"',
                          page.read_text()):
        path, checksum = url
        assert f"{zlib.crc32((out / path).read_bytes()):08x}" == checksum, path
        seen += 1
    return seen


def test_installing_removing_highcharts_and_a_node_rewrites_what_depends_on_them(
        tmp_path: Path) -> None:
    backups = Backups(tmp_path / "data")
    src, out = tmp_path / "docs", tmp_path / "docs" / "_build" / "html"
    src.mkdir()
    (src / "conf.py").write_text(CONF.format(config=str(backups.config)))
    (src / "index.rst").write_text(INDEX)
    (src / "charts.rst").write_text(CHARTS)
    page = out / "charts.html"

    # 1. no Highcharts: the build says how to install it; the page cannot draw
    assert "npm install highcharts" in build(src, out)
    assert not any("highstock.js" in s for s in loads(page))
    assert assert_checksums_match(out, page) == CHECKSUMS * 2  # our script and css, 1st build

    # 2. installed as the warning says: the chart page is rewritten to load it
    shutil.copytree(FAKE_HIGHCHARTS, src / "node_modules" / "highcharts")
    assert "Highcharts" not in build(src, out)
    scripts = loads(page)
    assert any(s.startswith("_static/scmmonitor/highstock.js") for s in scripts), scripts
    assert (out / "_static/scmmonitor/highstock.js").is_file()
    assert assert_checksums_match(out, page) == CHECKSUMS * 5  # Highcharts' three files too

    # 3. removed again: the page stops naming it (no -E needed either way)
    shutil.rmtree(src / "node_modules")
    assert "npm install highcharts" in build(src, out)
    assert not any("highstock.js" in s for s in loads(page))

    # 4. a node removed from scmmonitor.toml: its JSON, .gz and pictures go
    data = out / "_static/scmmonitor/data"
    manifest = json.loads((out / "_static/scmmonitor/pictures.json").read_text())["pictures"]
    h1_pictures = [name for name, e in manifest.items() if e["options"]["node"] == "H1"]
    assert h1_pictures and all((out / "_static/scmmonitor/pictures" / n).is_file()
                               for n in h1_pictures)
    assert (data / "H1.json").is_file() and (data / "H1.json.gz").is_file()
    write_config(backups.config, {"C": backups.roots["C"]}, backups.database)
    warnings = build(src, out)
    assert "unknown node 'H1'" in warnings
    assert sorted(p.name for p in data.iterdir()) == ["C.json", "C.json.gz"]
    assert not any((out / "_static/scmmonitor/pictures" / n).exists() for n in h1_pictures)
    # the page says so, naming the config as conf.py does, not the server's full path
    text = page.read_text()
    assert "unknown node" in text and str(backups.config.parent) not in text
    assert "scmmonitor.toml" in text


def test_a_site_file_with_the_name_of_ours_is_a_warning_not_a_silent_swap(
        tmp_path: Path) -> None:
    backups = Backups(tmp_path / "data")
    src = tmp_path / "docs"
    (src / "_static" / "scmmonitor").mkdir(parents=True)
    (src / "_static" / "scmmonitor" / "scmmonitor.css").write_text("/* the site's own */\n")
    (src / "conf.py").write_text(CONF.format(config=str(backups.config))
                                 + 'html_static_path = ["_static"]\n')
    (src / "index.rst").write_text(INDEX)
    (src / "charts.rst").write_text(CHARTS)
    warnings = build(src, tmp_path / "out")
    assert "_static/scmmonitor/scmmonitor.css" in warnings
    assert "has the name of a file the extension writes" in warnings
    assert "html_css_files" in warnings

"""The example docs, built by Sphinx with real Highcharts from npm, opened in headless Chromium.

What a reader sees: every chart draws its series, failed collections are
flags, a hostile series name is text, a missing JSON file is explained on the
page, the console stays clean, and ``scm-monitor collect --export`` alone
changes what the page shows. Locally a missing npm or Chromium skips these
tests; under ``CI=true`` it fails them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.helpers.sphinx_site import HOSTILE, add_backup, collect, make_backups, write_config
from tests.js.check_page import (
    check_charts,
    check_status,
    open_page,
    serve,
)

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "example_docs"
OUTPUT = ROOT / "test-output"
DAYS = 120
ALL_SERIES = ["repos/env", "tracs/env", "repos/data", "tracs/data", "svn/dybsvn"]

HOSTILE_PAGE = f"""\
A hostile series name
=====================

.. scm-backup-chart:: C
   :series: repos/env {HOSTILE}
   :range: all
"""


class Site:
    """The example docs over a demo tree with a failed run and a hostile series, built."""

    def __init__(self, folder: Path, highcharts: Path) -> None:
        self.src = folder / "docs"
        shutil.copytree(EXAMPLE, self.src, ignore=shutil.ignore_patterns(
            "_build", "node_modules", "demo-backups", "scmmonitor.toml", "*.db*"))
        (self.src / "hostile.rst").write_text(HOSTILE_PAGE)
        index = self.src / "index.rst"
        index.write_text(index.read_text().replace("   nodes/details\n",
                                                   "   nodes/details\n   hostile\n"))
        self.highcharts = highcharts
        self.roots = make_backups(folder / "backups", days=DAYS)
        self.config = self.src / "scmmonitor.toml"
        database = folder / "scmmonitor.db"
        # a collection of C that fails (its disk is gone) before the good one: a flag
        write_config(self.config, {**self.roots, "C": folder / "unmounted"}, database)
        assert collect(self.config, "C") == 1
        write_config(self.config, self.roots, database)
        assert collect(self.config) == 0

    def build(self, builder: str) -> Path:
        out = self.src / "_build" / builder
        proc = subprocess.run(
            [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", builder,
             "-D", f"scmmonitor_highcharts={self.highcharts}", str(self.src), str(out)],
            capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return out

    def dashed(self, out: Path, node: str, names: list[str]) -> list[str]:
        """The series the data calls not ok: the charts draw them dashed."""
        doc = json.loads((out / "_static/scmmonitor/data" / f"{node}.json").read_text())
        return [s["name"] for s in doc["series"] if s["name"] in names and s["status"] != "ok"]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, highcharts: Path) -> Site:
    return Site(tmp_path_factory.mktemp("browser-site"), highcharts)


@pytest.fixture(scope="module")
def html_site(site: Site) -> Iterator[tuple[Path, str]]:
    out = site.build("html")
    url, stop = serve(out)
    yield out, url
    stop()


def visit(browser: Any, url: str, missing: tuple[str, ...] = ()) -> tuple[Any, Any]:
    """Open a page, recording its console; the browser's own favicon.ico request may 404."""
    return open_page(browser, url, allowed_404=["favicon.ico", *missing])


def screenshot(page: Any, name: str) -> Path:
    path = OUTPUT / "browser" / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


def test_front_page_draws_every_chart_with_flags_and_a_live_status_table(
        site: Site, html_site: tuple[Path, str], browser: Any) -> None:
    out, url = html_site
    page, log = visit(browser, url + "index.html")
    try:
        check_charts(page, {
            "scmmonitor-chart-0": {"series": ["repos/env", "tracs/env"], "flags": True,
                                   "dashed": site.dashed(out, "C", ["repos/env", "tracs/env"])},
            "scmmonitor-chart-1": {"series": ALL_SERIES,
                                   "dashed": site.dashed(out, "H1", ALL_SERIES)},
        })
        assert "svn/dybsvn" in site.dashed(out, "H1", ALL_SERIES)  # stale on H1 in the demo
        check_status(page, {"nodes": ["C", "H1"], "failed": [], "words": ["ok", "alarm"]})
        screenshot(page, "example-index")
        log.check()
    finally:
        page.close()


_NAVIGATOR_JS = """(id) => {
  const box = document.getElementById(id);
  const chart = Highcharts.charts.find(c => c && box.contains(c.renderTo));
  const lines = chart.series.filter(s => !s.options.isInternal && s.type === 'line');
  const nav = chart.navigator.series;
  const columns = (s) => s.options.dataTable.columns;
  const x = chart.xAxis[0].getExtremes();
  return {
    navigator: nav.length,
    navigatorDrawn: box.querySelectorAll('.highcharts-series.highcharts-navigator-series').length,
    navigatorLast: nav[0].options.data[nav[0].options.data.length - 1],
    navigatorFirst: nav[0].options.data[0][0],
    lastSum: lines.reduce((sum, s) => sum + columns(s).y[columns(s).y.length - 1], 0),
    lastTime: Math.max(...lines.map(s => columns(s).x[columns(s).x.length - 1])),
    firstTime: Math.min(...lines.map(s => columns(s).x[0])),
    dataMin: x.dataMin, dataMax: x.dataMax,
  };
}"""


def test_the_navigator_draws_one_series_the_total_and_reaches_all_data(
        site: Site, html_site: tuple[Path, str], browser: Any) -> None:
    """One series (the node's total) in the navigator, not one per series; "All" still
    reaches the first backup."""
    out, url = html_site
    page, log = visit(browser, url + "index.html")
    try:
        check_charts(page, {"scmmonitor-chart-1": {
            "series": ALL_SERIES, "dashed": site.dashed(out, "H1", ALL_SERIES)}})
        state = page.evaluate(_NAVIGATOR_JS, "scmmonitor-chart-1")
        assert state["navigator"] == 1 and state["navigatorDrawn"] == 1, state
        assert state["navigatorLast"] == [state["lastTime"], state["lastSum"]], state
        assert state["navigatorFirst"] == state["firstTime"] == state["dataMin"], state
        page.locator("#scmmonitor-chart-1 .highcharts-range-selector-buttons text",
                     has_text="All").click()
        page.wait_for_function(
            "(t) => Highcharts.charts.some(c => c && c.renderTo.closest('#scmmonitor-chart-1') "
            "&& c.xAxis[0].getExtremes().min === t)", arg=state["dataMin"])
        log.check()
    finally:
        page.close()


def test_nested_page_draws_count_and_percent_charts(
        site: Site, html_site: tuple[Path, str], browser: Any) -> None:
    out, url = html_site
    page, log = visit(browser, url + "nodes/details.html")
    try:
        check_charts(page, {
            "scmmonitor-chart-0": {"series": ALL_SERIES, "flags": True,
                                   "dashed": site.dashed(out, "C", ALL_SERIES)},
            "scmmonitor-chart-1": {"series": ALL_SERIES,
                                   "dashed": site.dashed(out, "H1", ALL_SERIES)},
        })
        check_status(page, {"nodes": ["H1"], "failed": [], "words": ["alarm"]})
        screenshot(page, "example-nested")
        log.check()
    finally:
        page.close()


def test_a_hostile_series_name_is_shown_as_text(
        site: Site, html_site: tuple[Path, str], browser: Any) -> None:
    out, url = html_site
    page, log = visit(browser, url + "hostile.html")
    try:
        states = check_charts(page, {"scmmonitor-chart-0": {
            "series": ["repos/env", HOSTILE], "flags": True,
            "dashed": site.dashed(out, "C", ["repos/env", HOSTILE])}})
        assert any(text.startswith(HOSTILE) for text in states["scmmonitor-chart-0"]["legend"])
        # no script came to life from the name: only the theme's own inline one is there
        served = (out / "hostile.html").read_text().count("<script>")
        assert page.evaluate("document.querySelectorAll('script:not([src])').length") == served
        log.check()
    finally:
        page.close()


def test_a_missing_json_file_is_explained_in_the_page(
        html_site: tuple[Path, str], browser: Any) -> None:
    out, url = html_site
    data = out / "_static/scmmonitor/data/C.json"
    hidden = data.with_name("C.json.away")
    data.rename(hidden)
    try:
        page, log = visit(browser, url + "index.html", ("C.json",))
        try:
            check_charts(page, {
                "scmmonitor-chart-0": {"error": "C.json"},
                "scmmonitor-chart-1": {"series": ALL_SERIES,
                                       "dashed": ["svn/dybsvn"]},
            })
            message = page.text_content("#scmmonitor-chart-0 .scmmonitor-error") or ""
            assert "scm-monitor export" in message
            # the message is under the chart's picture, which stays shown
            assert page.eval_on_selector(
                "#scmmonitor-chart-0 img.scmmonitor-picture",
                "e => getComputedStyle(e).display !== 'none' && e.complete && e.naturalWidth > 0")
            # the status table keeps C's build-time rows and says why
            page.wait_for_selector(".scmmonitor-status.scmmonitor-live")
            errors = page.eval_on_selector_all(".scmmonitor-status .scmmonitor-error",
                                               "els => els.map(e => e.textContent)")
            assert any("C.json" in e for e in errors), errors
            nodes = page.eval_on_selector_all(".scmmonitor-status tbody tr td:first-child",
                                              "els => els.map(e => e.textContent.trim())")
            assert "C" in nodes and "H1" in nodes
            log.check()
        finally:
            page.close()
    finally:
        hidden.rename(data)


def test_collect_export_alone_changes_what_the_page_shows(
        site: Site, html_site: tuple[Path, str], browser: Any) -> None:
    out, url = html_site
    page, log = visit(browser, url + "index.html")
    try:
        before = check_status(page, {"nodes": ["C", "H1"], "failed": [], "words": ["ok"]})
        assert not any(row[1]["text"] == "repos/fresh" for row in before[0]["rows"])
        html_before = (out / "index.html").read_bytes()

        add_backup(site.roots["H1"], "repos/fresh", datetime.now(UTC) - timedelta(minutes=3),
                   4_200_000)
        assert collect(site.config, "--export", str(out)) == 0

        assert (out / "index.html").read_bytes() == html_before  # no Sphinx rebuild
        page.reload(wait_until="load")
        after = check_status(page, {"nodes": ["C", "H1"], "failed": [], "words": ["ok"]})
        fresh = [row for row in after[0]["rows"] if row[1]["text"] == "repos/fresh"]
        assert len(fresh) == 1 and fresh[0][0]["text"] == "H1"
        assert fresh[0][5]["text"] == "4.0 MB"
        log.check()
    finally:
        page.close()


def test_dirhtml_build_renders_at_every_depth(site: Site, browser: Any) -> None:
    out = site.build("dirhtml")
    url, stop = serve(out)
    try:
        for path, expected in {
            "": {"scmmonitor-chart-0": {"series": ["repos/env", "tracs/env"], "flags": True},
                 "scmmonitor-chart-1": {"series": ALL_SERIES,
                                        "dashed": site.dashed(out, "H1", ALL_SERIES)}},
            "nodes/details/": {"scmmonitor-chart-1": {
                "series": ALL_SERIES, "dashed": site.dashed(out, "H1", ALL_SERIES)}},
        }.items():
            page, log = visit(browser, url + path)
            try:
                check_charts(page, expected)
                log.check()
            finally:
                page.close()
    finally:
        stop()


def test_the_script_draws_the_synthetic_site_every_state_at_once(highcharts: Path,
                                                                 playwright: Any) -> None:
    """tests/js's fixture site: JSON written by hand with every state the script must
    handle (hostile names and errors, alarmed, warned and retired series, a node without
    JSON, a page without Highcharts, no IntersectionObserver), checked page by page.
    Run in its own process: it drives its own Playwright."""
    shots = OUTPUT / "browser" / "fixture-site"
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "js" / "check_page.py"),
                           str(shots), "--highcharts", str(highcharts)],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "pages checked" in proc.stdout

"""The Sphinx extension, built for real with ``sphinx.testing`` over a collected demo tree.

Each test gets its own copy of ``tests/roots/test-scmmonitor`` (``srcdir=``)
with a ``scmmonitor.toml`` written at test time: absolute paths to a demo
backup tree and to a SQLite store that ``scm-monitor collect`` filled.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import unquote

import pytest
import sphinx
from sphinx.testing.util import SphinxTestApp

from sphinxcontrib_scmmonitor.sphinxext import assets, images
from tests.helpers.pages import charts, scripts, status_boxes
from tests.helpers.sphinx_site import (
    DAYS,
    HOSTILE,
    Backups,
    add_backup,
    collect,
    warnings,
    write_config,
)
from tests.sshd import require_tool


@pytest.fixture(scope="session")
def backups(tmp_path_factory: pytest.TempPathFactory) -> Backups:
    """Shared, never changed: tests that add backups make their own."""
    return Backups(tmp_path_factory.mktemp("backups"))


@pytest.fixture
def own_backups(tmp_path: Path) -> Backups:
    return Backups(tmp_path, days=8)


@pytest.fixture
def project(app_params, backups: Backups) -> Path:  # type: ignore[no-untyped-def]
    """Runs before ``app``: the copied test root gets its scmmonitor.toml."""
    srcdir = Path(app_params.kwargs["srcdir"])
    backups.install(srcdir)
    return srcdir


@pytest.fixture
def own_project(app_params, own_backups: Backups) -> Backups:  # type: ignore[no-untyped-def]
    own_backups.install(Path(app_params.kwargs["srcdir"]))
    return own_backups


def assert_data_urls_resolve(outdir: Path) -> int:
    """Every chart and status table in every page finds its JSON relative to the page."""
    seen = 0
    for page in outdir.rglob("*.html"):
        for chart in charts(page):
            target = (page.parent / unquote(chart["data-scm-src"])).resolve()
            assert target.is_file(), f"{page}: {chart['data-scm-src']} -> {target} missing"
            assert json.loads(target.read_text())["node"] == chart["data-scm-node"]
            seen += 1
        for box in status_boxes(page):
            for node in json.loads(box["data-scm-nodes"]):
                target = (page.parent / box["data-scm-base"] / f"{node}.json").resolve()
                assert target.is_file(), f"{page}: status data {target} missing"
                seen += 1
    return seen


# --- HTML ---------------------------------------------------------------------------------------


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-html")
def test_html_pages_carry_chart_containers_that_find_their_json(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert warnings(app) == []
    out = Path(app.outdir)

    front = charts(out / "index.html")
    assert [c["id"] for c in front] == ["scmmonitor-chart-0", "scmmonitor-chart-1"]
    c_chart = front[0]
    picture = c_chart.pop("data-scm-picture")
    assert re.fullmatch(r"_static/scmmonitor/pictures/[0-9a-f]{16}\.svg", picture)
    assert (out / picture).is_file()
    assert c_chart == {
        "class": "scmmonitor-chart", "id": "scmmonitor-chart-0", "data-scm-node": "C",
        "data-scm-src": "_static/scmmonitor/data/C.json",
        "data-scm-title": "cms02 backups on cms01", "data-scm-height": "500px",
        # no :series: -> the hub's select
        "data-scm-series": '["repos/env","tracs/env"]', "data-scm-metric": "size",
        "data-scm-scale": "linear", "data-scm-range": "1y", "data-scm-render": "interactive"}
    h1_chart = front[1]
    assert h1_chart["data-scm-title"] == "cms02 backups on H1"  # the default title
    assert json.loads(h1_chart["data-scm-series"]) == ["repos/env", HOSTILE]
    assert (h1_chart["data-scm-scale"], h1_chart["data-scm-range"]) == ("log", "all")

    deep = charts(out / "nodes" / "deep" / "page.html")
    assert deep[0]["data-scm-src"] == "../../_static/scmmonitor/data/C.json"
    assert (deep[0]["data-scm-metric"], deep[0]["data-scm-scale"]) == ("count", "log")
    assert status_boxes(out / "nodes" / "deep" / "page.html") == [{
        "class": "scmmonitor-status", "data-scm-nodes": '["C"]',
        "data-scm-base": "../../_static/scmmonitor/data/"}]
    assert assert_data_urls_resolve(out) == 7

    # the container holds the picture, sized, until the script draws: no blank box without JS
    # (the contract changed: it held a "Loading" message before there were pictures)
    img = re.search(r'<img class="scmmonitor-picture" src="([^"]+)" width="900" height="500" '
                    r'alt="Backup chart: cms02 backups on cms01 \(node C, size, linear scale, '
                    r'range 1y; repos/env, tracs/env\)" fetchpriority="high" /></div>',
                    (out / "index.html").read_text())
    assert img and img.group(1) == picture
    # the first two pictures of a page are fetched beside the stylesheets (docs/sphinx.rst,
    # "Pictures"); the contract changed: no <img> had a fetchpriority before
    for page in (out / "index.html", out / "nodes" / "deep" / "page.html"):
        imgs = re.findall(r'<img class="scmmonitor-picture"[^>]*>', page.read_text())
        assert ['fetchpriority="high"' in tag for tag in imgs] == [
            i < 2 for i in range(len(imgs))], (page, imgs)
    assert "Loading" not in (out / "index.html").read_text()
    assert charts(out / "nodes" / "deep" / "page.html")[0]["data-scm-picture"].startswith(
        "../../_static/scmmonitor/pictures/")


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-html-childless")
def test_html_keeps_charts_childless_so_reading_costs_no_store_work(
        project: Path, app: SphinxTestApp) -> None:
    from sphinxcontrib_scmmonitor.sphinxext.nodes import scmmonitor_chart

    app.build()
    stored = [chart for doc in ("index", "nodes/deep/page")
              for chart in app.env.get_doctree(doc).findall(scmmonitor_chart)]
    assert len(stored) == 3
    # the newest-backup table is for builders without the page's script: HTML never
    # shows it, so it is neither in the pickled doctree nor in the page nor searchable
    assert all(len(chart.children) == 0 for chart in stored)
    assert "scmmonitor-newest-table" not in (Path(app.outdir) / "index.html").read_text()
    assert "newest backup per series" not in (Path(app.outdir) / "searchindex.js").read_text()


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-html-scripts")
def test_scripts_load_deferred_in_order_on_pages_with_a_directive_only(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    out = Path(app.outdir)
    chart_scripts = ["_static/scmmonitor/highstock.js", "_static/scmmonitor/modules/exporting.js",
                     "_static/scmmonitor/modules/accessibility.js",
                     "_static/scmmonitor/scmmonitor.js"]
    assert [s.split("?")[0] for s in scripts(out / "index.html")] == chart_scripts
    assert [s.split("?")[0] for s in scripts(out / "nodes/deep/page.html")] == \
        ["../../" + s for s in chart_scripts]
    assert 'href="_static/scmmonitor/scmmonitor.css' in (out / "index.html").read_text()
    assert scripts(out / "plain.html") == []
    assert "scmmonitor.css" not in (out / "plain.html").read_text()
    # no inline script per chart: a strict Content-Security-Policy works
    assert "Highcharts" not in re.sub(r"<script[^>]*src=[^>]*></script>", "",
                                      (out / "index.html").read_text())


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-html-assets")
def test_build_finished_exports_every_node_and_copies_the_assets(
        project: Path, app: SphinxTestApp, backups: Backups) -> None:
    app.build()
    static = Path(app.outdir, "_static", "scmmonitor")
    fake = Path(app.srcdir, "fake-highcharts")
    for name in ("highstock.js", "modules/exporting.js", "modules/accessibility.js"):
        assert (static / name).read_bytes() == (fake / name).read_bytes()
    package_static = Path(images.__file__).parent.parent / "static"
    css = "scmmonitor.css"
    # the package's stylesheet under the colours' custom properties (light, dark)
    written = (static / css).read_text()
    assert written == assets.stylesheet()
    assert written.endswith((package_static / css).read_text())
    assert "--scm-bg:" in written and 'html[data-scm-mode="dark"]' in written
    # the page script: the package's modules joined into one classic script
    assert (static / "scmmonitor.js").read_text() == assets.joined_script()
    # copied before the pages were written: cache-busting from the first build on
    # (Sphinx adds ?v= since 7.1)
    page = Path(app.outdir, "index.html")
    loaded = scripts(page, query=True)
    assert sphinx.version_info < (7, 1) or all("?v=" in src for src in loaded), loaded
    assert sphinx.version_info < (7, 1) or re.search(
        r'href="_static/scmmonitor/scmmonitor\.css\?v=[0-9a-f]+"', page.read_text())

    docs = {p.stem: json.loads(p.read_text()) for p in (static / "data").glob("*.json")}
    assert sorted(docs) == ["C", "H1"]
    c_series = {s["name"]: s for s in docs["C"]["series"]}
    assert {"repos/env", "tracs/env", HOSTILE} <= set(c_series)
    assert len(c_series["repos/env"]["t"]) == DAYS
    assert all(dt > 0 for dt in c_series["repos/env"]["t"][1:])  # strictly ascending
    # nothing half-written is left behind by the atomic export
    assert [p.name for p in (static / "data").iterdir()
            if not p.name.endswith((".json", ".json.gz"))] == []


@pytest.mark.sphinx("dirhtml", testroot="scmmonitor", srcdir="scm-dirhtml")
def test_dirhtml_pages_one_folder_deeper_still_find_their_json(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert warnings(app) == []
    out = Path(app.outdir)
    deep = charts(out / "nodes" / "deep" / "page" / "index.html")
    assert deep[0]["data-scm-src"] == "../../../_static/scmmonitor/data/C.json"
    assert charts(out / "index.html")[0]["data-scm-src"] == "_static/scmmonitor/data/C.json"
    assert assert_data_urls_resolve(out) == 7


@pytest.mark.sphinx("singlehtml", testroot="scmmonitor", srcdir="scm-singlehtml")
def test_singlehtml_has_unique_chart_ids_and_page_relative_urls(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert warnings(app) == []
    out = Path(app.outdir)
    found = charts(out / "index.html")
    assert [c["id"] for c in found] == [f"scmmonitor-chart-{i}" for i in range(4)]
    assert {c["data-scm-src"] for c in found} == {"_static/scmmonitor/data/C.json",
                                                  "_static/scmmonitor/data/H1.json"}
    assert assert_data_urls_resolve(out) == 4 + 3
    assert "_static/scmmonitor/highstock.js" in scripts(out / "index.html")[0]


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-hostile")
def test_a_hostile_series_name_is_escaped_everywhere_in_the_html(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    page = (Path(app.outdir) / "index.html").read_text()
    assert "<script>alert(1)</script>" not in page
    assert "</div><script>" not in page
    cells = [html.unescape(c) for c in re.findall(r'<td(?: class="[^"]*")?><p>(.*?)</p></td>',
                                                     page)]
    assert cells.count(HOSTILE) == 2  # its status-table rows on C and H1, as text
    assert json.loads(charts(Path(app.outdir) / "index.html")[1]["data-scm-series"])[1] == HOSTILE
    data = (Path(app.outdir) / "_static/scmmonitor/data/C.json").read_text()
    assert "<" not in data and json.loads(data)["series"]


# --- the status table ---------------------------------------------------------------------------


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-status")
def test_status_table_is_built_from_the_checks_in_the_scripts_column_order(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    page = (Path(app.outdir) / "index.html").read_text()
    box = page[page.index('<div class="scmmonitor-status"'):]
    box = box[:box.index("</table>")]
    assert re.findall(r"<th[^>]*><p>([^<]*)</p></th>", box) == [
        "Node", "Series", "Status", "Reason", "Newest backup", "Size", "Change"]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", box, flags=re.S)[1:]
    cells = [re.findall(r"<td([^>]*)><p>(.*?)</p></td>", row, flags=re.S) for row in rows]
    by_series = {(c[0][1], html.unescape(c[1][1])): c for c in cells}
    assert {("C", "repos/env"), ("H1", "repos/env"), ("C", HOSTILE)} <= set(by_series)
    status_attr, word = by_series[("C", "repos/env")][2]
    assert word == "ok" and "scmmonitor-status-cell scmmonitor-ok" in status_attr
    assert all(len(c) == 7 for c in cells)


# --- other builders ---------------------------------------------------------------------------


@pytest.mark.sphinx("text", testroot="scmmonitor", srcdir="scm-text")
def test_text_build_shows_the_newest_backup_table_and_the_status(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert warnings(app) == []
    text = (Path(app.outdir) / "index.txt").read_text()
    assert "cms02 backups on cms01" in text
    assert "newest backup per series on C" in text
    header = next(line for line in text.splitlines() if "Newest backup" in line)
    assert "Series" in header and "Size" in header
    assert "repos/env" in text
    assert "x\"'</div><script>alert(" in text  # as typed: no smart quotes in data
    charts_only = (Path(app.outdir) / "charts-only.txt").read_text()
    assert "repos/env" in charts_only and "tracs/env" in charts_only


def require_matplotlib() -> None:
    """The `images` extra is part of `test`: under CI its absence is a failure."""
    import importlib.util

    require_tool(None if importlib.util.find_spec("matplotlib")
                 else "matplotlib is not installed (pip install '.[images]')")


@pytest.mark.sphinx("latex", testroot="scmmonitor", srcdir="scm-latex")
def test_latex_build_includes_a_matplotlib_picture_per_chart(
        project: Path, app: SphinxTestApp) -> None:
    require_matplotlib()
    app.build()
    assert warnings(app) == []
    out = Path(app.outdir)
    tex = next(out.glob("*.tex")).read_text()
    pictures = re.findall(r"\\sphinxincludegraphics\[width=\\linewidth\]\{\{([^}]+)\}\.png\}",
                          tex)
    assert len(pictures) == 4
    for name in pictures:
        png = (out / f"{name}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    # the status tables stay tables
    assert "\\begin{tabulary}" in tex and "repos/env" in tex


@pytest.mark.sphinx("latex", testroot="scmmonitor", srcdir="scm-latex-noimg",
                    confoverrides={"scmmonitor_images": False})
def test_latex_without_pictures_falls_back_to_the_newest_backup_table(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert warnings(app) == []
    out = Path(app.outdir)
    tex = next(out.glob("*.tex")).read_text()
    assert "sphinxincludegraphics" not in tex
    assert "newest backup per series on C" in tex
    assert tex.count("\\begin{tabulary}") >= 6
    assert list(out.glob("*.png")) == []


@pytest.mark.sphinx("epub", testroot="scmmonitor", srcdir="scm-epub")
def test_epub_gets_pictures_and_static_tables_not_scripts(
        project: Path, app: SphinxTestApp) -> None:
    require_matplotlib()
    app.build()
    out = Path(app.outdir)
    page = (out / "index.xhtml").read_text()
    assert 'class="scmmonitor-chart"' not in page and "scmmonitor.js" not in page
    assert re.search(r'<img src="_images/scmmonitor-C-[0-9a-f]{16}\.png"', page)
    assert 'class="scmmonitor-status scmmonitor-static"' in page
    assert not (out / "_static" / "scmmonitor").exists()


@pytest.mark.parametrize("builder", ["man", "texinfo"])
def test_man_and_texinfo_build_with_the_tables(
        builder: str, backups: Backups, make_app, rootdir: Path,  # type: ignore[no-untyped-def]
        sphinx_test_tempdir: Path) -> None:
    srcdir = sphinx_test_tempdir / f"scm-{builder}"
    shutil.copytree(rootdir / "test-scmmonitor", srcdir, dirs_exist_ok=True)
    backups.install(srcdir)
    app = make_app(builder, srcdir=srcdir)
    app.build()
    assert warnings(app) == []
    output = next(p for p in Path(app.outdir).rglob("*") if p.suffix in (".1", ".texi"))
    assert "repos/env" in output.read_text()


def test_png_pictures_are_deterministic(tmp_path: Path) -> None:
    require_matplotlib()
    from sphinxcontrib_scmmonitor.checks import NodeStatus
    from sphinxcontrib_scmmonitor.pictures import ChartOptions
    from sphinxcontrib_scmmonitor.store import NodeData, RunInfo, SeriesData

    start = 1_700_000_000
    data = NodeData(name="C", hub="cms02", series=[SeriesData(
        name="repos/env", raw_name=b"repos/env",
        backups=[(start + i * 86_400, 1000 + i, None) for i in range(9)])],
        runs=[RunInfo(start + 86_400, start + 86_410, "failed", "timed out", None, 0, 0)])
    status = NodeStatus(node="C", hub="cms02")
    options = ChartOptions(node="C", title="$x$ _under", range="all")
    images.render(data, status, options, tmp_path / "a.png")
    images.render(data, status, options, tmp_path / "b.png")
    png = (tmp_path / "a.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and png == (tmp_path / "b.png").read_bytes()
    assert images.file_name(options) == images.file_name(ChartOptions(**options.__dict__))
    assert images.file_name(options) != images.file_name(
        ChartOptions(**{**options.__dict__, "scale": "log"}))


# --- mistakes: warnings with file and line, and the page still builds ---------------------------


@pytest.mark.sphinx("html", testroot="scmmonitor-warnings", srcdir="scm-warnings")
def test_unknown_node_and_bad_options_warn_with_file_and_line(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    found = warnings(app)
    index = str(Path(app.srcdir, "index.rst"))

    def at(line: int, *words: str) -> bool:
        return any(w.startswith(f"{index}:{line}: WARNING") and all(x in w for x in words)
                   for w in found)

    assert at(4, "unknown node 'NOPE'", "configured in", "C, H1")
    assert at(6, "'../../etc/passwd' is not a valid node name")
    assert at(8, ":metric: 'bytes' is not one of size, count; using 'size'")
    assert at(8, ":scale: 'sqrt'")
    assert at(8, ":range: '2y'")
    assert at(8, ":height: 'tall'")
    assert at(14, "unknown node 'NOPE'", "left out of the table")
    assert len(found) == 7, found

    page = Path(app.outdir, "index.html").read_text()
    assert "The page goes on after the mistakes." in page
    assert "etc/passwd" not in "".join(str(c) for c in charts(Path(app.outdir, "index.html")))
    assert not list(Path(app.outdir).rglob("*passwd*"))
    (chart,) = charts(Path(app.outdir, "index.html"))
    assert (chart["data-scm-metric"], chart["data-scm-scale"], chart["data-scm-range"],
            chart["data-scm-height"]) == ("size", "linear", "1y", "400px")
    assert status_boxes(Path(app.outdir, "index.html"))[0]["data-scm-nodes"] == '["C"]'
    assert "No backup chart: unknown node &#x27;NOPE&#x27;" in page or \
        "No backup chart: unknown node 'NOPE'" in page


@pytest.mark.sphinx("html", testroot="scmmonitor-warnings", srcdir="scm-cdn")
def test_highcharts_from_a_url_is_used_as_is_and_not_copied(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert scripts(Path(app.outdir, "index.html")) == [
        "https://code.highcharts.com/stock/highstock.js",
        "https://code.highcharts.com/stock/modules/exporting.js",
        "https://code.highcharts.com/stock/modules/accessibility.js",
        "_static/scmmonitor/scmmonitor.js"]
    assert not Path(app.outdir, "_static/scmmonitor/highstock.js").exists()


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-no-highcharts",
                    confoverrides={"scmmonitor_highcharts": None})
def test_missing_highcharts_is_one_warning_that_says_how_to_fix_it(
        project: Path, app: SphinxTestApp) -> None:
    app.build()
    found = warnings(app)
    assert len(found) == 1, found
    assert f"cd {Path(app.confdir).resolve()} && npm install highcharts" in found[0]
    assert "scmmonitor_highcharts" in found[0]
    out = Path(app.outdir)
    assert [s.split("?")[0] for s in scripts(out / "index.html")] == \
        ["_static/scmmonitor/scmmonitor.js"]  # it explains the missing Highcharts in the page
    assert (out / "_static/scmmonitor/scmmonitor.js").is_file()
    assert (out / "_static/scmmonitor/data/C.json").is_file()
    assert len(charts(out / "index.html")) == 2


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-bad-config")
def test_a_bad_config_is_one_warning_and_the_pages_still_build(
        app_params, make_app) -> None:  # type: ignore[no-untyped-def]
    srcdir = Path(app_params.kwargs["srcdir"])
    (srcdir / "scmmonitor.toml").write_text('[nodes.C]\nhub = "cms02"\nhots = "local"\n')
    app = make_app(*app_params.args, **app_params.kwargs)
    app.build()
    found = warnings(app)
    assert len(found) == 1, found
    assert "scmmonitor.toml: nodes.C.hots: unknown key (did you mean 'host'?)" in found[0]
    out = Path(app.outdir)
    assert len(charts(out / "index.html")) == 2
    assert "no status at build time" in (out / "nodes/deep/page.html").read_text()
    assert not (out / "_static/scmmonitor/data").exists()
    # each chart's picture says why it has no data, rather than being a broken image
    for chart in charts(out / "index.html"):
        svg = (out / chart["data-scm-picture"]).read_text()
        assert "no backup data" in svg and "nodes.C.hots: unknown key" in svg


# --- incremental and parallel builds ------------------------------------------------------------


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-incremental")
def test_incremental_builds_reread_status_pages_only_and_show_new_backups(
        own_project: Backups, app: SphinxTestApp) -> None:
    read: list[list[str]] = []
    app.connect("env-before-read-docs", lambda app, env, docnames: read.append(list(docnames)))
    app.build()
    app.build()
    # status tables reflect the store at read time; chart pages fetch their data themselves
    assert read[1] == ["index", "nodes/deep/page"]

    now = datetime.now(UTC)
    add_backup(own_project.roots["H1"], "repos/new", now - timedelta(hours=1), 12345)
    assert collect(own_project.config) == 0
    app.build()
    assert read[2] == ["index", "nodes/deep/page"]
    out = Path(app.outdir)
    assert "repos/new" in (out / "index.html").read_text()
    h1 = json.loads((out / "_static/scmmonitor/data/H1.json").read_text())
    assert "repos/new" in [s["name"] for s in h1["series"]]


@pytest.mark.sphinx("text", testroot="scmmonitor", srcdir="scm-incremental-text")
def test_incremental_text_builds_reread_chart_pages_too(
        own_project: Backups, app: SphinxTestApp) -> None:
    read: list[list[str]] = []
    app.connect("env-before-read-docs", lambda app, env, docnames: read.append(list(docnames)))
    app.build()
    before = (Path(app.outdir) / "charts-only.txt").read_text()
    add_backup(own_project.roots["H1"], "tracs/env", datetime.now(UTC) - timedelta(minutes=5),
               7_777_777)
    assert collect(own_project.config) == 0
    app.build()
    assert read[1] == ["charts-only", "index", "nodes/deep/page"]
    after = (Path(app.outdir) / "charts-only.txt").read_text()
    assert "7.4 MB" not in before and "7.4 MB" in after


@pytest.fixture
def many_pages(app_params) -> list[str]:  # type: ignore[no-untyped-def]
    """Enough pages for Sphinx to read and write in parallel (it needs more than a few)."""
    pages = Path(app_params.kwargs["srcdir"], "pages")
    pages.mkdir(exist_ok=True)
    names = []
    for i in range(10):
        node = "C" if i % 2 else "H1"
        status = "\n.. scm-backup-status:: C\n" if i % 3 == 0 else ""
        (pages / f"p{i}.rst").write_text(
            f"Page {i}\n=======\n\n.. scm-backup-chart:: {node}\n   :range: 3m\n{status}")
        names.append(f"pages/p{i}")
    return names


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-parallel", parallel=2)
def test_parallel_build_merges_what_it_remembers_and_writes_every_chart(
        project: Path, many_pages: list[str], app: SphinxTestApp) -> None:
    assert app.parallel == 2 and app.is_parallel_allowed("read")
    readers = Path(app.outdir).parent / "reader-pids"

    def note_reader(app: SphinxTestApp, doctree: object) -> None:
        with open(readers, "a") as fh:
            fh.write(f"{os.getpid()}\n")

    app.connect("doctree-read", note_reader)
    app.build()
    pids = set(readers.read_text().split())
    assert len(pids - {str(os.getpid())}) >= 2, "the pages were not read in parallel"
    assert warnings(app) == []
    docs = app.env.scmmonitor_docs  # type: ignore[attr-defined]
    assert docs["status"] == {"index", "nodes/deep/page", "pages/p0", "pages/p3", "pages/p6",
                              "pages/p9"}
    assert docs["chart"] >= set(many_pages) | {"index", "charts-only"}
    out = Path(app.outdir)
    for i, name in enumerate(many_pages):
        (chart,) = charts(out / f"{name}.html")
        assert chart["data-scm-node"] == ("C" if i % 2 else "H1")
        assert chart["data-scm-src"].startswith("../_static/scmmonitor/data/")
    assert assert_data_urls_resolve(out) == 7 + 10 + 4


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-purge")
def test_a_removed_page_is_forgotten(project: Path, app: SphinxTestApp) -> None:
    app.build()
    assert "nodes/deep/page" in app.env.scmmonitor_docs["status"]  # type: ignore[attr-defined]
    Path(app.srcdir, "nodes/deep/page.rst").write_text("Gone\n====\n\nNo directive now.\n")
    os.utime(Path(app.srcdir, "nodes/deep/page.rst"))
    app.build()
    assert app.env.scmmonitor_docs["status"] == {"index"}  # type: ignore[attr-defined]


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-empty-store")
def test_before_the_first_collection_the_pages_build_and_say_so(
        app_params, backups: Backups, make_app) -> None:  # type: ignore[no-untyped-def]
    srcdir = Path(app_params.kwargs["srcdir"])
    database = srcdir / "not-yet.db"
    write_config(srcdir / "scmmonitor.toml", backups.roots, database)
    app = make_app(*app_params.args, **app_params.kwargs)
    app.build()
    assert warnings(app) == []
    assert database.is_file()  # an empty store with the schema, for the first collect
    page = (Path(app.outdir) / "index.html").read_text()
    assert "collector-stale: no successful collection within 36 h (never collected)" in page
    doc = json.loads((Path(app.outdir) / "_static/scmmonitor/data/C.json").read_text())
    assert doc["status"] == "alarm" and doc["runs"] == []


@pytest.mark.sphinx("html", testroot="scmmonitor", srcdir="scm-unchanged-rebuild")
def test_a_rebuild_over_unchanged_data_exports_nothing_and_new_data_only_its_node(
        own_project: Backups, app: SphinxTestApp) -> None:
    app.build()
    data = Path(app.outdir, "_static", "scmmonitor", "data")

    def files() -> dict[str, tuple[int, int]]:
        return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in data.iterdir()}

    first = files()
    assert {"C.json", "C.json.gz", "H1.json", "H1.json.gz"} <= set(first)
    app.build()
    assert files() == first  # atomic writes make new inodes: none was made
    add_backup(own_project.roots["H1"], "repos/new", datetime.now(UTC) - timedelta(hours=1),
               12345)
    assert collect(own_project.config, "H1") == 0
    app.build()
    now = files()
    assert now["C.json"] == first["C.json"]
    assert now["H1.json"] != first["H1.json"]
    h1 = json.loads((data / "H1.json").read_text())
    assert "repos/new" in [s["name"] for s in h1["series"]]
    # a deleted file is written again, whatever was remembered
    (data / "C.json").unlink()
    app.build()
    assert (data / "C.json").is_file()

"""Pictures: the SVG renderer read back by a real XML parser, and a real site built with
``sphinx-build`` whose pictures ``scm-monitor collect --export`` redraws without a rebuild,
shown by real Chromium with JavaScript off (docs/sphinx.rst, "Pictures")."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from xml.etree import ElementTree as ET

import pytest

from sphinxcontrib_scmmonitor import cli, pictures
from sphinxcontrib_scmmonitor.checks import NodeStatus, Reason, SeriesStatus
from sphinxcontrib_scmmonitor.pictures.style import PALETTE
from sphinxcontrib_scmmonitor.store import NodeData, RunInfo, SeriesData
from tests.helpers.sphinx_site import HOSTILE, Backups, add_backup, collect

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parent
START = 1_451_664_602  # 2016-01-01 16:10:02 UTC
DAY = 86_400
CHARTS_PAGE = """\
Five charts
===========

.. scm-backup-chart:: C
   :title: First chart of C

.. scm-backup-chart:: H1
   :title: Second chart, H1 in log scale
   :scale: log
   :range: all

.. scm-backup-chart:: C
   :title: Third chart, counts
   :metric: count

.. scm-backup-chart:: H1
   :title: Fourth chart, percent
   :scale: percent
   :range: 3m
   :height: 20em

.. scm-backup-chart:: C
   :title: Fifth chart with a hostile series
   :series: repos/env {hostile}

.. scm-backup-status:: C
"""


def node_data(series: int = 3, days: int = 30, spike_at: int | None = None,
              names: list[str] | None = None) -> NodeData:
    names = names or [f"repos/r{i}" for i in range(series)]
    out = []
    for i, name in enumerate(names):
        backups = [(START + d * DAY, (i + 1) * 1_000_000 + d * 1000, None) for d in range(days)]
        if spike_at is not None and i == 0:
            at, size, gone = backups[spike_at]
            backups[spike_at] = (at, size * 50, gone)
        out.append(SeriesData(name=name, raw_name=name.encode("utf-8", "surrogateescape"),
                              backups=backups))
    runs = [RunInfo(START + 5 * DAY, START + 5 * DAY + 9, "failed", "timed out <&>", None, 0, 0),
            RunInfo(START + days * DAY, START + days * DAY + 5, "ok", None, None, 0, 0)]
    return NodeData(name="C", hub="cms02", series=out, runs=runs)


def parse(text: str) -> ET.Element:
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == SVG + "svg"
    return root


def series_paths(root: ET.Element) -> dict[str, ET.Element]:
    return {p.get("data-series") or "": p for p in root.iter(SVG + "path")
            if p.get("data-series") is not None}


def vertices(d: str) -> list[tuple[int, int]]:
    """Absolute points of our path data (M, then relative h, v, l)."""
    tokens = re.findall(r"([MhvlZz])|(-?\d+)", d)
    out: list[tuple[int, int]] = []
    x = y = 0
    command, numbers = "", []
    for cmd, num in [*tokens, ("Z", "")]:
        if num:
            numbers.append(int(num))
            if (command in "Ml" and len(numbers) == 2) or (command in "hv" and len(numbers) == 1):
                if command == "M":
                    x, y = numbers
                elif command == "l":
                    x, y = x + numbers[0], y + numbers[1]
                elif command == "h":
                    x += numbers[0]
                else:
                    y += numbers[0]
                out.append((x, y))
                numbers = []
        else:
            command, numbers = cmd, []
    return out


# --- the renderer --------------------------------------------------------------------------


def test_every_text_of_hostile_names_is_escaped_and_the_svg_parses() -> None:
    evil = [HOSTILE, 'a & b "quoted"', "ctl\x01\x1b[31mred\udc80"]
    data = node_data(names=evil)
    status = NodeStatus(node="C", hub="cms02", series=[
        SeriesStatus(name=HOSTILE, reasons=[Reason("shrunk", "<b>fell</b> & more",
                                                   at=(START + 20 * DAY,))])],
        observed_at=START + 30 * DAY)
    options = pictures.ChartOptions(node="C", title="</title><script>alert(1)</script> & co",
                                    range="all")
    text = pictures.svg(data, status, options)
    assert "<script" not in text and "</div>" not in text
    root = parse(text)
    assert [e.tag for e in root.iter() if e.tag.endswith("script")] == []
    assert root.find(SVG + "title").text == options.title
    paths = series_paths(root)
    # the attribute and the legend carry the names as text, exactly (bad controls replaced)
    assert set(paths) == {HOSTILE, 'a & b "quoted"', "ctl\ufffd\ufffd[31mred\ufffd"}
    legend = [t.text for t in root.iter(SVG + "text") if t.get("class") == "legend"]
    assert HOSTILE + " (alarm)" not in legend and HOSTILE + " (warn)" in legend
    tips = [t.text for t in root.iter(SVG + "title")][1:]
    assert any("<b>fell</b> & more" in tip for tip in tips)  # the finding's mark, as text
    assert any("timed out <&>" in tip for tip in tips)  # the failed run's flag


def test_a_long_history_is_cut_to_two_points_per_column_and_a_spike_survives() -> None:
    data = node_data(series=1, days=3650, spike_at=2000)
    status = NodeStatus(node="C", hub="cms02", observed_at=START + 3650 * DAY)
    options = pictures.ChartOptions(node="C", title="ten years", range="all")
    root = parse(pictures.svg(data, status, options))
    (path,) = series_paths(root).values()
    points = vertices(path.get("d") or "")
    assert len(points) <= options.width  # 3,650 backups, at most 2 points per 2 px column
    top = min(y for _, y in points)  # the spike is 50x the rest: it reaches the plot's top,
    # while the rest stays at the bottom
    grid = [vertices(p.get("d") or "")[0][1] for p in root.iter(SVG + "path")
            if p.get("class") == "grid"]
    assert top < min(grid) + 0.15 * (max(grid) - min(grid))
    median = sorted(y for _, y in points)[len(points) // 2]
    assert median > max(grid) - 0.1 * (max(grid) - min(grid))
    # the newest point is there for readers of the SVG, exactly as stored
    assert (int(path.get("data-newest-at") or 0), float(path.get("data-newest") or 0)) == \
        (START + 3649 * DAY, 1_000_000 + 3649 * 1000)


def test_a_big_node_stays_small() -> None:
    data = node_data(series=100, days=3650)
    status = NodeStatus(node="C", hub="cms02", observed_at=START + 3650 * DAY)
    for scale in ("linear", "log", "percent"):
        text = pictures.svg(data, status, pictures.ChartOptions(
            node="C", title="big", scale=scale, range="all", height=500))
        assert len(text.encode()) <= 150_000, scale
        root = parse(text)
        assert len(series_paths(root)) == 100
        # the legend names what fits and counts the rest
        notes = [t.text or "" for t in root.iter(SVG + "text")]
        assert any(re.fullmatch(r"\u2026 and \d+ more", n) for n in notes)


def test_options_name_the_picture_and_bad_ones_are_refused() -> None:
    a = pictures.ChartOptions(node="C", title="t", series=("repos/env",))
    assert a.file_name() == pictures.ChartOptions.from_json(a.to_json()).file_name()
    assert re.fullmatch(r"[0-9a-f]{16}\.svg", a.file_name())
    assert a.file_name() != pictures.ChartOptions(node="C", title="t").file_name()
    with pytest.raises(ValueError, match="scale 'sqrt' is not one of"):
        pictures.ChartOptions(node="C", title="t", scale="sqrt")
    assert pictures.css_px("30em") == 480 and pictures.css_px("500") == 500
    assert pictures.css_px("1px") == 160  # kept readable


def test_an_empty_node_says_so() -> None:
    data = NodeData(name="C", hub="cms02", series=[], runs=[])
    root = parse(pictures.svg(data, NodeStatus(node="C", hub="cms02"),
                              pictures.ChartOptions(node="C", title="nothing yet")))
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "no backup data in this range" in texts
    assert any("never collected" in (t or "") for t in texts)


@pytest.mark.parametrize("metric", ["size", "count"])
@pytest.mark.parametrize("scale", ["linear", "log", "percent"])
def test_a_node_without_backups_draws_the_message_and_no_made_up_axis(metric: str,
                                                                      scale: str) -> None:
    data = NodeData(name="C", hub="cms02", runs=[], series=[
        SeriesData(name="repos/env", raw_name=b"repos/env", backups=[])])
    root = parse(pictures.svg(data, NodeStatus(node="C", hub="cms02"), pictures.ChartOptions(
        node="C", title="nothing yet", metric=metric, scale=scale)))
    labels = [t.text for t in root.iter(SVG + "text") if t.get("class") == "label"]
    assert labels == []  # no "0 B, 0 B, 1 B" ticks, no dates of 1970
    assert [p for p in root.iter(SVG + "path") if p.get("class") == "grid"] == []
    assert series_paths(root) == {}  # not a line at 0 either
    texts = [t.text for t in root.iter(SVG + "text")]
    assert "no backup data in this range" in texts and "repos/env (no backup)" in texts


def test_a_few_bytes_get_whole_byte_ticks_each_once() -> None:
    data = NodeData(name="C", hub="cms02", runs=[], series=[SeriesData(
        name="tiny", raw_name=b"tiny", backups=[(START, 0, None), (START + DAY, 2, None)])])
    root = parse(pictures.svg(data, NodeStatus(node="C", hub="cms02"),
                              pictures.ChartOptions(node="C", title="tiny", range="all")))
    labels = [t.text or "" for t in root.iter(SVG + "text") if t.get("class") == "label"
              and (t.text or "").endswith(" B")]
    assert labels == ["0 B", "1 B", "2 B"]


# --- a real site: sphinx-build, collect --export, Chromium --------------------------------


class StaticSite:
    """A Sphinx project in static mode over a collected demo store, built by sphinx-build."""

    def __init__(self, folder: Path) -> None:
        self.backups = Backups(folder / "data", days=40)
        self.src = folder / "docs"
        shutil.copytree(ROOT / "roots" / "test-scmmonitor", self.src)
        (self.src / "five.rst").write_text(CHARTS_PAGE.format(hostile=HOSTILE))
        index = self.src / "index.rst"
        index.write_text(index.read_text() + "   five\n")
        conf = self.src / "conf.py"
        conf.write_text(conf.read_text().replace(
            'scmmonitor_highcharts = "fake-highcharts"', 'scmmonitor_render = "static"'))
        self.backups.install(self.src)
        self.out = folder / "html"

    def build(self, *args: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-b", "html", *args,
             str(self.src), str(self.out)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc


@pytest.fixture(scope="module")
def static_site(tmp_path_factory: pytest.TempPathFactory) -> StaticSite:
    site = StaticSite(tmp_path_factory.mktemp("static-site"))
    site.build()
    return site


def page_pictures(page: Path) -> list[tuple[str, str, Path]]:
    """(alt, src, file) of every chart picture on a page."""
    text = page.read_text(encoding="utf-8")
    return [(alt, src, (page.parent / unquote(src)).resolve()) for src, alt in re.findall(
        r'<img class="scmmonitor-picture" src="([^"]+)" width="\d+" height="\d+" '
        r'alt="([^"]*)"(?: fetchpriority="high")? />', text)]


def newest_in_json(doc: dict[str, Any], name: str) -> tuple[int, int]:
    """The series' newest (epoch s, bytes), in data format 1 or 2."""
    series = next(s for s in doc["series"] if s["name"] == name)
    if "t" in series:  # format 2: delta-encoded columns
        return sum(series["t"]), sum(series["size"])
    at, size = series["data"][-1]
    return at // 1000, size


def test_static_pages_have_no_script_and_a_picture_per_chart(static_site: StaticSite) -> None:
    out = static_site.out
    manifest = json.loads((out / "_static/scmmonitor/pictures.json").read_text())
    listed = {name: entry["pages"] for name, entry in manifest["pictures"].items()}
    seen: dict[str, set[str]] = {}
    for page in out.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "highstock" not in text and "scmmonitor.js" not in text, page
        for _alt, _src, file in page_pictures(page):
            seen.setdefault(file.name, set()).add(
                page.relative_to(out).with_suffix("").as_posix())
            parse(file.read_text(encoding="utf-8"))
    assert {k: sorted(v) for k, v in seen.items()} == listed
    assert len(page_pictures(out / "five.html")) == 5
    assert not (out / "_static/scmmonitor/highstock.js").exists()
    # the build said nothing is missing (sphinx-build -W would have failed otherwise)


def test_collect_export_redraws_the_pictures_without_a_rebuild(static_site: StaticSite) -> None:
    out = static_site.out
    page = out / "index.html"
    html_before = page.read_bytes()
    (alt, _src, file) = page_pictures(page)[0]
    assert "node C" in alt
    before = series_paths(parse(file.read_text()))["repos/env"].get("data-newest-at")

    when = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    add_backup(static_site.backups.roots["C"], "repos/env", when, 4_321_000)
    assert collect(static_site.backups.config, "--export", str(out)) == 0

    assert page.read_bytes() == html_before  # no rebuild, the same file name
    doc = json.loads((out / "_static/scmmonitor/data/C.json").read_text())
    assert newest_in_json(doc, "repos/env") == (int(when.timestamp()), 4_321_000)
    path = series_paths(parse(file.read_text()))["repos/env"]
    assert (int(path.get("data-newest-at") or 0), float(path.get("data-newest") or 0)) == \
        newest_in_json(doc, "repos/env")
    assert path.get("data-newest-at") != before
    # an export with nothing new (no new run) leaves every picture as it was
    stamps = {p: p.stat().st_mtime_ns for p in file.parent.iterdir()}
    export = ["-c", str(static_site.backups.config), "export", "--outdir", str(out)]
    assert cli.main(export) == 0
    assert {p: p.stat().st_mtime_ns for p in file.parent.iterdir()} == stamps
    # a picture removed by hand comes back with the next export
    file.unlink()
    assert cli.main(export) == 0
    assert series_paths(parse(file.read_text()))["repos/env"].get("data-newest-at") == \
        path.get("data-newest-at")


def test_a_bad_render_mode_is_one_warning_and_interactive(tmp_path: Path,
                                                          static_site: StaticSite) -> None:
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-D", "scmmonitor_render=fancy",
         "-D", "scmmonitor_highcharts=fake-highcharts", str(static_site.src), str(out)],
        capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    found = [line for line in proc.stderr.splitlines() if "WARNING" in line]
    assert len(found) == 1 and "scmmonitor_render = 'fancy'" in found[0], found
    assert "using 'interactive'" in found[0]
    assert "scmmonitor.js" in (out / "index.html").read_text()


_PICTURES_JS = """() => Array.from(document.querySelectorAll('img.scmmonitor-picture')).map(i => {
  const box = i.getBoundingClientRect();
  return {src: i.getAttribute('src'), loaded: i.complete && i.naturalWidth > 0,
          width: box.width, height: box.height, alt: i.alt};
})"""


@pytest.mark.browser
def test_chromium_without_javascript_shows_every_picture(static_site: StaticSite,
                                                         browser: Any) -> None:
    from tests.js.check_page import serve

    url, stop = serve(static_site.out)
    context = browser.new_context(java_script_enabled=False, viewport={"width": 1000,
                                                                        "height": 800})
    try:
        for name, count in (("five.html", 5), ("index.html", 2), ("nodes/deep/page.html", 1)):
            page = context.new_page()
            page.goto(url + name, wait_until="load")
            shown = page.evaluate(_PICTURES_JS)
            assert len(shown) == count, shown
            for picture in shown:
                assert picture["loaded"], picture
                assert picture["width"] > 300 and picture["height"] > 100, picture
            page.close()
    finally:
        context.close()
        stop()


@pytest.fixture(scope="module")
def interactive_site(static_site: StaticSite, request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The same project in interactive mode, with real Highcharts from npm."""
    folder = request.getfixturevalue("highcharts")
    out = tmp_path_factory.mktemp("interactive") / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-D", "scmmonitor_render=interactive", "-D", f"scmmonitor_highcharts={folder}",
         str(static_site.src), str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["static", "interactive"])
def test_a_printed_page_shows_every_chart_and_no_loading(
        mode: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Chromium's own --print-to-pdf of the five-chart page, read back with pdftotext."""
    from tests.js.check_page import CHROMIUM, CHROMIUM_ARGS, serve
    from tests.sshd import require_tool

    if not Path(CHROMIUM).exists():
        require_tool(f"{CHROMIUM} is not installed (apt-get install chromium)")
    if shutil.which("pdftotext") is None:
        require_tool("pdftotext is not installed (apt-get install poppler-utils)")
    out = (request.getfixturevalue("static_site").out if mode == "static"
           else request.getfixturevalue("interactive_site"))
    pdf = tmp_path / "five.pdf"
    url, stop = serve(out)
    try:
        proc = subprocess.run(
            [CHROMIUM, "--headless", *CHROMIUM_ARGS, "--no-pdf-header-footer",
             "--virtual-time-budget=5000", f"--user-data-dir={tmp_path / 'profile'}",
             f"--print-to-pdf={pdf}", url + "five.html"],
            capture_output=True, text=True, timeout=120)
    finally:
        stop()
    assert pdf.is_file(), proc.stdout + proc.stderr
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, timeout=60, check=True).stdout
    assert "Loading" not in text
    for title in ("First chart of C", "Second chart, H1 in log scale", "Third chart, counts",
                  "Fourth chart, percent", "Fifth chart with a hostile series"):
        # the chart's own title, drawn inside the picture (or the chart): every one printed
        assert text.count(title) >= 1, (title, text[:2000])


@pytest.mark.browser
def test_a_picture_follows_the_readers_scheme_unless_the_page_forces_one(
        tmp_path: Path, browser: Any) -> None:
    """Light by default, dark under prefers-color-scheme: dark, and #scm-dark / #scm-light
    on the <img> URL force one, for a page whose theme has its own toggle."""
    from PIL import Image

    from tests.js.check_page import serve

    status = NodeStatus(node="C", hub="cms02", observed_at=START + 30 * DAY)
    (tmp_path / "p.svg").write_text(pictures.svg(node_data(), status, pictures.ChartOptions(
        node="C", title="schemes", height=200, width=300)))
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><body style='margin:0'>" + "".join(
            f'<img src="p.svg{fragment}" width="300" height="200" style="display:block">'
            for fragment in ("", "#scm-dark", "#scm-light")) + "</body>")
    url, stop = serve(tmp_path)
    try:
        seen = {}
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": 300, "height": 600}, color_scheme=scheme)
            page.goto(url + "index.html", wait_until="load")
            page.screenshot(path=str(tmp_path / f"{scheme}.png"))
            page.close()
            with Image.open(tmp_path / f"{scheme}.png") as shot:
                rgb = shot.convert("RGB")
                seen[scheme] = [rgb.getpixel((295, 5 + 200 * i)) for i in range(3)]
        white = (255, 255, 255)
        dark = tuple(int(PALETTE["dark"]["bg"][i:i + 2], 16) for i in (1, 3, 5))
        assert seen == {"light": [white, dark, white], "dark": [dark, dark, white]}, seen
    finally:
        stop()


def test_a_broken_manifest_is_one_message_and_the_json_is_still_written(
        static_site: StaticSite, capsys: pytest.CaptureFixture[str]) -> None:
    manifest = static_site.out / "_static/scmmonitor/pictures.json"
    good = manifest.read_text()
    data = static_site.out / "_static/scmmonitor/data/C.json"
    try:
        manifest.write_text('{"format": 1, "pictures": {"0000000000000000.svg": {"options": '
                            '{"node": "C", "title": "t", "height": 400}}}}')
        data.unlink()
        code = cli.main(["-c", str(static_site.backups.config), "export", "--outdir",
                         str(static_site.out)])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err
        assert f"{manifest}: pictures.0000000000000000.svg: the name is not its options' hash" \
            in err and "rebuild the docs" in err
        assert data.is_file()  # the data went out first
    finally:
        manifest.write_text(good)


def test_rewrite_draws_a_missing_picture_even_of_a_node_not_asked_for(
        static_site: StaticSite) -> None:
    from sphinxcontrib_scmmonitor import config
    from sphinxcontrib_scmmonitor.store import Store

    settings = config.load(static_site.backups.config)
    folder = static_site.out / "_static/scmmonitor/pictures"
    missing = sorted(folder.glob("*.svg"))[0]
    missing.unlink()
    others = {p: p.stat().st_mtime_ns for p in folder.glob("*.svg")}
    store = Store(settings.database)
    try:
        written = pictures.rewrite(static_site.out, settings, store, nodes=[])
    finally:
        store.close()
    assert missing in written and missing.is_file()
    parse(missing.read_text())
    assert {p: p.stat().st_mtime_ns for p in others} == others  # the rest were not touched


@pytest.mark.browser
def test_opened_from_disk_the_pictures_stand_with_one_note_and_no_error_box(
        interactive_site: Path, browser: Any) -> None:
    """file://: the browser refuses the data files, which is not the data's fault."""
    page = browser.new_page(viewport={"width": 1000, "height": 3000})
    try:
        page.goto((interactive_site / "five.html").resolve().as_uri(), wait_until="load")
        page.wait_for_selector(".scmmonitor-chart .scmmonitor-message")
        page.wait_for_timeout(500)  # every chart has tried its data by now
        notes = page.eval_on_selector_all(".scmmonitor-chart .scmmonitor-message",
                                          "els => els.map(e => e.textContent)")
        assert len(notes) == 1, notes
        assert "http.server" in notes[0] and "make serve" in notes[0], notes
        assert "scm-monitor export" not in notes[0]  # the export is not what is missing
        errors = page.eval_on_selector_all(".scmmonitor-error",
                                           "els => els.map(e => e.textContent)")
        assert errors == [], errors
        shown = page.evaluate(_PICTURES_JS)
        assert len(shown) == 5 and all(p["loaded"] for p in shown), shown
    finally:
        page.close()

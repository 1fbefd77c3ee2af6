"""Points drawn (docs/sphinx.rst): ten years of nightly backups in real Chromium with real
Highcharts. The first draw has every backup of the range in view and fewer elsewhere; "All"
draws about the plot's width of points, the truncated backup among them at its exact size;
zooming to a month draws every backup of it; tooltips and the accessible description speak
of real backups only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor.sphinxext.assets import HIGHCHARTS_CSS, joined_script, stylesheet
from tests.js.check_page import PageLog, serve
from tests.js.make_fixture import HIGHCHARTS_FILES, chart_div, delta, iso, page

pytestmark = pytest.mark.browser

DAY = 86400
DAYS = 3650
END = 1_790_000_000 // DAY * DAY + 2 * 3600
DROP = 2400  # the night a backup came out truncated (0 bytes)


def _document() -> dict[str, Any]:
    times = [END - (DAYS - 1 - i) * DAY for i in range(DAYS)]
    series = []
    for k, base in enumerate((5 * 2**30, 300 * 2**20)):
        sizes = [base + i * 2**20 + (i * 7919 * (k + 3)) % 2**22 for i in range(DAYS)]
        if k == 0:
            sizes[DROP] = 0
        series.append({"name": f"repos/s{k}", "status": "ok", "retired": False, "reasons": [],
                       "t": delta(times), "size": delta(sizes),
                       "count": delta([min(i + 1, 30) for i in range(DAYS)])})
    return {"format": 2, "node": "L", "hub": "cms02", "source": None,
            "generated_at": iso(END + 600), "observed_at": iso(END + 60), "status": "ok",
            "reasons": [], "series": series, "runs": [{"at": END + 60, "ok": True,
                                                        "error": None}]}


@pytest.fixture(scope="module")
def long_site(tmp_path_factory: pytest.TempPathFactory, highcharts: Path) -> Path:
    out = tmp_path_factory.mktemp("long")
    static = out / "_static" / "scmmonitor"
    for name in (*HIGHCHARTS_FILES, HIGHCHARTS_CSS):
        (static / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(highcharts / name, static / name)
    (static / "scmmonitor.js").write_text(joined_script(), encoding="utf-8")
    (static / "scmmonitor.css").write_text(stylesheet(), encoding="utf-8")
    (static / "data").mkdir()
    (static / "data" / "L.json").write_text(json.dumps(_document()), encoding="utf-8")
    (out / "index.html").write_text(page("Ten years", "", chart_div(
        0, "L", "", title="ten years of L", rng="1y")), encoding="utf-8")
    return out


_STATE = """() => {
  const chart = Highcharts.charts.find(c => c);
  const axis = chart.xAxis[0];
  const lines = chart.series.filter(s => s.type === 'line' && !s.options.isInternal);
  return {min: axis.min, max: axis.max, len: axis.len,
          lines: lines.map(s => ({x: Array.from(s.dataTable.getColumn('x')),
                                  y: Array.from(s.dataTable.getColumn('y'))})),
          described: lines.map(s => chart.options.accessibility.series.descriptionFormatter(s))};
}"""


def _settle(pg: Any, min_ms: float | None, max_ms: float | None) -> dict[str, Any]:
    """Set the view, then wait two frames (the points of the new view come one frame later)."""
    pg.evaluate("([a, b]) => Highcharts.charts.find(c => c).xAxis[0].setExtremes("
                "a === null ? undefined : a, b === null ? undefined : b)", [min_ms, max_ms])
    pg.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    pg.wait_for_timeout(100)
    return pg.evaluate(_STATE)  # type: ignore[no-any-return]


def test_points_drawn_follow_the_view_and_are_real_backups(long_site: Path,
                                                           browser: Any) -> None:
    doc = _document()
    backups = []
    for s in doc["series"]:
        x, y, t, v = [], [], 0, 0
        for dt, dv in zip(s["t"], s["size"], strict=True):
            t += dt
            v += dv
            x.append(t * 1000)
            y.append(v)
        backups.append(dict(zip(x, y, strict=True)))
    url, stop = serve(long_site)
    log = PageLog(allowed_404=[])
    pg = browser.new_page(viewport={"width": 1200, "height": 900})
    pg.on("console", log.on_console)
    pg.on("pageerror", log.on_page_error)
    try:
        pg.goto(url + "index.html", wait_until="load")
        pg.wait_for_selector("#scmmonitor-chart-0.scmmonitor-drawn")
        pg.wait_for_timeout(200)
        first = pg.evaluate(_STATE)

        def check_real(state: dict[str, Any]) -> None:
            for line, real in zip(state["lines"], backups, strict=True):
                assert line["x"] == sorted(set(line["x"])), "not strictly ascending"
                for x, y in zip(line["x"], line["y"], strict=True):
                    assert real[x] == y, f"a value no backup had at {x}: {y}"

        def in_view(state: dict[str, Any], line: int) -> list[int]:
            return [x for x in state["lines"][line]["x"] if state["min"] <= x <= state["max"]]

        # the year in view: every backup of it; the nine years before it: far fewer
        check_real(first)
        for k in range(2):
            assert in_view(first, k) == [x for x in backups[k] if first["min"] <= x <=
                                         first["max"]]
            assert len(first["lines"][k]["x"]) < DAYS / 3, len(first["lines"][k]["x"])
        # the reader's description counts the backups, not the points drawn
        assert all(f"{DAYS} backups" in text for text in first["described"]), first["described"]

        everything = _settle(pg, None, None)
        check_real(everything)
        drawn = everything["lines"][0]
        assert len(drawn["x"]) <= everything["len"] + 4, (len(drawn["x"]), everything["len"])
        drop_at = sorted(backups[0])[DROP]
        assert drop_at in drawn["x"] and drawn["y"][drawn["x"].index(drop_at)] == 0, \
            "the truncated backup was smoothed away"
        # its tooltip: the exact size of that backup
        text = pg.evaluate("""(at) => { const chart = Highcharts.charts.find(c => c);
            const point = chart.series[0].points.find(p => p.x === at);
            chart.tooltip.refresh([point]);
            return document.querySelector('#scmmonitor-chart-0 .highcharts-tooltip')
              .textContent; }""", drop_at)
        assert "(0 bytes)" in text, text

        month = sorted(backups[1])[1000:1031]
        zoomed = _settle(pg, month[0], month[-1])
        check_real(zoomed)
        for k in range(2):
            assert in_view(zoomed, k) == [x for x in backups[k] if zoomed["min"] <= x <=
                                          zoomed["max"]]
        log.check()
    finally:
        pg.close()
        stop()

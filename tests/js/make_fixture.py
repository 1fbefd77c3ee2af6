#!/usr/bin/env python3
"""Write a static test site for scmmonitor.js, as the Sphinx extension would emit it.

    python3 tests/js/make_fixture.py OUTDIR

The site has

* ``index.html``: charts for nodes C (linear), H1 (log), Z (no JSON: must show
  an error), a status table for C, H1 and Z, and far below a C chart with the
  percent scale (to prove lazy drawing);
* ``sub/deeper/page.html``: a nested page (``../../_static/...`` URLs) with a
  count chart of selected series (one of them absent from the data) and a
  status table;
* ``nohighcharts.html``: a page whose highstock.js is missing;
* ``oldformat.html``: charts of a format-1 file and of a file without a format,
  which must say which command rewrites them;
* ``_static/scmmonitor/``: highstock.js and its modules from
  ``tests/js/node_modules/highcharts`` (run ``npm install`` in tests/js), our
  script (the modules joined as the Sphinx build joins them) and css, and
  ``data/C.json`` / ``data/H1.json`` in data format 2 with generated data: three
  series of 400 daily backups each of very different size, a series whose name
  is hostile HTML, a failed collection run whose error is hostile HTML, an
  alarmed (stale) series and a warned (shrunk) one.

Importable: ``make_site(outdir, now=None) -> dict`` returns what the pages
should show (see ``check_page.EXPECTED``-style dicts in the return value).
"""

from __future__ import annotations

import html
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))
from sphinxcontrib_scmmonitor.checks import SEVERITY  # noqa: E402
from sphinxcontrib_scmmonitor.sphinxext.assets import (  # noqa: E402
    HIGHCHARTS_CSS,
    joined_script,
    stylesheet,
)

STATIC = REPO / "sphinxcontrib_scmmonitor" / "static"
HIGHCHARTS = HERE / "node_modules" / "highcharts"
HIGHCHARTS_FILES = ("highstock.js", "modules/exporting.js", "modules/accessibility.js")

HOSTILE = '<img src=x onerror=alert(1)>&"quote'
HOSTILE_ERROR = "ssh: connect to cms01 port 22: timed out after 10 s <script>alert(2)</script><b>&"
DAY = 86400
PERIOD = 400


def _series(name: str, end: float, base: float, growth: float, rng: random.Random,
            *, stop_days: int = 0, shrink_last: bool = False, zero_at: int | None = None,
            keep: int = 30, status: str = "ok", reasons: list[str] | None = None,
            details: list[str] | None = None) -> dict[str, Any]:
    """PERIOD daily backups at 02:10 UTC ending ``stop_days`` before ``end``."""
    last_day = int((end - stop_days * DAY) // DAY) * DAY
    times: list[int] = []
    sizes: list[int] = []
    counts: list[int] = []
    size = base
    for i in range(PERIOD):
        at = last_day - (PERIOD - 1 - i) * DAY + 2 * 3600 + 10 * 60
        size *= 1 + growth + rng.uniform(-0.004, 0.006)
        value = int(size)
        if zero_at is not None and i == zero_at:
            value = 0
        if shrink_last and i == PERIOD - 1:
            value = int(sizes[-1] * 0.45)
        times.append(at)
        sizes.append(value)
        counts.append(min(i + 1, keep))
    return {
        "name": name, "status": status, "retired": False,
        "reasons": [{"reason": r, "level": SEVERITY[r], "detail": d, "at": [times[-1]]}
                    for r, d in zip(reasons or [], details or [], strict=True)],
        "t": delta(times), "size": delta(sizes), "count": delta(counts),
    }


def delta(values: list[int]) -> list[int]:
    """Format 2's delta columns: the first value, then each one's change."""
    return [b - a for a, b in zip([0, *values], values, strict=False)]


def iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def node_documents(now: float | None = None) -> dict[str, dict[str, Any]]:
    now = time.time() if now is None else now
    rng = random.Random(20121113)
    generated = iso(now - 600)
    c_series = [
        _series("repos/env", now, 1.1 * 2**30, 0.0012, rng),
        _series("tracs/env", now, 42 * 2**20, 0.0009, rng, stop_days=3, status="alarm", keep=60,
                reasons=["stale"], details=["newest backup is 3 d old (limit 36 h)"]),
        _series(HOSTILE, now, 310 * 2**10, 0.0005, rng, shrink_last=True, zero_at=200, keep=14,
                status="warn", reasons=["shrunk"],
                details=["newest backup is -55 % against the previous one (limit 0.5x)"]),
    ]
    c_runs = [
        {"at": int(now - 20 * DAY), "ok": False, "error": HOSTILE_ERROR},
        {"at": int(now - 3600), "ok": True, "error": None},
    ]
    h1_series = [
        _series("repos/env", now, 1.3 * 2**30, 0.001, rng),
        _series("svn/dybsvn", now, 7.5 * 2**30, 0.0015, rng),
        _series("tracs/env", now, 39 * 2**20, 0.0008, rng),
        # backed up no more on purpose (config: retired): charted, never judged
        {**_series("svn/oldproj", now, 2.1 * 2**30, 0.0004, rng, stop_days=90), "retired": True},
    ]
    h1_runs = [
        {"at": int(now - 100 * DAY), "ok": False, "error": "Authentication failed."},
        {"at": int(now - 1800), "ok": False,
         "error": "ssh: connect to hep1 port 22: timed out after 10 s"},
    ]
    return {
        "C": {
            "format": 2, "node": "C", "hub": "cms02", "source": None,
            "generated_at": generated, "observed_at": iso(c_runs[-1]["at"]),
            "status": "alarm", "reasons": [], "series": c_series, "runs": c_runs,
            "some_future_field": {"ignored": True},
        },
        "H1": {
            "format": 2, "node": "H1", "hub": "cms02", "source": None,
            "generated_at": generated, "observed_at": iso(now - 86400),
            "status": "warn",
            "reasons": [{"reason": "unreachable", "level": SEVERITY["unreachable"],
                         "detail": "ssh: connect to hep1 port 22: timed out after 10 s",
                         "at": []}],
            "series": h1_series, "runs": h1_runs,
        },
    }


def _attr(value: Any) -> str:
    if not isinstance(value, str):
        value = json.dumps(value)
    return html.escape(value, quote=True)


def chart_div(index: int, node: str, prefix: str, *, title: str, height: str = "450px",
              series: list[str] | None = None, metric: str = "size", scale: str = "linear",
              rng: str = "1y") -> str:
    return (
        f'<div class="scmmonitor-chart" id="scmmonitor-chart-{index}"\n'
        f'     data-scm-node="{_attr(node)}"\n'
        f'     data-scm-src="{_attr(prefix + "_static/scmmonitor/data/" + node + ".json")}"\n'
        f'     data-scm-title="{_attr(title)}"\n'
        f'     data-scm-height="{_attr(height)}"\n'
        f'     data-scm-series="{_attr(series or [])}"\n'
        f'     data-scm-metric="{_attr(metric)}"\n'
        f'     data-scm-scale="{_attr(scale)}"\n'
        f'     data-scm-range="{_attr(rng)}">\n'
        f'  <p class="scmmonitor-message">'
        f'Loading backup chart for node {html.escape(node)}\u2026</p>\n'
        f'</div>\n'
    )


def status_div(nodes: list[str], prefix: str, docs: dict[str, dict[str, Any]]) -> str:
    """The table as built at build time (older, deliberately different data)."""
    rows = []
    for node in nodes:
        doc = docs.get(node)
        names = ([s["name"] for s in doc["series"] if not s.get("retired")] if doc
                 else ["repos/env"])
        for name in names:
            rows.append(
                f'<tr data-scm-node="{_attr(node)}"><td>{html.escape(node)}</td>'
                f"<td>{html.escape(name)}</td>"
                f'<td class="scmmonitor-status-cell scmmonitor-unknown">unknown (build time)</td>'
                f"<td>build-time row</td><td>\u2014</td><td>\u2014</td><td>\u2014</td></tr>")
    return (
        f'<div class="scmmonitor-status" data-scm-nodes="{_attr(nodes)}"\n'
        f'     data-scm-base="{_attr(prefix + "_static/scmmonitor/data/")}">\n'
        '<table class="scmmonitor-status-table docutils">\n'
        "<thead><tr><th>Node</th><th>Series</th><th>Status</th><th>Reason</th>"
        "<th>Newest backup</th><th>Size</th><th>Change</th></tr></thead>\n"
        "<tbody>\n" + "\n".join(rows) + "\n</tbody>\n</table>\n</div>\n"
    )


def page(title: str, prefix: str, body: str, highcharts: str = "") -> str:
    """``highcharts``: folder of highstock.js and modules/ below _static/scmmonitor/."""
    s = prefix + "_static/scmmonitor/"
    h = s + highcharts
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="{h}css/highcharts.css">
<link rel="stylesheet" href="{s}scmmonitor.css">
<script defer src="{h}highstock.js"></script>
<script defer src="{h}modules/exporting.js"></script>
<script defer src="{h}modules/accessibility.js"></script>
<script defer src="{s}scmmonitor.js"></script>
<style>body {{ font-family: Georgia, serif; max-width: 1000px; margin: 1em auto; }}
.spacer {{ height: 1800px; border-left: 3px dotted #ccc; padding-left: 1em; color: #888; }}</style>
</head>
<body>
<h1>{html.escape(title)}</h1>
{body}
</body>
</html>
"""


SPACER = '<div class="spacer">(spacer: the next chart is drawn when scrolled near)</div>\n'


def make_site(outdir: str | Path, now: float | None = None,
              highcharts: str | Path = HIGHCHARTS) -> dict[str, Any]:
    """Write the site; return {page path: {chart id: expectations, "status": ...}}."""
    out = Path(outdir)
    static = out / "_static" / "scmmonitor"
    highcharts = Path(highcharts)
    if not (highcharts / "highstock.js").is_file():
        raise SystemExit(f"{highcharts}/highstock.js is missing: run `npm install` in {HERE}")
    (static / "modules").mkdir(parents=True, exist_ok=True)
    (static / "data").mkdir(parents=True, exist_ok=True)
    (static / "css").mkdir(parents=True, exist_ok=True)
    for name in (*HIGHCHARTS_FILES, HIGHCHARTS_CSS):
        shutil.copyfile(highcharts / name, static / name)
    (static / "scmmonitor.js").write_text(joined_script(), encoding="utf-8")
    # as the Sphinx build writes it: the colours' custom properties, then the package's css
    (static / "scmmonitor.css").write_text(stylesheet(), encoding="utf-8")
    docs = node_documents(now)
    for node, doc in docs.items():
        (static / "data" / f"{node}.json").write_text(json.dumps(doc, separators=(",", ":")),
                                                      encoding="utf-8")
    # written by an older scm-monitor (format 1), and a file with no format at all
    (static / "data" / "OLD.json").write_text(json.dumps(
        {"format": 1, "node": "OLD", "series": [{"name": "a", "data": [[0, 1]]}]}))
    (static / "data" / "NOFMT.json").write_text(json.dumps({"node": "NOFMT", "series": []}))
    stale = (static / "data" / "Z.json")
    if stale.exists():
        stale.unlink()

    c_names = [s["name"] for s in docs["C"]["series"]]
    h1_names = [s["name"] for s in docs["H1"]["series"]]
    index_body = (
        chart_div(0, "C", "", title="cms02 backups on cms01")
        + SPACER
        + chart_div(1, "H1", "", title="cms02 backups on hep1 (log scale)", scale="log", rng="all")
        + SPACER
        + chart_div(2, "Z", "", title="a node without data", height="300px")
        + "<h2>Status</h2>\n"
        + status_div(["C", "H1", "Z"], "", docs)
        + SPACER
        + chart_div(3, "C", "", title="cms01: change in percent", scale="percent", rng="6m")
    )
    (out / "index.html").write_text(page("Backups", "", index_body), encoding="utf-8")

    deep_body = (
        chart_div(0, "C", "../../", title="cms01: backups kept",
                  series=["repos/env", HOSTILE, "svn/gone"], metric="count", rng="3m")
        + chart_div(1, "H1", "../../", title="cms02 backups on hep1", height="26em", rng="3m")
        + "<h2>Status</h2>\n"
        + status_div(["C"], "../../", docs)
    )
    deep = out / "sub" / "deeper"
    deep.mkdir(parents=True, exist_ok=True)
    (deep / "page.html").write_text(page("Nested page", "../../", deep_body), encoding="utf-8")

    (out / "nohighcharts.html").write_text(
        page("No Highcharts", "", chart_div(0, "C", "", title="cms01"),
             highcharts="not-installed/"), encoding="utf-8")

    (out / "oldformat.html").write_text(
        page("Old data files", "", chart_div(0, "OLD", "", title="format 1")
             + chart_div(1, "NOFMT", "", title="no format")), encoding="utf-8")

    alarm = {"C": ["tracs/env", HOSTILE]}
    return {
        "index.html": {
            "charts": {
                "scmmonitor-chart-0": {"series": c_names, "flags": True, "dashed": alarm["C"],
                                       "tooltip": {"flag": HOSTILE_ERROR}},
                "scmmonitor-chart-1": {"series": h1_names, "flags": True, "dashed": [],
                                       "legend": ["svn/oldproj (retired)"]},
                "scmmonitor-chart-2": {"error": "node Z"},
                "scmmonitor-chart-3": {"series": c_names, "flags": True, "dashed": alarm["C"]},
            },
            "lazy": ["scmmonitor-chart-3"],
            "status": {"nodes": ["C", "H1", "Z"], "failed": ["Z"],
                       "words": ["ok", "warn", "alarm"], "absent": ["svn/oldproj"]},
            "allowed_404": ["/Z.json"],
        },
        "sub/deeper/page.html": {
            "charts": {
                "scmmonitor-chart-0": {"series": ["repos/env", HOSTILE], "flags": True,
                                       "dashed": [HOSTILE], "note": "svn/gone"},
                "scmmonitor-chart-1": {"series": h1_names, "flags": True, "dashed": [],
                                       "tooltip": {}},
            },
            "lazy": [],
            "status": {"nodes": ["C"], "failed": [], "words": ["ok", "warn", "alarm"]},
            "allowed_404": [],
        },
        "nohighcharts.html": {
            "charts": {"scmmonitor-chart-0": {"error": "Highcharts did not load"}},
            "lazy": [],
            "status": None,
            "allowed_404": ["/not-installed/highstock.js", "/not-installed/css/highcharts.css",
                            "/not-installed/modules/exporting.js",
                            "/not-installed/modules/accessibility.js"],
        },
        "oldformat.html": {
            "charts": {
                "scmmonitor-chart-0": {"error": "unsupported data format 1 (this page's script "
                                                "reads format 2). Rewrite the file in this "
                                                "format with scm-monitor export --outdir "
                                                "<html dir>."},
                "scmmonitor-chart-1": {"error": "unsupported data format null (this page's "
                                                "script reads format 2). Rewrite the file in "
                                                "this format with scm-monitor export --outdir "
                                                "<html dir>."},
            },
            "lazy": [],
            "status": None,
            "allowed_404": [],
        },
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    make_site(argv[0])
    print(f"wrote {argv[0]}/index.html, sub/deeper/page.html, nohighcharts.html")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

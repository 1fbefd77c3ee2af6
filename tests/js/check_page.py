#!/usr/bin/env python3
"""Drive Chromium over the fixture site and check what scmmonitor.js drew.

    python3 tests/js/check_page.py SCREENSHOT_DIR [--site DIR]

Without ``--site`` the site is written to a temporary folder by
``make_fixture.make_site``. Needs Playwright for Python (``pip install
playwright``; no ``playwright install``: Debian's /usr/bin/chromium is used)
and ``npm install`` in tests/js for Highcharts. Exits 1 with the list of
problems when a check fails.

The functions are importable for a pytest browser test::

    url, stop = serve(folder)
    with sync_playwright() as pw:
        browser = launch_browser(pw)
        page, log = open_page(browser, url + "index.html")
        check_charts(page, {"scmmonitor-chart-0": {"series": ["repos/env"], "flags": True}})
        check_status(page, {"nodes": ["C"], "failed": [], "words": ["ok"]})
        log.check()
"""

from __future__ import annotations

import argparse
import functools
import http.server
import os
import sys
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = os.environ.get("SCMMONITOR_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
TIMEOUT_MS = 15000


class CheckFailed(AssertionError):
    pass


# --------------------------------------------------------------------------
# Serving and launching
# --------------------------------------------------------------------------

class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


def serve(folder: str | os.PathLike[str]) -> tuple[str, Callable[[], None]]:
    """Serve ``folder`` on 127.0.0.1 (random port) in a thread: (base url, stop)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="scmmonitor-http", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return f"http://127.0.0.1:{server.server_address[1]}/", stop


def launch_browser(playwright: Any, executable: str = CHROMIUM) -> Any:
    """Debian's Chromium, headless, no network chatter."""
    if not Path(executable).exists():
        raise CheckFailed(f"{executable} not found (set SCMMONITOR_CHROMIUM)")
    return playwright.chromium.launch(executable_path=executable, headless=True,
                                      args=CHROMIUM_ARGS)


@dataclass
class PageLog:
    """Console errors/warnings, page errors and dialogs seen on one page."""

    allowed_404: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def on_console(self, msg: Any) -> None:
        if msg.type not in ("error", "warning"):
            return
        text = msg.text
        where = (msg.location or {}).get("url", "")
        if msg.type == "error" and "Failed to load resource" in text and any(
                where.endswith(suffix) for suffix in self.allowed_404):
            return
        self.errors.append(f"console.{msg.type}: {text} ({where})")

    def on_page_error(self, exc: Any) -> None:
        self.errors.append(f"uncaught: {exc}")

    def on_dialog(self, dialog: Any) -> None:
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def check(self) -> None:
        problems = list(self.errors) + [f"dialog opened: {d}" for d in self.dialogs]
        if problems:
            raise CheckFailed("\n".join(problems))


def open_page(browser: Any, url: str, allowed_404: list[str] | None = None,
              viewport: tuple[int, int] = (1200, 900)) -> tuple[Any, PageLog]:
    """A new page at ``url`` with its log recorded; waits for DOMContentLoaded + scripts."""
    log = PageLog(allowed_404=list(allowed_404 or []))
    page = browser.new_page(viewport={"width": viewport[0], "height": viewport[1]})
    page.set_default_timeout(TIMEOUT_MS)
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.on("dialog", log.on_dialog)
    # alert() is also recorded from inside the page, in case no dialog event fires
    page.add_init_script("window.__scmAlerts = [];"
                         "window.alert = function (m) { window.__scmAlerts.push(String(m)); };")
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.scmmonitor !== undefined || "
                           "document.querySelector('.scmmonitor-error') !== null")
    return page, log


# --------------------------------------------------------------------------
# Checks
# --------------------------------------------------------------------------

_CHART_STATE_JS = """(id) => {
  const box = document.getElementById(id);
  if (!box) return null;
  const q = (sel) => Array.from(box.querySelectorAll(sel));
  const lines = q('.highcharts-series.highcharts-line-series:not(.highcharts-navigator-series)');
  return {
    drawn: q('.highcharts-container').length > 0,
    lines: lines.length,
    flags: q('.highcharts-series.highcharts-flags-series').length,
    flagTitles: q('.highcharts-flags-series text').map(t => t.textContent),
    legend: q('.highcharts-legend-item text').map(t => t.textContent),
    dashed: lines.map(g => {
      const path = g.querySelector('path.highcharts-graph');
      // styled mode: the dash is the stylesheet's, so read what is drawn
      const dash = path ? getComputedStyle(path).strokeDasharray : 'none';
      return !!(dash && dash !== 'none');
    }),
    seriesNames: (window.Highcharts && Highcharts.charts
      ? (Highcharts.charts.find(c => c && box.contains(c.renderTo)) || {series: []}).series
          .filter(s => !s.options.isInternal && s.type === 'line')
          .map(s => s.legendItem && s.legendItem.label
                    ? s.legendItem.label.element.textContent : null)
      : []),
    yLabels: q('.highcharts-yaxis-labels text').map(t => t.textContent),
    imgs: q('img:not(.scmmonitor-picture)').length,  // the server's picture stays
    badAria: q('[aria-label]').map(e => e.getAttribute('aria-label'))
      .filter(a => /&(lt|gt|amp|quot|#39);|undefined/.test(a)),
    scripts: q('script').length,
    message: q('.scmmonitor-message').map(p => p.textContent).join(' '),
    errorMessage: q('.scmmonitor-message.scmmonitor-error').map(p => p.textContent).join(' '),
    note: q('.scmmonitor-note').map(p => p.textContent).join(' '),
  };
}"""


def chart_state(page: Any, chart_id: str) -> dict[str, Any]:
    state = page.evaluate(_CHART_STATE_JS, chart_id)
    if state is None:
        raise CheckFailed(f"#{chart_id}: no such element")
    return state


def wait_for_chart(page: Any, chart_id: str) -> dict[str, Any]:
    """Scroll to the chart and wait until it is drawn or shows a message."""
    page.locator(f"#{chart_id}").scroll_into_view_if_needed()
    try:
        page.wait_for_function(
            """(id) => { const b = document.getElementById(id);
                return b && (b.querySelector('.highcharts-series') ||
                             b.querySelector('.scmmonitor-error') ||
                             b.querySelector('.scmmonitor-message:not(:first-child)') ||
                             (b.querySelector('.scmmonitor-message') &&
                              !/^Loading/.test(b.textContent.trim()))); }""",
            arg=chart_id)
    except Exception as exc:  # playwright TimeoutError
        raise CheckFailed(f"#{chart_id}: neither drawn nor a message after "
                          f"{TIMEOUT_MS / 1000:g} s: {chart_state(page, chart_id)}"
                          ) from exc
    return chart_state(page, chart_id)


def check_lazy(page: Any, chart_ids: list[str]) -> None:
    """Charts far below the first screen must not be drawn before scrolling."""
    page.wait_for_timeout(500)
    for chart_id in chart_ids:
        if chart_state(page, chart_id)["drawn"]:
            raise CheckFailed(f"#{chart_id}: drawn before it was scrolled near (not lazy)")


def check_charts(page: Any, expected: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Check every chart in ``expected``: {chart id: {...}}.

    Keys: ``series`` (names that must start legend items, in order), ``flags``
    (a failed-run flag series), ``dashed`` (series names drawn dashed),
    ``legend`` (legend texts that must appear exactly), ``note`` (text in the
    note under the chart), ``error`` (text of the error message shown instead
    of a chart). Returns the states seen.
    """
    problems: list[str] = []
    states = {}
    for chart_id, want in expected.items():
        state = wait_for_chart(page, chart_id)
        states[chart_id] = state
        where = f"#{chart_id}"
        if state["imgs"] or state["scripts"]:
            problems.append(f"{where}: {state['imgs']} <img> / {state['scripts']} <script> "
                            "elements created (names not escaped?)")
        if state["badAria"]:
            problems.append(f"{where}: {len(state['badAria'])} aria-labels with HTML entities "
                            f"or 'undefined', e.g. {state['badAria'][:3]}")
        if "error" in want:
            if want["error"] not in state["errorMessage"]:
                problems.append(f"{where}: expected an error message with {want['error']!r}, "
                                f"got {state['message'] or state}")
            continue
        if state["errorMessage"]:
            problems.append(f"{where}: error shown: {state['errorMessage']}")
            continue
        names = want.get("series", [])
        if state["lines"] != len(names):
            problems.append(f"{where}: {state['lines']} line series drawn, expected {len(names)}")
        legend = state["legend"]
        for name in names:
            if not any(text.startswith(name) for text in legend):
                problems.append(f"{where}: no legend item for {name!r} (legend: {legend})")
        if want.get("flags"):
            if not state["flags"]:
                problems.append(f"{where}: no flags series for the failed runs")
            elif "!" not in state["flagTitles"]:
                problems.append(f"{where}: flags have no '!' title: {state['flagTitles']}")
        for text in want.get("legend", []):
            if text not in legend:
                problems.append(f"{where}: no legend item {text!r} (legend: {legend})")
        dashed_names = [n for n, d in zip(state["seriesNames"], state["dashed"], strict=False) if d]
        for name in want.get("dashed", []):
            if not any(n and n.startswith(name) for n in dashed_names):
                problems.append(f"{where}: series {name!r} is not dashed "
                                f"(dashed: {dashed_names})")
        for name, text in zip(names, state["seriesNames"], strict=False):
            if text and name not in want.get("dashed", []) and text in dashed_names:
                problems.append(f"{where}: ok series {name!r} drawn dashed")
        if "note" in want and want["note"] not in state["note"]:
            problems.append(f"{where}: note should name {want['note']!r}: {state['note']!r}")
    alerts = page.evaluate("window.__scmAlerts || []")
    if alerts:
        problems.append(f"alert() was called: {alerts}")
    if page.evaluate("document.querySelectorAll('img:not(.scmmonitor-picture)').length"):
        problems.append("an <img> element exists in the page besides the charts' pictures")
    if problems:
        raise CheckFailed("\n".join(problems))
    return states


def check_tooltips(page: Any, chart_id: str, flag_text: str | None = None) -> list[str]:
    """Hover the plot (and a flag): tooltips show exact bytes, UTC dates, the run error."""
    problems = []
    page.locator(f"#{chart_id}").scroll_into_view_if_needed()
    plot = page.locator(f"#{chart_id} .highcharts-plot-background").first
    box = plot.bounding_box()
    if not box:
        return [f"#{chart_id}: no plot area"]
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.5)
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + box["height"] * 0.5, steps=5)
    tip_js = """(id) => Array.from(document.getElementById(id)
        .querySelectorAll('.highcharts-tooltip, .highcharts-label.highcharts-tooltip-box'))
        .map(e => e.textContent).join(' | ')"""
    try:
        page.wait_for_function(
            f"(id) => /bytes/.test(({tip_js})(id)) && /UTC/.test(({tip_js})(id))", arg=chart_id)
    except Exception:
        problems.append(f"#{chart_id}: tooltip lacks bytes / UTC: "
                        f"{page.evaluate(tip_js, chart_id)!r}")
    else:
        text = page.evaluate(tip_js, chart_id)
        if "," not in text:
            problems.append(f"#{chart_id}: no thousands separators in the tooltip: {text!r}")
    if flag_text:
        flag = page.locator(f"#{chart_id} .highcharts-flags-series .highcharts-point").first
        flag.hover(force=True)
        try:
            page.wait_for_function(f"(a) => ({tip_js})(a[0]).includes(a[1])",
                                   arg=[chart_id, flag_text])
        except Exception:
            problems.append(f"#{chart_id}: flag tooltip lacks {flag_text!r}: "
                            f"{page.evaluate(tip_js, chart_id)!r}")
    page.mouse.move(0, 0)
    return problems


_STATUS_JS = """() => Array.from(document.querySelectorAll('.scmmonitor-status')).map(box => ({
  live: box.classList.contains('scmmonitor-live'),
  head: Array.from(box.querySelectorAll('thead th')).map(th => th.textContent.trim()),
  rows: Array.from(box.querySelectorAll('tbody tr')).map(tr =>
    Array.from(tr.cells).map(td => ({text: td.textContent.trim(), cls: td.className}))),
  errors: Array.from(box.querySelectorAll('.scmmonitor-error')).map(e => e.textContent),
  notes: Array.from(box.querySelectorAll('.scmmonitor-note')).map(e => e.textContent),
}))"""


def check_status(page: Any, expected: dict[str, Any]) -> list[dict[str, Any]]:
    """The status table was refilled from the JSON.

    ``expected``: ``nodes`` (all must have rows), ``failed`` (nodes whose JSON
    is missing: their build-time rows stay and an error note names them),
    ``words`` (status words that must appear, each with its CSS class),
    ``absent`` (series that must have no row: retired ones).
    """
    page.locator(".scmmonitor-status").first.scroll_into_view_if_needed()
    page.wait_for_function("() => Array.from(document.querySelectorAll('.scmmonitor-status'))"
                           ".every(b => b.classList.contains('scmmonitor-live'))")
    tables = page.evaluate(_STATUS_JS)
    problems = []
    for t in tables:
        if t["head"][:3] != ["Node", "Series", "Status"]:
            problems.append(f"status table head changed: {t['head']}")
        if not t["rows"]:
            problems.append("status table has no rows")
            continue
        nodes_seen = {r[0]["text"] for r in t["rows"] if r}
        for node in expected["nodes"]:
            if node not in nodes_seen:
                problems.append(f"status table: no row for node {node}")
        for node in expected["failed"]:
            if not any(node in e for e in t["errors"]):
                problems.append(f"status table: no error note for node {node}: {t['errors']}")
            if not any(r[0]["text"] == node and "build-time row" in r[3]["text"]
                       for r in t["rows"]):
                problems.append(f"status table: build-time rows of {node} were not kept")
        live = [r for r in t["rows"] if r[0]["text"] not in expected["failed"]]
        for r in live:
            if len(r) != 7:
                problems.append(f"status row with {len(r)} cells: {[c['text'] for c in r]}")
                continue
            status = r[2]
            word = status["text"].split()[-1]
            if f"scmmonitor-{word}" not in status["cls"].split():
                problems.append(f"status cell {status['text']!r} lacks class scmmonitor-{word}")
        for name in expected.get("absent", []):
            if any(len(r) > 1 and r[1]["text"] == name for r in live):
                problems.append(f"status table: series {name!r} has a row, it should not")
        words = {r[2]["text"].split()[-1] for r in live if len(r) > 2}
        for word in expected["words"]:
            if word not in words:
                problems.append(f"status word {word!r} not shown (seen {sorted(words)})")
        if any("build-time row" in r[3]["text"] for r in live):
            problems.append("build-time rows of a loaded node were kept")
    if problems:
        raise CheckFailed("\n".join(problems))
    return tables


# --------------------------------------------------------------------------
# The whole fixture site
# --------------------------------------------------------------------------

def check_site(folder: str | os.PathLike[str], expected: dict[str, Any],
               screenshots: str | os.PathLike[str] | None = None) -> list[str]:
    """Check every page of the fixture site; return the problems (empty = pass)."""
    from playwright.sync_api import sync_playwright

    shots = Path(screenshots) if screenshots else None
    if shots:
        shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    url, stop = serve(folder)
    try:
        with sync_playwright() as pw:
            browser = launch_browser(pw)
            try:
                for path, want in expected.items():
                    problems += _check_one(browser, url, path, want, shots)
                problems += _check_fallbacks(browser, url, expected.get("index.html"))
                problems += _check_file_url(browser, Path(folder))
            finally:
                browser.close()
    finally:
        stop()
    return problems


def _check_one(browser: Any, url: str, path: str, want: dict[str, Any],
               shots: Path | None) -> list[str]:
    problems: list[str] = []
    stem = path.replace("/", "_").removesuffix(".html")
    page, log = open_page(browser, url + path, want.get("allowed_404"))
    try:
        for step in (lambda: check_lazy(page, want.get("lazy", [])),
                     lambda: check_charts(page, want["charts"]),
                     lambda: want.get("status") and check_status(page, want["status"])):
            try:
                step()
            except CheckFailed as exc:
                problems += [f"{path}: {line}" for line in str(exc).splitlines()]
        for chart_id, w in want["charts"].items():
            if "tooltip" in w:
                problems += [f"{path}: {p}" for p in
                             check_tooltips(page, chart_id, w["tooltip"].get("flag"))]
        if shots:
            for chart_id in want["charts"]:
                loc = page.locator(f"#{chart_id}")
                loc.scroll_into_view_if_needed()
                loc.screenshot(path=str(shots / f"{stem}-{chart_id}.png"))
            if want.get("status"):
                page.locator(".scmmonitor-status").first.screenshot(
                    path=str(shots / f"{stem}-status.png"))
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shots / f"{stem}-full.png"), full_page=True)
        try:
            log.check()
        except CheckFailed as exc:
            problems += [f"{path}: {line}" for line in str(exc).splitlines()]
    finally:
        page.close()
    return problems


def _check_fallbacks(browser: Any, url: str, want: dict[str, Any] | None) -> list[str]:
    """Without IntersectionObserver and fetch(): every chart drawn at once, via XHR."""
    if not want:
        return []
    context = browser.new_context()
    context.add_init_script(
        "delete window.IntersectionObserver; window.fetch = undefined; window.__scmXhr = 0;"
        "const open = XMLHttpRequest.prototype.open;"
        "XMLHttpRequest.prototype.open = function () {"
        "  window.__scmXhr += 1; return open.apply(this, arguments); };")
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    log = PageLog(allowed_404=list(want.get("allowed_404", [])))
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.on("dialog", log.on_dialog)
    problems = []
    try:
        page.goto(url + "index.html", wait_until="load")
        drawn = [cid for cid, w in want["charts"].items() if "error" not in w]
        # no scrolling: without IntersectionObserver even the last chart is drawn
        page.wait_for_function(
            "(ids) => ids.every(id => document.querySelector('#' + id + ' .highcharts-series'))",
            arg=drawn)
        check_charts(page, want["charts"])
        if want.get("status"):
            check_status(page, want["status"])
        if page.evaluate("window.__scmXhr") < 2:
            problems.append("fallbacks: the data was not read with XMLHttpRequest")
        log.check()
    except Exception as exc:
        problems += [f"fallbacks (no IntersectionObserver, no fetch): {line}"
                     for line in str(exc).splitlines()[:10]]
    finally:
        context.close()
    return problems


def _check_file_url(browser: Any, folder: Path) -> list[str]:
    """Opened from file://, a chart must explain itself instead of staying blank."""
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
    try:
        page.goto((folder / "index.html").resolve().as_uri(), wait_until="load")
        page.wait_for_selector("#scmmonitor-chart-0 .scmmonitor-error")
        text = page.text_content("#scmmonitor-chart-0 .scmmonitor-error") or ""
        # the advice that applies there (serve it), not "run scm-monitor export"
        if "file://" not in text or "http.server" not in text or "scm-monitor export" in text:
            errors.append(f"file:// page: message does not explain: {text!r}")
        pictures = page.eval_on_selector_all(
            "#scmmonitor-chart-0 img.scmmonitor-picture",
            "els => els.map(e => getComputedStyle(e).display !== 'none' && e.naturalWidth > 0)")
        if pictures and not all(pictures):
            errors.append("file:// page: the picture was hidden or removed with the message")
    except Exception as exc:
        errors.append(f"file:// page: no error message ({exc})")
    finally:
        page.close()
    return [f"file:// {e}" for e in errors]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("screenshots", help="folder for the PNG screenshots")
    parser.add_argument("--site", help="write the fixture site here (default: a temp folder)")
    parser.add_argument("--highcharts", help="folder holding highstock.js (default: "
                        "node_modules/highcharts here, after `npm install`)")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_fixture import HIGHCHARTS, make_site

    with tempfile.TemporaryDirectory(prefix="scmmonitor-site-") as tmp:
        site = Path(args.site) if args.site else Path(tmp)
        expected = make_site(site, highcharts=args.highcharts or HIGHCHARTS)
        problems = check_site(site, expected, args.screenshots)
    if problems:
        print("FAILED:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    print(f"ok: {len(expected)} pages checked; screenshots in {args.screenshots}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

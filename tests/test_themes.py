"""One site built with each listed theme from PyPI, opened in Chromium in light and dark.

What a reader of each theme sees (docs/sphinx.rst, "Light and dark" and
"Content-Security-Policy"): our charts, pictures, tables and messages in the
page's own mode, live when the theme's toggle or the system setting changes,
light on themes that have no dark mode whatever the system says; WCAG AA
contrast (4.5:1 text, 3:1 lines) computed from the rendered styles; tables
that fit the theme's column; and, served with ``Content-Security-Policy:
default-src 'self'``, charts drawn with no violation caused by us. Screenshots
of every theme and mode go to test-output/themes/ with the measured contrast
table (contrast.md). A missing theme, npm or Chromium skips locally and fails
under ``CI=true``.
"""

from __future__ import annotations

import datetime
import functools
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sphinxcontrib_scmmonitor.sphinxext.colours import colours
from tests.helpers.sphinx_site import collect, make_backups, write_config
from tests.js.check_page import PageLog, wait_for_chart
from tests.sshd import require_tool

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "test-output" / "themes"
CSP = "default-src 'self'"

#: theme -> (module to import, where its mode lives: "body", "html" or None for none)
THEMES: dict[str, tuple[str, str | None]] = {
    "alabaster": ("alabaster", None),
    "furo": ("furo", "body"),
    "pydata_sphinx_theme": ("pydata_sphinx_theme", "html"),
    "sphinx_book_theme": ("sphinx_book_theme", "html"),
    "sphinx_rtd_theme": ("sphinx_rtd_theme", None),
}
#: localStorage that makes the theme's own toggle say dark (set before the page loads)
DARK_STORAGE = {"body": {"theme": "dark"}, "html": {"mode": "dark", "theme": "dark"}}
TEXT, LINE = 4.5, 3.0

CONF = """\
extensions = ["sphinxcontrib_scmmonitor"]
scmmonitor_config = "scmmonitor.toml"
project = "Backups"
exclude_patterns = ["_build"]
"""

INDEX = """\
Backups
=======

The hub's backups on C, with a failed collection as a flag.

.. scm-backup-chart:: C
   :series: repos/env tracs/env

.. scm-backup-status:: C H1

.. scm-backup-calendar:: C H1
   :days: 30

.. scm-backup-chart:: E
   :title: A node with nothing backed up yet
   :series: nothing/here

.. scm-backup-chart:: H1
   :title: A short chart
   :height: 300px
"""


class ThemeSite:
    """One source tree, one store; built once per theme into out/<theme>/."""

    def __init__(self, folder: Path, highstock: Path) -> None:
        self.src = folder / "src"
        self.src.mkdir()
        (self.src / "conf.py").write_text(CONF)
        (self.src / "index.rst").write_text(INDEX)
        roots = make_backups(folder / "nodes", days=90)
        roots["E"] = folder / "nodes" / "E"
        roots["E"].mkdir()
        database = folder / "scmmonitor.db"
        config = self.src / "scmmonitor.toml"
        write_config(config, {**roots, "C": folder / "unmounted"}, database)
        assert collect(config, "C") == 1  # a failed run of C: a flag on its chart
        write_config(config, roots, database)
        assert collect(config) == 0
        self.out = folder / "out"
        self.highcharts = highstock

    def build(self, theme: str) -> None:
        out = self.out / theme
        proc = subprocess.run(
            [sys.executable, "-m", "sphinx", "-q", "-b", "html", "-D", f"html_theme={theme}",
             "-D", f"scmmonitor_highcharts={self.highcharts}", "-d", str(out / ".doctrees"),
             str(self.src), str(out)], capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "scmmonitor" not in proc.stderr, proc.stderr


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files below the site; below /csp/ the same files with the strict policy."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def translate_path(self, path: str) -> str:
        self.csp = path.startswith("/csp/")
        return super().translate_path(path[4:] if self.csp else path)

    def end_headers(self) -> None:
        if getattr(self, "csp", False):
            self.send_header("Content-Security-Policy", CSP)
        super().end_headers()


def serve(folder: Path) -> tuple[str, Callable[[], None]]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_Handler, directory=str(folder)))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(5)

    return f"http://127.0.0.1:{server.server_address[1]}/", stop


@pytest.fixture(scope="module")
def themes() -> list[str]:
    missing = [name for name, (module, _) in THEMES.items()
               if importlib.util.find_spec(module) is None]
    require_tool(f"themes not installed: {', '.join(missing)} (pip install -e '.[test]')"
                 if missing else None)
    return list(THEMES)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, highcharts: Path,
         themes: list[str]) -> Iterator[tuple[ThemeSite, str]]:
    built = ThemeSite(tmp_path_factory.mktemp("themes"), highcharts)
    with ThreadPoolExecutor(2) as pool:  # two cores
        list(pool.map(built.build, themes))
    url, stop = serve(built.out)
    OUTPUT.mkdir(parents=True, exist_ok=True)
    yield built, url
    stop()


# --- measuring in the page -----------------------------------------------------------------------

_MEASURE_JS = r"""() => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  // any CSS colour as the browser resolves it -> [r, g, b, a]
  const rgba = (c) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = 'rgba(0, 0, 0, 0)';
    ctx.fillStyle = c || 'rgba(0, 0, 0, 0)';
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, below) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + below[i] * (1 - a)).concat([1]);
  };
  // what is painted behind an element: its and its ancestors' backgrounds, composited
  const behind = (node) => {
    const layers = [];
    for (let n = node; n && n.nodeType === 1; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((below, top) => over(top, below), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const [r, g, b] = c.slice(0, 3).map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4;
    });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  };
  const ratio = (fg, bg) => {
    const [a, b] = [lum(over(fg, bg)), lum(bg)].sort((x, y) => y - x);
    return Math.round(((a + 0.05) / (b + 0.05)) * 100) / 100;
  };
  const visible = (e) => e.getClientRects().length > 0
    && getComputedStyle(e).visibility !== 'hidden';
  const text = (sel) => {
    const els = Array.from(document.querySelectorAll(sel)).filter(visible);
    if (!els.length) return null;
    return Math.min(...els.map((e) => ratio(rgba(getComputedStyle(e).color), behind(e))));
  };
  // SVG marks against the chart's own background rectangle
  const svg = (sel, prop) => {
    const values = [];
    document.querySelectorAll('.scmmonitor-chart').forEach((box) => {
      const rect = box.querySelector('.highcharts-background');
      if (!rect) return;
      const bg = over(rgba(getComputedStyle(rect).fill), behind(box));
      box.querySelectorAll(sel).forEach((e) => {
        if (visible(e)) values.push(ratio(rgba(getComputedStyle(e)[prop]), bg));
      });
    });
    return values.length ? Math.min(...values) : null;
  };
  const chartBg = Array.from(document.querySelectorAll('.scmmonitor-chart .highcharts-background'))
    .map((r) => lum(rgba(getComputedStyle(r).fill)));
  const statusBox = document.querySelector('.scmmonitor-status');
  const table = statusBox && statusBox.querySelector('table');
  const labelGaps = [];
  const xLabels = '.scmmonitor-chart .highcharts-xaxis-labels:not(.highcharts-navigator-xaxis)';
  document.querySelectorAll(xLabels).forEach((g) => {
    const boxes = Array.from(g.querySelectorAll('text')).map((t) => t.getBoundingClientRect())
      .filter((r) => r.width > 0).sort((a, b) => a.left - b.left);
    for (let i = 1; i < boxes.length; i += 1) labelGaps.push(boxes[i].left - boxes[i - 1].right);
  });
  // where a cell's text goes to a new line other than at a space, after "/" or "-": a word
  // broken though the cell had room for it (overflow-wrap: anywhere broke "repos/d|ata")
  const midWord = [];
  document.querySelectorAll('.scmmonitor-status td.scmmonitor-col-node, '
    + '.scmmonitor-status td.scmmonitor-col-series, .scmmonitor-status td.scmmonitor-col-reason, '
    + '.scmmonitor-message code').forEach((cell) => {
    if (!visible(cell)) return;
    const chars = [];
    const walk = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let t = walk.nextNode(); t; t = walk.nextNode()) {
      for (let i = 0; i < t.length; i += 1) {
        const range = document.createRange();
        range.setStart(t, i);
        range.setEnd(t, i + 1);
        const r = range.getClientRects()[0];
        // a word longer than LONG_WORD (dom.js) may break anywhere, so a table still fits
        chars.push([t.data[i], r && !t.parentElement.closest('.scmmonitor-long') ? r.top : null]);
      }
    }
    const words = cell.textContent.split(/\s+/);
    for (let i = 1; i < chars.length; i += 1) {
      const [prev, top0] = chars[i - 1];
      const [ch, top1] = chars[i];
      if (top0 === null || top1 === null || top1 <= top0 + 2) continue;
      if (/\s/.test(prev) || /\s/.test(ch) || prev === '/' || prev === '-') continue;
      // allowed only for a word wider than its cell
      const word = words.find((w) => w.includes(prev + ch)) || '';
      const probe = document.createElement('span');
      probe.textContent = word;
      probe.style.whiteSpace = 'nowrap';
      cell.appendChild(probe);
      const wide = probe.getBoundingClientRect().width > cell.clientWidth;
      cell.removeChild(probe);
      if (!wide) midWord.push(cell.textContent.slice(0, 60));
    }
  });
  const cal = document.querySelector('.scmmonitor-calendar');
  const none = cal && cal.querySelector('.scmmonitor-calendar-legend .scmmonitor-night-none');
  const calendar = cal ? {
    heads: Array.from(cal.querySelectorAll('thead th[scope="col"]')).map((th) => [
      th.getAttribute('data-scm-day'), th.querySelector('[aria-hidden]').textContent,
      th.querySelector('.scmmonitor-night-words').textContent]),
    months: Array.from(cal.querySelectorAll('thead .scmmonitor-calendar-month'))
      .map((m) => m.textContent),
    rowDays: Array.from(cal.querySelectorAll('tbody tr.scmmonitor-calendar-row')).map((tr) =>
      Array.from(tr.querySelectorAll('td[data-scm-day]'))
        .map((td) => td.getAttribute('data-scm-day'))),
    // "no backup": its mark against what is behind the calendar, and not colour alone
    noneContrast: (() => {
      const probe = document.createElement('span');
      probe.style.color = 'var(--scmmonitor-night-none)';  // currentColor resolved there
      none.appendChild(probe);
      const c = ratio(rgba(getComputedStyle(probe).color), behind(cal));
      none.removeChild(probe);
      return c;
    })(),
    nonePattern: getComputedStyle(none).backgroundImage,
    dayText: text('.scmmonitor-calendar th.scmmonitor-calendar-day [aria-hidden]'),
  } : null;
  return {
    midWord,
    calendar,
    mode: document.documentElement.getAttribute('data-scm-mode'),
    pageDark: lum(behind(document.querySelector('.scmmonitor-chart').parentElement)) < 0.2,
    chartDark: chartBg.map((l) => l < 0.2),
    pictures: Array.from(document.querySelectorAll('img.scmmonitor-picture'))
      .map((i) => i.getAttribute('src').replace(/^.*#/, '#')),
    contrast: {
      'table text': text('.scmmonitor-status td.scmmonitor-col-node, '
        + '.scmmonitor-status td.scmmonitor-col-reason'),
      'table head': text('.scmmonitor-status th'),
      'status ok': text('.scmmonitor-status td.scmmonitor-ok .scmmonitor-word'),
      'status alarm': text('.scmmonitor-status td.scmmonitor-alarm .scmmonitor-word'),
      'status note': text('.scmmonitor-status-note'),
      'message': text('.scmmonitor-message'),
      'axis labels': svg('.highcharts-axis-labels text', 'fill'),
      'chart title': svg('.highcharts-title, .highcharts-subtitle', 'fill'),
      'legend': svg('.highcharts-legend-item text', 'fill'),
      'series lines': svg('.highcharts-line-series:not(.highcharts-navigator-series) '
        + '.highcharts-graph', 'stroke'),
      'axis line': svg('.highcharts-xaxis .highcharts-axis-line', 'stroke'),
    },
    tableFits: table ? table.getBoundingClientRect().width <= statusBox.clientWidth + 1 : null,
    statusShown: Array.from(document.querySelectorAll(
      '.scmmonitor-status td.scmmonitor-status-cell')).every(visible),
    minLabelGap: labelGaps.length ? Math.min(...labelGaps) : null,
  };
}"""

_VIOLATIONS_INIT = """window.__scmViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__scmViolations.push({
  directive: e.violatedDirective, blocked: e.blockedURI, source: e.sourceFile,
  line: e.lineNumber, sample: e.sample}));"""

LINES = ("series lines", "axis line")


def open_theme(browser: Any, url: str, scheme: str, storage: dict[str, str],
               width: int = 1280) -> tuple[Any, Any, PageLog]:
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  color_scheme=scheme)
    script = "".join(f"localStorage.setItem({json.dumps(k)}, {json.dumps(v)});"
                     for k, v in storage.items())
    context.add_init_script(f"try {{ localStorage.clear(); {script} }} catch (e) {{}}\n"
                            + _VIOLATIONS_INIT)
    page = context.new_page()
    page.set_default_timeout(15000)
    log = PageLog(allowed_404=["favicon.ico"])
    page.on("console", log.on_console)
    page.on("pageerror", log.on_page_error)
    page.goto(url, wait_until="load")
    page.wait_for_function("() => window.scmmonitor !== undefined")
    return context, page, log


def ours(log: PageLog) -> PageLog:
    """Only what concerns us: uncaught errors, failed loads, our scripts' messages (the
    themes log their own, e.g. pydata's "invalid theme mode" for a first-time visitor)."""
    log.errors = [e for e in log.errors if e.startswith("uncaught") or "Failed to load" in e
                  or "/_static/scmmonitor/" in e]
    return log


def draw_all(page: Any) -> None:
    for i in range(3):
        state = wait_for_chart(page, f"scmmonitor-chart-{i}")
        assert not state["errorMessage"], state
    page.wait_for_selector(".scmmonitor-status.scmmonitor-live")
    page.evaluate("window.scrollTo(0, 0)")


def measure(page: Any) -> dict[str, Any]:
    return page.evaluate(_MEASURE_JS)


def check_readable(where: str, state: dict[str, Any], mode: str) -> list[str]:
    problems = []
    if state["mode"] != mode:
        problems.append(f"{where}: data-scm-mode is {state['mode']!r}, want {mode!r}")
    if state["pageDark"] != (mode == "dark"):
        problems.append(f"{where}: the theme's page is not {mode} (test setup?)")
    if state["chartDark"] != [mode == "dark"] * len(state["chartDark"]) or not state["chartDark"]:
        problems.append(f"{where}: chart backgrounds dark={state['chartDark']}, page is {mode}")
    if set(state["pictures"]) != {f"#scm-{mode}"}:
        problems.append(f"{where}: pictures {state['pictures']}, want #scm-{mode}")
    for name, value in state["contrast"].items():
        need = LINE if name in LINES else TEXT
        if value is None:
            problems.append(f"{where}: nothing measured for {name}")
        elif value < need:
            problems.append(f"{where}: {name} contrast {value}:1 < {need}:1")
    if not state["tableFits"]:
        problems.append(f"{where}: the status table is wider than its column")
    if not state["statusShown"]:
        problems.append(f"{where}: a status cell is hidden")
    if state["midWord"]:
        problems.append(f"{where}: words broken mid-word: {state['midWord']}")
    problems += check_calendar(where, state["calendar"])
    if state["minLabelGap"] is not None and state["minLabelGap"] < 4:
        problems.append(f"{where}: x-axis labels {state['minLabelGap']:.1f} px apart")
    return problems


def check_calendar(where: str, cal: dict[str, Any] | None) -> list[str]:
    """A date over every column (the day of month, the date in words for screen readers, the
    month where it starts); "no backup" >= 3:1 against the page and more than a colour."""
    if cal is None:
        return [f"{where}: no calendar"]
    problems = []
    days = [d for d, _, _ in cal["heads"]]
    if not cal["rowDays"] or any(row != days for row in cal["rowDays"]):
        problems.append(f"{where}: calendar heads {days} do not name the rows' nights")
    for day, number, words in cal["heads"]:
        when = datetime.date.fromisoformat(day)
        if number != str(when.day) or words != f"{when.day} {when:%B} {when.year}":
            problems.append(f"{where}: calendar head of {day} says {number!r}, {words!r}")
    first = datetime.date.fromisoformat(days[0]) if days else None
    want = [f"{datetime.date.fromisoformat(d):%B %Y}" for i, d in enumerate(days)
            if i == 0 or d.endswith("-01")]
    if first is None or cal["months"] != want:
        problems.append(f"{where}: calendar months {cal['months']}, want {want}")
    if cal["noneContrast"] < LINE:
        problems.append(f"{where}: 'no backup' cell {cal['noneContrast']}:1 < {LINE}:1")
    if "gradient" not in cal["nonePattern"]:
        problems.append(f"{where}: 'no backup' is a colour only ({cal['nonePattern']})")
    if cal["dayText"] is None or cal["dayText"] < TEXT:
        problems.append(f"{where}: calendar day numbers contrast {cal['dayText']}")
    return problems


def write_table(theme: str, results: dict[str, dict[str, Any]]) -> None:
    (OUTPUT / f"{theme}.json").write_text(json.dumps(results, indent=1))
    rows = []
    for path in sorted(OUTPUT.glob("*.json")):
        for mode, state in json.loads(path.read_text()).items():
            rows.append([path.stem, mode, *(f"{v:.2f}" if v is not None else "-"
                                            for v in state["contrast"].values())])
    names = list(next(iter(results.values()))["contrast"])
    lines = ["| theme | mode | " + " | ".join(names) + " |",
             "|" + "---|" * (len(names) + 2)] + ["| " + " | ".join(r) + " |" for r in rows]
    (OUTPUT / "contrast.md").write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("theme", list(THEMES))
def test_each_theme_is_readable_in_light_and_dark(site: tuple[ThemeSite, str], browser: Any,
                                                  theme: str) -> None:
    _, url = site
    where_mode = THEMES[theme][1]
    problems: list[str] = []
    results = {}
    for scheme in ("light", "dark"):
        # the system's setting, and the theme's own toggle saying the same where it has one
        storage = DARK_STORAGE[where_mode] if scheme == "dark" and where_mode else {}
        mode = scheme if where_mode else "light"  # no dark mode: light whatever the OS says
        context, page, log = open_theme(browser, f"{url}{theme}/index.html", scheme, storage)
        try:
            draw_all(page)
            state = measure(page)
            results[f"{scheme} OS" + (" + toggle" if storage else "")] = state
            problems += check_readable(f"{theme}, {scheme} OS", state, mode)
            page.screenshot(path=str(OUTPUT / f"{theme}-{scheme}.png"), full_page=True)
            ours(log).check()
        finally:
            context.close()
    write_table(theme, results)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", ["furo", "pydata_sphinx_theme"])
def test_the_page_follows_the_theme_toggle_and_the_system_live(
        site: tuple[ThemeSite, str], browser: Any, theme: str) -> None:
    """No reload: the toggle rewrites the theme's attribute, "auto" follows the OS."""
    _, url = site
    element = "document.body" if THEMES[theme][1] == "body" else "document.documentElement"
    context, page, log = open_theme(browser, f"{url}{theme}/index.html", "light", {})
    try:
        draw_all(page)
        problems = check_readable(f"{theme} at first", measure(page), "light")
        # the theme's toggle: its attribute says dark, then light again
        for mode in ("dark", "light"):
            page.evaluate(f"(m) => {element}.setAttribute('data-theme', m)", mode)
            page.wait_for_function("(m) => document.documentElement.getAttribute("
                                   "'data-scm-mode') === m", arg=mode)
            if theme == "pydata_sphinx_theme":
                page.evaluate("(m) => document.documentElement.setAttribute('data-mode', m)", mode)
            page.wait_for_timeout(400)  # the themes' own colour transitions
            problems += check_readable(f"{theme} toggled {mode}", measure(page), mode)
        if theme == "furo":
            # furo's "auto" follows the system: the system turns dark while the page is open
            page.evaluate("document.body.setAttribute('data-theme', 'auto')")
            page.emulate_media(color_scheme="dark")
            page.wait_for_function("document.documentElement.getAttribute('data-scm-mode')"
                                   " === 'dark'")
            page.wait_for_timeout(400)
            problems += check_readable("furo auto, system turned dark", measure(page), "dark")
        ours(log).check()
    finally:
        context.close()
    assert not problems, "\n".join(problems)


def test_themes_without_dark_mode_stay_light_on_a_dark_system(
        site: tuple[ThemeSite, str], browser: Any) -> None:
    _, url = site
    for theme in ("alabaster", "sphinx_rtd_theme"):
        context, page, log = open_theme(browser, f"{url}{theme}/index.html", "dark", {})
        try:
            draw_all(page)
            state = measure(page)
            assert state["mode"] == "light" and not any(state["chartDark"]), (theme, state)
            assert set(state["pictures"]) == {"#scm-light"}, state["pictures"]
            ours(log).check()
        finally:
            context.close()


def test_narrow_columns_keep_the_status_and_fit(site: tuple[ThemeSite, str],
                                                browser: Any) -> None:
    _, url = site
    # alabaster at a phone's 390 px: a 330 px column the table overflowed by 43 px
    for theme, width in (("sphinx_rtd_theme", 420), ("furo", 420), ("alabaster", 390),
                         ("furo", 390)):
        context, page, _ = open_theme(browser, f"{url}{theme}/index.html", "light", {},
                                      width=width)
        try:
            page.wait_for_selector(".scmmonitor-status.scmmonitor-live")
            state = measure(page)
            assert state["tableFits"] and state["statusShown"], (theme, width, state)
            assert not state["midWord"], (theme, width, state["midWord"])
            # nothing of ours widens the page: the calendar scrolls inside its box
            assert page.evaluate("document.documentElement.scrollWidth") <= width, theme
            hidden = page.eval_on_selector_all(
                ".scmmonitor-status th", "els => els.filter(e => !e.getClientRects().length)"
                ".map(e => e.textContent.trim())")
            assert "Status" not in hidden and "Change" in hidden, (theme, hidden)
        finally:
            context.close()


_PRINT_JS = """() => {
  const root = getComputedStyle(document.documentElement);
  const swatch = (kind) => getComputedStyle(document.querySelector(
    `.scmmonitor-calendar-legend .scmmonitor-night-${kind}`)).backgroundColor;
  const cell = document.querySelector('.scmmonitor-status td.scmmonitor-col-reason');
  return { bg: root.getPropertyValue('--scm-bg').trim(),
           fg: root.getPropertyValue('--scm-fg').trim(),
           corrupt: swatch('corrupt'), empty: swatch('empty'), backup: swatch('backup'),
           cell: getComputedStyle(cell).backgroundColor, cellText: getComputedStyle(cell).color };
}"""


@pytest.mark.parametrize("theme", ["furo", "pydata_sphinx_theme"])
def test_a_printed_page_is_light_whatever_the_screen(site: tuple[ThemeSite, str], browser: Any,
                                                     theme: str) -> None:
    """Printed from a dark screen: paper is light, so are our table and calendar (a dark
    screen's white "corrupt" swatch on white paper said nothing)."""
    _, url = site
    context, page, _ = open_theme(browser, f"{url}{theme}/index.html", "dark",
                                  DARK_STORAGE[THEMES[theme][1] or "html"])
    try:
        draw_all(page)
        screen = page.evaluate(_PRINT_JS)
        assert screen["bg"] == colours("dark")["bg"], screen  # the test means something
        page.emulate_media(media="print")
        printed = page.evaluate(_PRINT_JS)
        light = colours("light")
        assert (printed["bg"], printed["fg"]) == (light["bg"], light["fg"]), printed
        assert printed["corrupt"] == "rgb(33, 33, 33)" and printed["empty"] == "rgb(106, 27, 154)"
        assert printed["cell"] == "rgb(255, 255, 255)" and printed["cellText"] == "rgb(31, 31, 31)"
        page.screenshot(path=str(OUTPUT / f"{theme}-dark-printed.png"), full_page=True)
        # the pictures: an <img>'s SVG does not see the print medium, the page script
        # switches them to light while the page prints (Chromium's print and PDF fire these)
        def fragments() -> set[str]:
            return set(page.eval_on_selector_all(
                ".scmmonitor-chart > img.scmmonitor-picture",
                "els => els.map(e => e.getAttribute('src').replace(/^.*#/, '#'))"))
        assert fragments() == {"#scm-dark"}
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert fragments() == {"#scm-light"}
        page.evaluate("window.dispatchEvent(new Event('afterprint'))")
        assert fragments() == {"#scm-dark"}
    finally:
        context.close()


_SHORT_CHART_JS = """() => {
  const box = document.getElementById('scmmonitor-chart-2');
  const chart = Highcharts.charts.find((c) => c && box.contains(c.renderTo));
  return { plot: chart.plotHeight,
           navigator: !!(chart.navigator && chart.navigator.navigatorEnabled),
           buttons: box.querySelectorAll('.highcharts-range-selector-buttons').length,
           summary: (document.querySelector('#scmmonitor-chart-0 .highcharts-a11y-proxy-container, '
             + '#scmmonitor-chart-0 [id^="highcharts-screen-reader-region-before"]')
             || {}).textContent || '' };
}"""


def test_a_300px_chart_keeps_a_usable_plot_and_the_summary_counts_lines(
        site: tuple[ThemeSite, str], browser: Any) -> None:
    _, url = site
    context, page, log = open_theme(browser, f"{url}alabaster/index.html", "light", {})
    try:
        draw_all(page)
        page.locator("#scmmonitor-chart-2").screenshot(path=str(OUTPUT / "short-chart.png"))
        state = page.evaluate(_SHORT_CHART_JS)
        assert state["plot"] >= 150 and not state["navigator"], state
        assert state["buttons"] == 1, state
        assert "Line chart with 2 data series" in state["summary"], state["summary"]
        assert "3 data series" not in state["summary"]
        ours(log).check()
    finally:
        context.close()


_PLOTS_JS = """() => Highcharts.charts.filter((c) => c).map((c) => ({
  id: c.renderTo.closest('[id^="scmmonitor-chart-"]').id, plot: c.plotHeight,
  navigator: !!(c.navigator && c.navigator.navigatorEnabled)}))"""


def test_on_a_phone_every_chart_keeps_a_usable_plot(site: tuple[ThemeSite, str],
                                                     browser: Any) -> None:
    # 390 px: the legend of five series wrapped into rows that left a 40 px plot
    _, url = site
    for theme in ("alabaster", "furo"):
        context, page, log = open_theme(browser, f"{url}{theme}/index.html", "light", {},
                                        width=390)
        try:
            draw_all(page)
            page.screenshot(path=str(OUTPUT / f"phone-{theme}.png"), full_page=True)
            plots = page.evaluate(_PLOTS_JS)
            assert plots and all(p["plot"] >= 150 for p in plots if p["navigator"]), \
                (theme, plots)
            # the short chart's title is not under its range buttons
            overlap = page.evaluate("""() => {
              const box = document.getElementById('scmmonitor-chart-2');
              const t = box.querySelector('.highcharts-title').getBoundingClientRect();
              const b = box.querySelector('.highcharts-range-selector-buttons')
                .getBoundingClientRect();
              return t.bottom > b.top && b.bottom > t.top && t.right > b.left && b.right > t.left;
            }""")
            assert not overlap, theme
            # a node with no backups: the message in words, not its picture beside it too
            empty = page.locator("#scmmonitor-chart-1")
            assert "No backups recorded" in empty.inner_text()
            assert not empty.locator("img").is_visible()
            ours(log).check()
        finally:
            context.close()


def test_a_strict_content_security_policy_draws_every_chart_without_our_violations(
        site: tuple[ThemeSite, str], browser: Any) -> None:
    """``default-src 'self'``: no inline script or style of ours; the charts are drawn in
    our colours (not the black boxes of a blocked ``<style>``). The themes' own inline
    scripts (furo's, pydata's, Sphinx's search box) are theirs: reported, not ours."""
    built, url = site
    problems = []
    for theme in THEMES:
        html = (built.out / theme / "index.html").read_text()
        for scheme in ("light", "dark"):
            context, page, log = open_theme(browser, f"{url}csp/{theme}/index.html", scheme, {})
            try:
                draw_all(page)
                state = measure(page)
                drawn = state["chartDark"]
                if not drawn or drawn != [state["mode"] == "dark"] * len(drawn):
                    problems.append(f"{theme} {scheme}: chart backgrounds {state['chartDark']} "
                                    f"on a {state['mode']} page")
                for v in page.evaluate("window.__scmViolations"):
                    line = (html.splitlines()[v["line"] - 1]
                            if v["source"].endswith("/index.html") and v["line"] else "")
                    inline = v["directive"].startswith(("script-src", "style-src"))
                    # a blocked resource is ours if it is one of our files; a data: image is
                    # a theme's (our stylesheets have none, checked below), even where our
                    # script's layout read made the browser fetch it
                    if ((inline and ("/_static/scmmonitor/" in v["source"] or "scmmonitor" in line))
                            or "/_static/scmmonitor/" in v["blocked"]):
                        problems.append(f"{theme} {scheme}: CSP violation of ours: {v}")
                # the console says "Refused to ..." for every violation, ours or the theme's
                log.errors = [e for e in log.errors if "Content Security Policy" not in e]
                ours(log).check()
            finally:
                context.close()
        for css in (built.out / theme / "_static" / "scmmonitor").rglob("*.css"):
            assert "data:" not in css.read_text(), css
        # nothing of ours in the HTML needs an exception: no style attribute, no inline script
        for marker in ('class="scmmonitor-', "scmmonitor-status"):
            for chunk in html.split(marker)[1:]:
                tag = chunk.split(">", 1)[0]
                assert "style=" not in tag, (theme, tag)
    assert not problems, "\n".join(problems)

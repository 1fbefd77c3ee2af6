// Wiring: finds the chart and status containers the directives wrote, draws
// each chart when it comes near the view, refills the status tables, and
// offers window.scmmonitor.redraw(). The only mutable state is `state` below.

import { EXPORT_HINT, LoadError } from "./data.js";
import { PICTURE, clear, el, appendParts, parseList } from "./dom.js";
import { FILE_HINT, absolute, inTurn, loadDocument, loadFailure } from "./loader.js";
import { RANGES, chartOptions } from "./options.js";
import { chooseSeries } from "./series.js";
import { fillTable } from "./status-table.js";
import { fillCalendar } from "./calendar.js";
import { MODE_ATTRIBUTE, THEME_ATTRIBUTE, luminance, pageMode, pictureSrc } from "./theme.js";

// Filled in by the Sphinx build from sphinxcontrib_scmmonitor.__version__
const VERSION = "@VERSION@";
const METRICS = ["size", "count"];
const SCALES = ["linear", "log", "percent"];
// as config.NODE_NAME_RE and the directives' HEIGHT_RE (tests/test_js_unit.py compares them)
export const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
export const HEIGHT = /^\d+(\.\d+)?(px|em|rem|vh|pt|cm|mm|in)?$/;
const MARGIN = 200;               // px around the viewport where lazy charts start loading

const state = {
  cache: new Map(),               // absolute URL -> Promise of the decoded document
  charts: new Map(),              // container -> Highcharts chart
  attempted: new Set(),           // chart containers drawn (or tried) once
  observer: null,                 // IntersectionObserver, where the browser has one
  frames: { turns: [], taken: false },
  mode: null,                     // "light" or "dark": the page's mode, as last applied
  fileNoted: false,               // the one file:// note of the page is shown
};

const oneOf = (value, allowed, fallback) => {
  const word = (value || "").trim().toLowerCase();
  return allowed.includes(word) ? word : fallback;
};

export function chartConfig(dataset) {
  let height = (dataset.scmHeight || "").trim();
  if (/^\d+(\.\d+)?$/.test(height)) {
    height += "px";
  }
  return {
    node: dataset.scmNode || "?",
    src: dataset.scmSrc || "",
    title: dataset.scmTitle || "",
    height: HEIGHT.test(height) ? height : "400px",
    series: parseList(dataset.scmSeries),
    metric: oneOf(dataset.scmMetric, METRICS, "size"),
    scale: oneOf(dataset.scmScale, SCALES, "linear"),
    range: oneOf(dataset.scmRange, RANGES, "1y"),
  };
}

function forget(container) {
  const old = state.charts.get(container);
  if (old) {
    state.charts.delete(container);
    try { old.destroy(); } catch (e) { /* already gone */ }
  }
}

function showMessage(container, parts, isError) {
  forget(container);
  clear(container);
  container.classList.remove("scmmonitor-drawn");   // the picture shows again, with the message
  container.style.minHeight = "";   // the reserved chart height would only leave a blank box
  const p = el("p", `scmmonitor-message${isError ? " scmmonitor-error" : ""}`);
  if (isError) {
    p.setAttribute("role", "alert");
  }
  container.appendChild(appendParts(p, parts));
}

function highstockScript() {
  const script = Array.from(document.getElementsByTagName("script"))
    .map((s) => s.getAttribute("src") || "")
    .find((src) => /highstock(\.src)?\.js(\?|#|$)/.test(src));
  return script || "_static/scmmonitor/highstock.js";
}

function highcharts() {
  const H = window.Highcharts;
  return H && typeof H.stockChart === "function" ? H : null;
}

function renderChart(container, cfg, doc) {
  const { chosen, missing } = chooseSeries(doc, cfg.series);
  if (!chosen.length && !doc.runs.some((r) => !r.ok)) {
    const parts = [`No backups recorded for node ${cfg.node} yet`];
    if (missing.length) {
      parts.push(` (not in the data: ${missing.join(", ")})`);
    }
    parts.push(". Run ", { code: "scm-monitor collect" }, " and ", { code: EXPORT_HINT }, ".");
    showMessage(container, parts, false);
    return;
  }
  forget(container);
  clear(container);
  const plot = el("div", "scmmonitor-plot");
  plot.style.height = cfg.height;   // CSSOM, which a strict style-src allows
  container.appendChild(plot);
  if (missing.length) {
    container.appendChild(el("p", "scmmonitor-note",
      `Not in the data of node ${cfg.node}: ${missing.join(", ")}`));
  }
  const box = plot.getBoundingClientRect();
  const sized = Object.assign({}, cfg, { pixels: box.height || null, plotWidth: box.width || null });
  try {
    state.charts.set(container, highcharts().stockChart(plot, chartOptions(sized, doc, chosen)));
  } catch (err) {
    container.removeChild(plot);
    throw err;
  }
  container.classList.add("scmmonitor-drawn");
}

async function drawChart(container) {
  const cfg = chartConfig(container.dataset);
  state.attempted.add(container);
  if (!highcharts()) {
    showMessage(container, ["Highcharts did not load (", { code: highstockScript() },
      " missing?): see the ", { code: "scmmonitor_highcharts" }, " setting in conf.py."], true);
    return;
  }
  if (!cfg.src) {
    showMessage(container, [`No data URL for node ${cfg.node} (data-scm-src is empty): rebuild the docs.`], true);
    return;
  }
  let doc;
  try {
    doc = await loadDocument(state.cache, cfg.src);
  } catch (err) {
    if (err && err.hint === FILE_HINT && container.querySelector(PICTURE)) {
      // from disk nothing is wrong with the data: the pictures stand, and one note per
      // page (not a red box per chart) says how to get the interactive charts
      if (!state.fileNoted) {
        state.fileNoted = true;
        showMessage(container, FILE_HINT, false);
      }
      return;
    }
    showMessage(container, loadFailure("the backup data", cfg.node, cfg.src, err), true);
    return;
  }
  await inTurn(state.frames, () => {
    try {
      renderChart(container, cfg, doc);
    } catch (err) {
      showMessage(container, [`Could not draw the backup chart for node ${cfg.node} from `,
        { code: absolute(cfg.src) }, `: ${err && err.message ? err.message : String(err)}.`], true);
    }
  });
}

async function fillStatus(box) {
  const nodes = parseList(box.getAttribute("data-scm-nodes"));
  const base = box.getAttribute("data-scm-base") || "";
  if (!box.querySelector("table") || !nodes.length) {
    return;
  }
  const answers = await Promise.all(nodes.map(async (node) => {
    if (!NODE_NAME.test(node)) {
      return { node, error: new LoadError("not a valid node name") };
    }
    const url = `${base}${encodeURIComponent(node)}.json`;
    try {
      return { node, url, doc: await loadDocument(state.cache, url) };
    } catch (error) {
      return { node, url, error };
    }
  }));
  if (fromDisk(answers)) {
    return;   // the build-time rows stand, as the pictures do (see drawChart)
  }
  fillTable(box, nodes, answers, (a) => (a.url ? loadFailure("the live status", a.node, a.url, a.error)
    : [`Node ${a.node}: ${a.error.message}.`]), EXPORT_HINT);
}

async function fillCalendarBox(box) {
  const nodes = parseList(box.getAttribute("data-scm-nodes"));
  const base = box.getAttribute("data-scm-base") || "";
  const days = Math.max(1, Math.min(3660, parseInt(box.getAttribute("data-scm-days"), 10) || 60));
  const answers = await Promise.all(nodes.filter((node) => NODE_NAME.test(node)).map(async (node) => {
    try {
      return { node, doc: await loadDocument(state.cache, `${base}${encodeURIComponent(node)}.json`) };
    } catch (error) {
      return { node, error };
    }
  }));
  if (fromDisk(answers)) {
    return;   // the build-time nights stand
  }
  fillCalendar(box, answers, days);
}

// Opened from file://, the browser refused every data file: not the data's fault, and the
// build-time content is what there is to show
const fromDisk = (answers) => answers.length > 0 &&
  answers.every((a) => a.error && a.error.hint === FILE_HINT);

// Never an uncaught error; the containers already say what went wrong where possible
const safely = (promise) => Promise.resolve(promise).catch((err) => console.warn("scmmonitor:", err));

function nearView(node) {
  const box = node.getBoundingClientRect();
  const height = window.innerHeight || document.documentElement.clientHeight;
  return box.bottom >= -MARGIN && box.top <= height + MARGIN;
}

function watch(container) {
  const cfg = chartConfig(container.dataset);
  container.style.minHeight = cfg.height;
  if (!state.observer) {
    safely(drawChart(container));
    return;
  }
  if (cfg.src && highcharts() && nearView(container)) {
    // in view from the start: fetch now, not after the observer's first report
    loadDocument(state.cache, cfg.src).catch(() => { /* drawChart reports it */ });
  }
  state.observer.observe(container);
}

// The page's mode now: the theme's attribute (body first: furo; then html: pydata,
// sphinx-book-theme) and, for "auto", the reader's system setting
function currentMode() {
  const dark = typeof window.matchMedia === "function" &&
    window.matchMedia("(prefers-color-scheme: dark)").matches;
  const read = (node) => (node ? node.getAttribute(THEME_ATTRIBUTE) : null);
  const background = (node) => (node ? window.getComputedStyle(node).backgroundColor : "");
  const body = background(document.body);
  return pageMode([read(document.body), read(document.documentElement)], dark,
    luminance(body) === null ? background(document.documentElement) : body);
}

// Our stylesheet reads data-scm-mode on <html>; each picture gets its #scm-<mode>
function applyMode() {
  const mode = currentMode();
  if (mode === state.mode) {
    return;
  }
  state.mode = mode;
  document.documentElement.setAttribute(MODE_ATTRIBUTE, mode);
  document.querySelectorAll(`.scmmonitor-chart > ${PICTURE}`).forEach((img) => {
    const src = pictureSrc(img.getAttribute("src"), mode);
    if (src && src !== img.getAttribute("src")) {
      img.setAttribute("src", src);
    }
  });
}

// Live: the theme's toggle rewrites its attribute; "auto" follows a change of the OS setting
function followMode() {
  applyMode();
  if ("MutationObserver" in window) {
    const observer = new MutationObserver(applyMode);
    const watched = { attributes: true, attributeFilter: [THEME_ATTRIBUTE] };
    observer.observe(document.documentElement, watched);
    if (document.body) {
      observer.observe(document.body, watched);
    }
  }
  if (typeof window.matchMedia === "function") {
    const query = window.matchMedia("(prefers-color-scheme: dark)");
    if (typeof query.addEventListener === "function") {
      query.addEventListener("change", applyMode);
    } else if (typeof query.addListener === "function") {
      query.addListener(applyMode);   // Safari before 14
    }
  }
}

function start() {
  followMode();
  if ("IntersectionObserver" in window) {
    state.observer = new IntersectionObserver((entries) => {
      entries.forEach((entry) => {
        if (entry.isIntersecting) {
          state.observer.unobserve(entry.target);
          safely(drawChart(entry.target));
        }
      });
    }, { rootMargin: `${MARGIN}px 0px` });
  }
  document.querySelectorAll(".scmmonitor-chart").forEach(watch);
  document.querySelectorAll(".scmmonitor-status").forEach((box) => safely(fillStatus(box)));
  document.querySelectorAll(".scmmonitor-calendar").forEach((box) => safely(fillCalendarBox(box)));
}

// Fetch the data again (fresh export) and redraw what is drawn; lazy charts stay lazy
function redraw() {
  state.cache.clear();
  const jobs = Array.from(state.attempted, (container) => safely(drawChart(container)));
  document.querySelectorAll(".scmmonitor-status").forEach((box) => jobs.push(safely(fillStatus(box))));
  document.querySelectorAll(".scmmonitor-calendar").forEach((box) => jobs.push(safely(fillCalendarBox(box))));
  return Promise.all(jobs);
}

// Only in a page (node --test imports this module for chartConfig and the patterns)
if (typeof window !== "undefined" && typeof document !== "undefined") {
  window.scmmonitor = { version: VERSION, redraw };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}

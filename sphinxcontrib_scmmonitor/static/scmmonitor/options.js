// The Highcharts Stock options of one chart: series, flags, axes, ticks and
// accessibility texts. Every string handed to Highcharts is escaped: its SVG
// text renderer parses a subset of HTML.

import {
  BYTE_UNITS, a11yText, esc, humanBytes, isNum, signedPercent, thousands, utcDate,
} from "./format.js";
import { points, seriesMark, totalPoints } from "./series.js";
import { stillServes, viewColumns } from "./downsample.js";

export const RANGES = ["1m", "3m", "6m", "1y", "all"];
// Below these plot heights (px) the navigator, then the range selector, leave the
// plot too little room: a 300px chart keeps its buttons, a 200px one is the plot alone
export const NAVIGATOR_MIN_HEIGHT = 380;
export const SELECTOR_MIN_HEIGHT = 240;

// How far back each range button reaches, at most (a month is 31 days): the first
// draw has every backup of it
const RANGE_DAYS = { "1m": 31, "3m": 92, "6m": 184, "1y": 366 };
const MS_A_DAY = 86400000;

const BUTTONS = [
  { type: "month", count: 1, text: "1m", title: "Show 1 month" },
  { type: "month", count: 3, text: "3m", title: "Show 3 months" },
  { type: "month", count: 6, text: "6m", title: "Show 6 months" },
  { type: "year", count: 1, text: "1y", title: "Show 1 year" },
  { type: "all", text: "All", title: "Show everything" },
];

// Ticks at round binary units on a linear byte axis: 0, 200 MB, 400 MB, ...
// (returns the ticks and the unit their labels use)
export function byteTicks(min, max, length) {
  const top = Math.max(Math.abs(min), Math.abs(max));
  let unit = 1;
  let index = 0;
  while (top / unit >= 1024 && index < BYTE_UNITS.length - 1) {
    unit *= 1024;
    index += 1;
  }
  let lo = min / unit;
  let hi = max / unit;
  if (hi - lo <= 0) {
    hi = lo + 1;
    lo = Math.max(0, lo - 1);
  }
  const target = Math.max(2, Math.round((length || 300) / 60));
  const raw = (hi - lo) / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const norm = raw / magnitude;
  let step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * magnitude;
  if (index === 0) {
    step = Math.max(1, Math.round(step));
  }
  const ticks = [];
  for (let k = Math.floor(lo / step); k <= Math.ceil(hi / step) && ticks.length < 50; k += 1) {
    ticks.push(Number((k * step).toPrecision(12)) * unit);
  }
  let decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
  if (step / 10 ** -decimals % 1 !== 0) {
    decimals += 1;   // 2.5, 0.25 ...
  }
  return { ticks, unit: { size: unit, name: BYTE_UNITS[index], decimals } };
}

// Ticks at powers of two on a logarithmic byte axis: 1 MB, 32 MB, 1 GB, ...
// (Highcharts hands log axes their min/max and ticks in log10 space.)
export function logByteTicks(min, max, length) {
  const l2 = Math.log10(2);
  const lo = min / l2;
  const hi = max / l2;
  const target = Math.max(2, Math.round((length || 300) / 50));
  const steps = [1, 2, 5, 10, 20, 30];
  const step = steps.find((s) => (hi - lo) / s <= target) || steps[steps.length - 1];
  const first = Math.floor(lo / step) * step;
  let last = Math.ceil(hi / step) * step;
  if (last === first) {
    last = first + step;
  }
  const ticks = [];
  for (let n = first; n <= last; n += step) {
    ticks.push(n * l2);
  }
  return ticks;
}

// Highcharts calls these with the axis as `this`
function byteTickPositioner(min, max) {
  if (!isNum(min) || !isNum(max)) {
    return undefined;
  }
  const { ticks, unit } = byteTicks(min, max, this.len);
  this.scmmonitorUnit = unit;
  return ticks;
}

function logTickPositioner(min, max) {
  if (!isNum(min) || !isNum(max)) {
    return undefined;
  }
  this.scmmonitorUnit = null;
  return logByteTicks(min, max, this.len);
}

function byteLabel() {
  const unit = this.axis.scmmonitorUnit;
  if (this.value === 0) {
    return "0";
  }
  if (unit) {
    return esc(`${(this.value / unit.size).toFixed(unit.decimals)} ${unit.name}`);
  }
  return esc(humanBytes(this.value, true));
}

function navigatorOptions(series, full, count, shown) {
  const lines = series.filter((s) => s.type === "line");
  if (!shown) {
    return { enabled: false };
  }
  if (!lines.length) {
    return { enabled: true };
  }
  const what = lines.length === 1 ? lines[0].custom.scmmonitorName
    : `${count ? "backups kept" : "backup size"}, total of ${lines.length} series`;
  return {
    enabled: true,
    series: {
      data: totalPoints(full),
      name: esc(what),
      custom: { scmmonitorA11y: a11yText(what) },
      dataGrouping: { enabled: false },
      turboThreshold: 0,
    },
  };
}

// columns: what the first draw shows of it (viewColumns); index: its place among the lines
function lineSeries(s, { count, percent, log }, columns, index) {
  const mark = seriesMark(s);
  const shownName = s.name + mark.suffix;
  return {
    type: "line",
    name: esc(shownName),
    dataTable: { columns },
    // ignored in styled mode, where the classes draw the dash (scmmonitor.css); kept
    // for an exported chart's non-styled copy
    dashStyle: mark.dashed ? (mark.status === "alarm" ? "Dash" : "ShortDash") : "Solid",
    lineWidth: mark.dashed ? 3 : 1.5,
    className: `scmmonitor-series-${mark.status}${mark.dashed ? " scmmonitor-dashed" : ""}`,
    custom: { scmmonitorA11y: a11yText(shownName), scmmonitorName: shownName,
      scmmonitorLine: index, scmmonitorBackups: s.x.length },
    showInNavigator: false,
    turboThreshold: 0,
    dataGrouping: { enabled: false },
    marker: { enabled: false, radius: 3 },
    tooltip: {
      pointFormatter() {
        let text = `${esc(shownName)}: <b>`;
        if (count) {
          text += `${esc(thousands(this.y) + (this.y === 1 ? " backup" : " backups"))}</b>`;
        } else {
          const bytes = `${esc(humanBytes(this.y))}</b> (${esc(thousands(this.y))} bytes)`;
          text += percent && isNum(this.change)
            ? `${esc(signedPercent(this.change, 1))}</b> \u00b7 <b>${bytes}` : bytes;
        }
        return `<span class="highcharts-color-${Number(this.colorIndex) || 0}">\u25cf</span> ${text}<br/>`;
      },
    },
  };
}

function flagSeries(failed) {
  return {
    type: "flags",
    name: esc("failed collection runs"),
    data: failed.map((r) => ({ x: r.at, title: "!", text: esc(r.error || "collection failed") })),
    shape: "squarepin",
    className: "scmmonitor-failed-runs",   // its colours: scmmonitor.css
    custom: { scmmonitorA11y: "failed collection runs" },
    y: -28,
    clip: false,        // a failed run at the right edge stays visible
    turboThreshold: 0,
    showInNavigator: false,
    tooltip: {
      pointFormatter() {
        return `<b>${esc("collection failed")}</b>: ${this.text}<br/>`;
      },
    },
    accessibility: {
      point: {
        descriptionFormatter(point) {
          const run = failed[point.index];
          return `collection failed ${utcDate(point.x)}: ` +
            a11yText(run && run.error ? run.error : "no detail");
        },
      },
    },
  };
}

// The nights a finding is about (reasons[].at), as flags on the chart: one per series,
// reason and backup time, its words in the tooltip
export function findingMarks(chosen) {
  const marks = [];
  chosen.forEach((s) => s.reasons.forEach((r) => (r.at || []).forEach((sec) => {
    marks.push({ x: sec * 1000, title: "\u25b2",
      text: esc(`${s.name}: ${r.reason}${r.detail ? `: ${r.detail}` : ""}`) });
  })));
  return marks.sort((a, b) => a.x - b.x);
}

function findingSeries(marks) {
  return {
    type: "flags",
    name: esc("findings"),
    data: marks,
    shape: "circlepin",
    color: "#7a4a00",
    fillColor: "#fff3e0",
    className: "scmmonitor-findings",
    custom: { scmmonitorA11y: "findings" },
    y: -48,
    clip: false,
    turboThreshold: 0,
    showInNavigator: false,
    tooltip: {
      pointFormatter() {
        return `${this.text}<br/>`;
      },
    },
  };
}

function subtitle(doc) {
  let text = `generated ${doc.generatedAt === null ? doc.generatedText : utcDate(doc.generatedAt)}` +
    ` \u00b7 status: ${doc.status}`;
  if (doc.reasons.length) {
    text += ` (${doc.reasons.map((r) => r.reason).join(", ")})`;
  }
  return text;
}

function yAxis({ count, percent, log }) {
  let title;
  let formatter;
  if (percent) {
    title = count ? "change of backup count" : "change of backup size";
    formatter = function percentLabel() { return esc(signedPercent(this.value, 0)); };
  } else if (count) {
    title = "backups kept";
    formatter = function countLabel() { return esc(thousands(this.value)); };
  } else {
    title = "backup size";
    formatter = byteLabel;
  }
  return {
    type: log ? "logarithmic" : "linear",
    opposite: false,
    allowDecimals: !count || percent,
    min: count && !percent && !log ? 0 : undefined,
    showLastLabel: true,
    title: { text: esc(title), useHTML: false },
    labels: { useHTML: false, formatter, align: "right", x: -6 },
    tickPositioner: (percent || count) ? undefined : (log ? logTickPositioner : byteTickPositioner),
  };
}

// "Line chart with 2 data series", not Highcharts' "3 data series" counting the flags
export function typeDescription(lines, failedRuns) {
  let text = `Line chart with ${lines} data series`;
  if (failedRuns) {
    text += `, and flags for ${failedRuns} failed collection run${failedRuns === 1 ? "" : "s"}`;
  }
  return `${text}.`;
}

function accessibility(cfg, { count, percent }, lines, failedRuns) {
  return {
    enabled: true,
    description: esc(`Backup ${count ? "counts" : "sizes"} of node ${cfg.node} over time`),
    typeDescription: esc(typeDescription(lines, failedRuns)),
    point: {
      // The defaults read the (HTML-escaped) series name; use the plain one
      descriptionFormatter(point) {
        const custom = point.series.options.custom;
        const value = count ? `${thousands(point.y)} backups`
          : humanBytes(point.y) + (percent && isNum(point.change)
            ? `, ${signedPercent(point.change, 1)}` : "");
        return `${utcDate(point.x)}, ${value}. ` +
          `${custom && custom.scmmonitorA11y ? custom.scmmonitorA11y : ""}.`;
      },
    },
    series: {
      descriptionFormatter(s) {
        const custom = s.options && s.options.custom;
        if (!custom || !custom.scmmonitorA11y) {
          return "";
        }
        // a line's backups, not the points drawn of them (docs/sphinx.rst, "Points drawn")
        const n = isNum(custom.scmmonitorBackups) ? custom.scmmonitorBackups
          : s.options.dataTable && s.options.dataTable.columns
            ? s.options.dataTable.columns.x.length : (s.options.data || []).length;
        const what = s.type === "flags" ? (n === 1 ? " failed run" : " failed runs")
          : ` ${count ? "points" : "backups"}`;
        return `${s.options.isInternal ? "overview: " : ""}${custom.scmmonitorA11y}, ${n}${what}.`;
      },
    },
  };
}

// The view a chart opens on: [min, max] ms of its range button, from the newest backup
export function firstView(chosen, range) {
  const last = Math.max(...chosen.map((s) => (s.x.length ? s.x[s.x.length - 1] : -Infinity)));
  const days = RANGE_DAYS[range];
  return { min: days && last > -Infinity ? last - days * MS_A_DAY : -Infinity, max: Infinity };
}

// Each line gets the points of the view in full (or min/max buckets of them) and,
// when the reader picks another range, those of that one (docs/sphinx.rst, "Points drawn")
function viewKeeper(full, pixels) {
  const drawn = [];
  const first = (line, view) => {
    drawn[line] = viewColumns(full[line], view.min, view.max, pixels);
    return drawn[line].columns;
  };
  let pending = false;
  function afterSetExtremes() {
    const axis = this;
    if (pending || !axis.chart) {
      return;
    }
    // not inside Highcharts' own redraw: the next frame
    pending = true;
    window.requestAnimationFrame(() => {
      pending = false;
      const chart = axis.chart;
      if (!chart || !chart.series || !isNum(axis.min) || !isNum(axis.max)) {
        return;   // destroyed meanwhile
      }
      const { min, max } = axis;
      let changed = false;
      chart.series.forEach((series) => {
        const custom = series.options && series.options.custom;
        const line = custom ? custom.scmmonitorLine : undefined;
        if (!isNum(line) || !full[line] || stillServes(drawn[line], min, max)) {
          return;
        }
        drawn[line] = viewColumns(full[line], min, max, axis.len || pixels);
        // [x, y] pairs: setData's documented form (given columns, a later redraw may
        // bring back the series' first ones)
        const { x, y } = drawn[line].columns;
        series.setData(x.map((t, i) => [t, y[i]]), false, false, false);
        changed = true;
      });
      if (changed) {
        chart.redraw(false);
      }
    });
  }
  return { first, afterSetExtremes };
}

// cfg: the container's settings (chartConfig); doc: the decoded document; chosen: its series
export function chartOptions(cfg, doc, chosen) {
  const how = { log: cfg.scale === "log", percent: cfg.scale === "percent", count: cfg.metric === "count" };
  const full = chosen.map((s) => points(s, how.count ? "count" : "size", how.log));
  const view = firstView(chosen, cfg.range);
  const keeper = viewKeeper(full, isNum(cfg.plotWidth) ? cfg.plotWidth : 900);
  const series = chosen.map((s, i) => lineSeries(s, how, keeper.first(i, view), i));
  const failed = doc.runs.filter((r) => !r.ok).sort((a, b) => a.at - b.at);
  if (failed.length) {
    series.push(flagSeries(failed));
  }
  const marks = findingMarks(chosen);
  if (marks.length) {
    series.push(findingSeries(marks));
  }
  const title = cfg.title || (doc.hub ? `${doc.hub} backups on ${cfg.node}` : `backups on ${cfg.node}`);
  // cfg.pixels: the plot's height as laid out (null: unknown, as tall as usual)
  const tall = (min) => !isNum(cfg.pixels) || cfg.pixels >= min;
  return {
    // styled mode: no inline <style> or colour attributes; scmmonitor.css colours it all
    chart: { height: null, spacingTop: 12, styledMode: true },
    time: { timezone: "UTC" },
    // a short chart: the title on the left, the range buttons on its right in one row
    title: tall(NAVIGATOR_MIN_HEIGHT) ? { text: esc(title), useHTML: false }
      : { text: esc(title), useHTML: false, align: "left", margin: 10 },
    // a short chart: the subtitle and all but one row of legend go (the legend pages)
    subtitle: { text: tall(NAVIGATOR_MIN_HEIGHT) ? esc(subtitle(doc)) : undefined, useHTML: false },
    credits: { enabled: false },
    legend: { enabled: true, useHTML: false,
      maxHeight: tall(NAVIGATOR_MIN_HEIGHT) ? undefined : 28, margin: tall(NAVIGATOR_MIN_HEIGHT) ? 12 : 4 },
    rangeSelector: {
      enabled: tall(SELECTOR_MIN_HEIGHT),
      buttons: BUTTONS.map((b) => Object.assign({}, b)),   // Highcharts may change what it is given
      selected: RANGES.indexOf(cfg.range),
      inputEnabled: false,
      floating: !tall(NAVIGATOR_MIN_HEIGHT),
      // floating: in the title's row, left of the menu button
      buttonPosition: tall(NAVIGATOR_MIN_HEIGHT) ? {} : { align: "right", x: -40 },
      verticalAlign: "top",
      y: tall(NAVIGATOR_MIN_HEIGHT) ? 0 : -30,
    },
    navigator: navigatorOptions(series, full, how.count, tall(NAVIGATOR_MIN_HEIGHT)),
    scrollbar: { enabled: tall(NAVIGATOR_MIN_HEIGHT) },
    tooltip: { useHTML: false, split: true, xDateFormat: "%Y-%m-%d %H:%M UTC" },
    xAxis: {
      type: "datetime",
      ordinal: false,     // a gap in the backups must show as a gap
      tickPixelInterval: 130,   // "Jan '26" labels keep a gap between them at ~900 px
      labels: { useHTML: false },
      events: { afterSetExtremes: keeper.afterSetExtremes },
    },
    yAxis: yAxis(how),
    plotOptions: {
      series: { compare: how.percent ? "percent" : undefined, dataLabels: { useHTML: false }, animation: false },
      flags: { useHTML: false },
    },
    exporting: {
      fallbackToExportServer: false,
      filename: `scmmonitor-${String(cfg.node).replace(/[^A-Za-z0-9_.-]/g, "_")}`,
      buttons: {
        contextButton: {
          menuItems: ["viewFullscreen", "printChart", "separator", "downloadPNG", "downloadSVG"],
        },
      },
    },
    accessibility: accessibility(cfg, how, chosen.length, failed.length),
    lang: { accessibility: { legend: { legendItem: "Show {item.options.custom.scmmonitorA11y}" } } },
    series,
  };
}

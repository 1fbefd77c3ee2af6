// Unit tests of static/scmmonitor/options.js: ticks and the chart's options
import assert from "node:assert/strict";
import { test } from "node:test";

import { byteTicks, chartOptions, logByteTicks, typeDescription } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/options.js";

test("byteTicks lands on round binary units", () => {
  const { ticks, unit } = byteTicks(0, 1000 * 2 ** 20, 300);
  assert.equal(unit.name, "MB");
  assert.deepEqual(ticks.map((t) => t / 2 ** 20), [0, 200, 400, 600, 800, 1000]);
});

test("logByteTicks steps in powers of two", () => {
  const ticks = logByteTicks(Math.log10(2 ** 20), Math.log10(2 ** 30), 300);
  assert.deepEqual(ticks.map((t) => Math.round(t / Math.log10(2))), [20, 22, 24, 26, 28, 30]);
});

const DOC = { hub: "cms02", generatedAt: Date.UTC(2026, 0, 1), generatedText: "", status: "warn",
  reasons: [{ reason: "unreachable" }],
  runs: [{ at: 5000, ok: false, error: "<script>x</script>" }, { at: 9000, ok: true, error: null }] };
const CFG = { node: "C", title: "", metric: "size", scale: "log", range: "6m", series: [] };
const SERIES = [{ name: "<b>n</b>", status: "alarm", retired: false, reasons: [{ reason: "stale" }],
  x: [1000, 2000], size: [0, 4], count: [1, 2] }];

test("chartOptions: escaped names, failed runs as flags, the range and scale asked for", () => {
  const o = chartOptions(CFG, DOC, SERIES);
  assert.equal(o.title.text, "cms02 backups on C");
  assert.match(o.subtitle.text, /^generated 2026-01-01 00:00 UTC \u00b7 status: warn \(unreachable\)$/);
  assert.equal(o.rangeSelector.selected, 2);
  assert.equal(o.yAxis.type, "logarithmic");
  const [line, flags] = o.series;
  assert.equal(line.name, "&lt;b&gt;n&lt;/b&gt; \u2716 stale");
  assert.equal(line.dashStyle, "Dash");
  assert.deepEqual(line.dataTable.columns, { x: [1000, 2000], y: [null, 4] });
  assert.deepEqual(flags.data, [{ x: 5000, title: "!", text: "&lt;script&gt;x&lt;/script&gt;" }]);
  assert.deepEqual(o.navigator.series.data, [[1000, 0], [2000, 4]]);
});

test("chartOptions: the nights a finding is about are flags with the finding in words", () => {
  const withAt = [{ ...SERIES[0], reasons: [{ reason: "not-copied", detail: "2026/11/29/031002 is on S, not on C",
    at: [3, 1] }] }];
  const o = chartOptions(CFG, DOC, withAt);
  const marks = o.series.find((s) => s.className === "scmmonitor-findings");
  assert.deepEqual(marks.data.map((m) => m.x), [1000, 3000]);
  assert.equal(marks.data[0].text, "&lt;b&gt;n&lt;/b&gt;: not-copied: 2026/11/29/031002 is on S, not on C");
  assert.equal(chartOptions(CFG, DOC, SERIES).series.some((s) => s.className === "scmmonitor-findings"), false);
});

test("chartOptions: styled mode (no inline style), classes for the marks", () => {
  const o = chartOptions(CFG, DOC, SERIES);
  assert.equal(o.chart.styledMode, true);
  assert.equal(o.chart.style, undefined);
  assert.match(o.series[0].className, /\bscmmonitor-series-alarm\b.*\bscmmonitor-dashed\b/);
  assert.equal(o.series[1].color, undefined);
  assert.equal(o.series[1].style, undefined);
  const tip = o.series[0].tooltip.pointFormatter.call({ y: 4, colorIndex: 3 });
  assert.doesNotMatch(tip, /style=/);
  assert.match(tip, /class="highcharts-color-3"/);
});

test("chartOptions: a short chart drops the navigator, then the range selector", () => {
  const at = (pixels) => chartOptions(Object.assign({}, CFG, { pixels }), DOC, SERIES);
  assert.equal(at(null).navigator.enabled, true);
  assert.equal(at(400).navigator.enabled, true);
  assert.deepEqual([at(300).navigator.enabled, at(300).scrollbar.enabled,
    at(300).rangeSelector.enabled], [false, false, true]);
  assert.deepEqual([at(200).navigator.enabled, at(200).rangeSelector.enabled], [false, false]);
});

test("the accessibility summary counts the data series, not the flags", () => {
  const o = chartOptions(CFG, DOC, SERIES.concat([Object.assign({}, SERIES[0], { name: "b" })]));
  assert.equal(o.series.length, 3);
  assert.equal(o.accessibility.typeDescription,
    "Line chart with 2 data series, and flags for 1 failed collection run.");
  assert.equal(typeDescription(1, 0), "Line chart with 1 data series.");
});

test("a long history: the first draw has every backup of its range, the navigator every backup", () => {
  const DAY = 86400000;
  const n = 3650;
  const x = Array.from({ length: n }, (_, i) => Date.UTC(2016, 0, 1) + i * DAY);
  const size = x.map((_, i) => 1e9 + i * 1e6);
  size[100] = 0;   // a truncated backup, nine years before the range in view
  const long = [{ name: "a", status: "ok", retired: false, reasons: [], x, size, count: size.map(() => 30) },
    { name: "b", status: "ok", retired: false, reasons: [], x, size: size.map((v) => v * 2), count: size.map(() => 30) }];
  const o = chartOptions({ ...CFG, scale: "linear", range: "1y", plotWidth: 900 }, DOC, long);
  const lines = o.series.filter((s) => s.type === "line");
  const { x: drawn, y } = lines[0].dataTable.columns;
  assert.ok(drawn.length < n / 4, `${drawn.length} points drawn`);
  const yearStart = x[n - 1] - 366 * DAY;
  assert.deepEqual(drawn.filter((t) => t >= yearStart), x.filter((t) => t >= yearStart));
  assert.equal(y[drawn.indexOf(x[100])], 0, "the drop is drawn");
  assert.equal(lines[0].custom.scmmonitorBackups, n);
  // the navigator's total sums every backup of both series, to the last one
  const total = o.navigator.series.data;
  assert.deepEqual(total[total.length - 1], [x[n - 1], size[n - 1] * 3]);
  assert.equal(typeof o.xAxis.events.afterSetExtremes, "function");
  // "all": about the plot's width of points, the drop still among them
  const all = chartOptions({ ...CFG, scale: "linear", range: "all", plotWidth: 900 }, DOC, long);
  const allLine = all.series.find((s) => s.type === "line").dataTable.columns;
  assert.ok(allLine.x.length <= 902, `${allLine.x.length} points`);
  assert.equal(allLine.y[allLine.x.indexOf(x[100])], 0);
});

// Unit tests of static/scmmonitor/series.js: choosing, points, marks, the navigator's total
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  chooseSeries, newest, points, seriesMark, totalPoints,
} from "../../sphinxcontrib_scmmonitor/static/scmmonitor/series.js";

const S = (name, extra = {}) => ({ name, status: "ok", retired: false, reasons: [],
  x: [1000, 2000, 3000], size: [0, 5, 7], count: [1, 2, 2], ...extra });

test("chooseSeries keeps the asked order and names what is missing", () => {
  const doc = { series: [S("a"), S("b"), S("c")] };
  assert.deepEqual(chooseSeries(doc, []).chosen.map((s) => s.name), ["a", "b", "c"]);
  const { chosen, missing } = chooseSeries(doc, ["c", "gone", "a"]);
  assert.deepEqual(chosen.map((s) => s.name), ["c", "a"]);
  assert.deepEqual(missing, ["gone"]);
});

test("points: the metric's column; on a log axis zero is a gap", () => {
  assert.deepEqual(points(S("a"), "size", false), { x: [1000, 2000, 3000], y: [0, 5, 7] });
  assert.deepEqual(points(S("a"), "size", true).y, [null, 5, 7]);
  assert.deepEqual(points(S("a"), "count", false).y, [1, 2, 2]);
});

test("seriesMark: retired, ok, and dashed with the reasons", () => {
  assert.deepEqual(seriesMark(S("a", { retired: true, status: "alarm" })),
    { status: "retired", suffix: " (retired)", dashed: false });
  assert.equal(seriesMark(S("a")).dashed, false);
  const mark = seriesMark(S("a", { status: "warn", reasons: [{ reason: "shrunk" }, { reason: "gap" }] }));
  assert.deepEqual(mark, { status: "warn", suffix: " \u26a0 shrunk, gap", dashed: true });
});

test("newest: the last backup, its size and the size before", () => {
  assert.deepEqual(newest(S("a")), { at: 3000, size: 7, previous: 5 });
  assert.deepEqual(newest(S("a", { x: [], size: [], count: [] })), { at: null, size: null, previous: null });
});

test("totalPoints sums every series' latest value, from the first backup to the last", () => {
  const day = 86400000;
  const total = totalPoints([{ x: [0, day], y: [10, 20] }, { x: [day / 2, 3 * day], y: [1, null] }]);
  assert.deepEqual(total, [[0, 10], [day / 2, 11], [day, 21], [3 * day, 21]]);
  assert.deepEqual(totalPoints([{ x: [], y: [] }]), []);
});

// Unit tests of static/scmmonitor/data.js: format 2 decoded, anything else explained
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  FORMAT, LoadError, decodeDocument, parseDocument, runningSum,
} from "../../sphinxcontrib_scmmonitor/static/scmmonitor/data.js";

const DOC = {
  format: 2, node: "C", hub: "cms02", source: "S",
  generated_at: "2026-12-01T12:00:00Z", observed_at: "2026-12-01T11:58:02Z", status: "alarm",
  reasons: [{ reason: "unreachable", level: "warn", detail: "timed out after 10 s", at: [] }],
  series: [{
    name: "tracs/env", status: "alarm", retired: false,
    reasons: [{ reason: "not-copied", level: "alarm", detail: "2026/11/29/031002", at: [1764385802] }],
    t: [1352794202, 86400, 86399], size: [12345678, 2210, -340], count: [31, 0, 1],
  }],
  runs: [{ at: 1764385802, ok: false, error: "timed out after 10 s" }],
};

test("runningSum decodes delta columns and refuses non-integers", () => {
  assert.deepEqual(runningSum([5, 1, -2, 0]), [5, 6, 4, 4]);
  assert.deepEqual(runningSum([]), []);
  assert.equal(runningSum([1, 0.5]), null);
  assert.equal(runningSum("1,2"), null);
});

test("a format-2 document decodes to milliseconds and absolute values", () => {
  const doc = decodeDocument(DOC);
  assert.equal(FORMAT, 2);
  assert.equal(doc.source, "S");
  assert.equal(doc.observedAt, Date.UTC(2026, 11, 1, 11, 58, 2));
  const [s] = doc.series;
  assert.deepEqual(s.x, [1352794202000, 1352880602000, 1352967001000]);
  assert.deepEqual(s.size, [12345678, 12347888, 12347548]);
  assert.deepEqual(s.count, [31, 31, 32]);
  assert.deepEqual(s.reasons[0], DOC.series[0].reasons[0]);
  assert.deepEqual(doc.reasons[0].level, "warn");  // the level comes from the data
  assert.deepEqual(doc.runs, [{ at: 1764385802000, ok: false, error: "timed out after 10 s" }]);
});

test("points out of order are sorted, the last of equal times kept", () => {
  const doc = decodeDocument({ ...DOC, series: [{ name: "x", status: "ok", reasons: [],
    t: [300, -200, 100, 0], size: [3, -2, 1, 5], count: [1, 0, 0, 0] }] });
  assert.deepEqual(doc.series[0].x, [100000, 200000, 300000]);
  assert.deepEqual(doc.series[0].size, [1, 7, 3]);
});

test("format 1, no format or a newer one: a LoadError naming the command or a rebuild", () => {
  for (const format of [1, undefined, "2"]) {
    assert.throws(() => decodeDocument({ ...DOC, format }), (err) => err instanceof LoadError &&
      /unsupported data format/.test(err.message) &&
      JSON.stringify(err.hint).includes('{"code":"scm-monitor export --outdir <html dir>"}'));
  }
  assert.throws(() => decodeDocument({ ...DOC, format: 3 }), (err) => /newer scm-monitor/.test(err.hint));
  assert.throws(() => parseDocument("{"), /not valid JSON/);
  assert.throws(() => parseDocument("[]"), /JSON object/);
  assert.throws(() => decodeDocument({ ...DOC, series: [{ name: "x", t: [1], size: [], count: [] }] }),
    /"t", "size" and "count"/);
});

test("hostile strings stay strings; unknown levels become unknown", () => {
  const doc = decodeDocument({ ...DOC, status: "<b>", series: [{ ...DOC.series[0], name: "<img src=x>",
    reasons: [{ reason: "x", level: "fatal", detail: "<script>", at: ["1", 2] }] }] });
  assert.equal(doc.status, "unknown");
  assert.equal(doc.series[0].name, "<img src=x>");
  assert.deepEqual(doc.series[0].reasons[0], { reason: "x", level: "unknown", detail: "<script>", at: [2] });
});

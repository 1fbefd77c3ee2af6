// Unit tests of static/scmmonitor/format.js (run by tests/test_js_unit.py: node --test)
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  DASH, a11yText, esc, humanAge, humanBytes, percentChange, signedPercent, thousands, utcDate,
} from "../../sphinxcontrib_scmmonitor/static/scmmonitor/format.js";

test("humanBytes: 1024-based units, one decimal, a real minus sign", () => {
  assert.equal(humanBytes(0), "0 B");
  assert.equal(humanBytes(1023), "1023 B");
  assert.equal(humanBytes(1024), "1.0 KB");
  assert.equal(humanBytes(1.5 * 2 ** 30), "1.5 GB");
  assert.equal(humanBytes(-2 * 2 ** 20), "\u22122.0 MB");
  assert.equal(humanBytes(2 * 2 ** 20, true), "2 MB");
  assert.equal(humanBytes(null), DASH);
  assert.equal(humanBytes(NaN), DASH);
});

test("humanAge: s, min, h, d at 90 s, 90 min, 48 h", () => {
  assert.deepEqual([-5, 89, 90, 5399, 5400, 48 * 3600 - 1, 48 * 3600].map(humanAge),
    ["0 s", "89 s", "2 min", "90 min", "2 h", "48 h", "2 d"]);
});

test("percentChange and signedPercent", () => {
  assert.equal(percentChange(110, 100), "+10 %");
  assert.equal(percentChange(45, 100), "\u221255 %");
  assert.equal(percentChange(1021, 1000), "+2.1 %");
  assert.equal(percentChange(100, 100), "\u00b10 %");
  assert.equal(percentChange(100, 0), DASH);
  assert.equal(signedPercent(-0.04, 1), "0 %");
  assert.equal(signedPercent(12.345, 1), "+12.3 %");
});

test("utcDate and thousands", () => {
  assert.equal(utcDate(Date.UTC(2026, 10, 28, 12, 5, 9)), "2026-11-28 12:05 UTC");
  assert.equal(utcDate(Date.UTC(2026, 0, 2, 3, 4, 5), true), "2026-01-02 03:04:05 UTC");
  assert.equal(utcDate(undefined), DASH);
  assert.equal(thousands(12345678.4), "12,345,678");
});

test("esc and a11yText leave no markup", () => {
  assert.equal(esc("<img src=x onerror='a'>&\""), "&lt;img src=x onerror=&#39;a&#39;&gt;&amp;&quot;");
  assert.equal(a11yText("<b>x</b>"), "\u2039b\u203ax\u2039/b\u203a");
});

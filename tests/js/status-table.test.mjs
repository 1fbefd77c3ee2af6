// Unit tests of static/scmmonitor/status-table.js's pure part: the rows and the note
import assert from "node:assert/strict";
import { test } from "node:test";

import { exportNote, nodeRows } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/status-table.js";

const NOW = Date.UTC(2026, 11, 1, 12);
const DOC = {
  status: "alarm",
  reasons: [{ reason: "unreachable", level: "warn", detail: "timed out", at: [] }],
  series: [
    { name: "repos/env", status: "warn", retired: false,
      reasons: [{ reason: "shrunk", level: "warn", detail: "-55 %", at: [] }],
      x: [NOW - 86400000 - 3600000, NOW - 3600000], size: [1000, 450], count: [1, 2] },
    { name: "svn/old", status: "ok", retired: true, reasons: [], x: [0], size: [1], count: [1] },
  ],
};

test("nodeRows: node reasons at their own level, series rows, retired series left out", () => {
  const rows = nodeRows("C", DOC, NOW);
  assert.equal(rows.length, 2);
  assert.deepEqual(rows[0], { status: "warn", cells: ["C", "\u2014", "warn", "unreachable: timed out",
    "\u2014", "\u2014", "\u2014"] });
  const [node, name, status, reason, age, size, change] = rows[1].cells;
  assert.deepEqual([node, name, status, reason], ["C", "repos/env", "warn", "shrunk: -55 %"]);
  assert.deepEqual(age, { text: "60 min", title: "2026-12-01 11:00 UTC" });
  assert.deepEqual(size, { text: "450 B", title: "450 bytes" });
  assert.equal(change, "\u221255 %");
});

test("nodeRows: a node without series still has a row", () => {
  const rows = nodeRows("Z", { status: "alarm", reasons: [], series: [] }, NOW);
  assert.deepEqual(rows, [{ status: "alarm", cells: ["Z", "\u2014", "alarm", "no backup series found",
    "\u2014", "\u2014", "\u2014"] }]);
});

test("exportNote says how old the data is and when that is too old", () => {
  assert.deepEqual(exportNote([{ node: "C", at: NOW - 180000 }], NOW),
    { old: false, text: "Live status, exported 3 min ago (2026-12-01 11:57 UTC)." });
  const old = exportNote([{ node: "C", at: NOW }, { node: "H1", at: NOW - 3 * 86400000 }], NOW);
  assert.equal(old.old, true);
  assert.match(old.text, /^Live status, exported C 0 s ago .*; H1 3 d ago .*That is old: is $/);
});

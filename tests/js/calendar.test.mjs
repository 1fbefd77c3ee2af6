// Unit tests of static/scmmonitor/calendar.js's pure part: local nights and their kinds
import assert from "node:assert/strict";
import { test } from "node:test";

import { calendarRows, lastDays, localDay } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/calendar.js";

const H = 3600000;

test("localDay: the node's local date, not the browser's or UTC", () => {
  // 2026-10-24 23:30 UTC is already the 25th in Berlin (UTC+2 until that night)
  assert.equal(localDay(Date.UTC(2026, 9, 24, 23, 30), "Europe/Berlin"), "2026-10-25");
  assert.equal(localDay(Date.UTC(2026, 9, 24, 23, 30), "UTC"), "2026-10-24");
  assert.equal(localDay(Date.UTC(2026, 9, 24, 23, 30), "Not/AZone"), "2026-10-24");
});

test("lastDays: calendar dates across month ends and clock changes, oldest first", () => {
  assert.deepEqual(lastDays("2026-03-01", 3), ["2026-02-27", "2026-02-28", "2026-03-01"]);
  assert.deepEqual(lastDays("2026-10-26", 2), ["2026-10-25", "2026-10-26"]);
  assert.equal(lastDays("2026-12-01", 60).length, 60);
});

const night = (d) => Date.UTC(2026, 10, d, 2, 10);
const DOC = {
  node: "C", timezone: "Europe/Berlin", observedAt: night(5) + 5 * H, generatedAt: night(5) + 6 * H,
  series: [
    { name: "repos/env", retired: false, x: [night(1), night(2), night(4), night(5)],
      reasons: [{ reason: "not-copied", at: [night(3) / 1000] },
        { reason: "shrunk", at: [night(5) / 1000] }, { reason: "empty", at: [night(5) / 1000] },
        { reason: "gap", at: [night(2) / 1000, night(4) / 1000] }] },
    { name: "old", retired: true, x: [], reasons: [] },
  ],
};

test("calendarRows: one row per judged series, the worst kind of each night, in words", () => {
  const rows = calendarRows(DOC, 5);
  assert.equal(rows.length, 1);
  assert.deepEqual(rows[0].nights.map((n) => [n.day, n.kind]), [
    ["2026-11-01", "backup"], ["2026-11-02", "backup"], ["2026-11-03", "copy"],
    ["2026-11-04", "backup"], ["2026-11-05", "empty"]]);
  assert.equal(rows[0].nights[2].words, "2026-11-03: differs from the source or not copied");
});

test("calendarRows: tonight not written yet, the calendar ends with last night", () => {
  const rows = calendarRows({ ...DOC, observedAt: night(6) - H }, 2);
  assert.deepEqual(rows[0].nights.map((n) => n.day), ["2026-11-04", "2026-11-05"]);
});

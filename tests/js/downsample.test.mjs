// Unit tests of static/scmmonitor/downsample.js: the points a chart draws for a view
import assert from "node:assert/strict";
import { test } from "node:test";

import {
  lowerBound, minMaxBuckets, rangeIndexes, stillServes, viewColumns,
} from "../../sphinxcontrib_scmmonitor/static/scmmonitor/downsample.js";

const DAY = 86400000;

// ten years of nightly backups growing slowly, with a seeded wobble
function nightly(days, seed = 1) {
  let state = seed;
  const rand = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const x = [];
  const y = [];
  for (let i = 0; i < days; i += 1) {
    x.push(1e12 + i * DAY);
    y.push(1e9 + i * 1e5 + Math.round(rand() * 1e7));
  }
  return { x, y };
}

function assertRealPoints(input, out) {
  const at = new Map(input.x.map((t, i) => [t, input.y[i]]));
  out.x.forEach((t, i) => {
    assert.ok(at.has(t), `invented time ${t}`);
    assert.equal(out.y[i], at.get(t), `invented value at ${t}`);
    if (i) {
      assert.ok(t > out.x[i - 1], "not strictly ascending");
    }
  });
}

test("lowerBound and rangeIndexes: a binary search, one neighbour either side", () => {
  const x = [10, 20, 30, 40, 50];
  assert.equal(lowerBound(x, 5), 0);
  assert.equal(lowerBound(x, 30), 2);
  assert.equal(lowerBound(x, 31), 3);
  assert.equal(lowerBound(x, 99), 5);
  assert.deepEqual(rangeIndexes(x, 25, 40), [1, 5]);
  assert.deepEqual(rangeIndexes(x, 0, 100), [0, 5]);
  assert.deepEqual(rangeIndexes(x, 30, 30), [1, 4]);
});

test("few points: all of them, whatever the view", () => {
  const input = nightly(300);
  const drawn = viewColumns(input, input.x[100], input.x[120], 900);
  assert.deepEqual(drawn.columns, input);
  assert.equal(drawn.whole, true);
  assert.ok(stillServes(drawn, input.x[0], input.x[299]));
});

test("a year in view of ten years: every backup of the year, the rest bucketed", () => {
  const input = nightly(3650);
  const min = input.x[3650 - 366];
  const max = input.x[3649];
  const drawn = viewColumns(input, min, max, 900);
  assertRealPoints(input, drawn.columns);
  assert.equal(drawn.whole, true);
  const inView = drawn.columns.x.filter((t) => t >= min && t <= max);
  assert.equal(inView.length, 366);
  assert.ok(drawn.columns.x.length < 366 + 900 / 4 + 4, drawn.columns.x.length);
  // where the data begins and ends stays exact (the axis' extremes, "All")
  assert.equal(drawn.columns.x[0], input.x[0]);
  assert.equal(drawn.columns.x.at(-1), input.x[3649]);
});

test("everything in view: about the plot's width of points, the lowest and highest kept", () => {
  const input = nightly(3650, 7);
  const drawn = viewColumns(input, input.x[0], input.x[3649], 900);
  assertRealPoints(input, drawn.columns);
  assert.equal(drawn.whole, false);
  assert.ok(drawn.columns.x.length <= 900 + 2, drawn.columns.x.length);
  assert.ok(drawn.columns.x.length >= 450, drawn.columns.x.length);
  assert.equal(Math.min(...drawn.columns.y), Math.min(...input.y));
  assert.equal(Math.max(...drawn.columns.y), Math.max(...input.y));
});

test("a truncated backup and a spike survive any width, in view or out of it", () => {
  for (const where of [5, 1234, 3000, 3648]) {
    const input = nightly(3650, where);
    input.y[where] = 0;              // a truncated backup
    input.y[where + 1] = 5e12;       // and a huge one the night after
    for (const pixels of [50, 300, 900, 2000]) {
      for (const [a, b] of [[0, 3649], [3284, 3649], [0, 100], [2000, 2100]]) {
        const drawn = viewColumns(input, input.x[a], input.x[b], pixels);
        assertRealPoints(input, drawn.columns);
        const y = new Map(drawn.columns.x.map((t, i) => [t, drawn.columns.y[i]]));
        assert.equal(y.get(input.x[where]), 0, `drop at ${where}, ${pixels} px, [${a}, ${b}]`);
        assert.equal(y.get(input.x[where + 1]), 5e12, `spike at ${where + 1}, ${pixels} px`);
      }
    }
  }
});

test("a gap (null: zero on a log axis) stays a gap", () => {
  const input = nightly(3650, 3);
  input.y[2000] = null;
  const drawn = viewColumns(input, input.x[0], input.x[3649], 300);
  const i = drawn.columns.x.indexOf(input.x[2000]);
  assert.ok(i > 0, "the gap's point is kept");
  assert.equal(drawn.columns.y[i], null);
});

test("minMaxBuckets keeps the first and last point and at most two a bucket", () => {
  const input = nightly(1000, 11);
  const out = minMaxBuckets(input, 0, 1000, 50);
  assertRealPoints(input, out);
  assert.equal(out.x[0], input.x[0]);
  assert.equal(out.x.at(-1), input.x[999]);
  assert.ok(out.x.length <= 2 * 51 + 2, out.x.length);
  assert.deepEqual(minMaxBuckets(input, 10, 20, 50), { x: input.x.slice(10, 20), y: input.y.slice(10, 20) });
});

test("stillServes: the same view, or a smaller one of what was drawn whole", () => {
  const input = nightly(3650);
  const drawn = viewColumns(input, input.x[3000], input.x[3649], 900);
  assert.ok(stillServes(drawn, input.x[3000], input.x[3649]));
  assert.ok(stillServes(drawn, input.x[3100], input.x[3200]));
  assert.ok(!stillServes(drawn, input.x[2000], input.x[3649]));
  const all = viewColumns(input, input.x[0], input.x[3649], 900);
  assert.ok(stillServes(all, input.x[0], input.x[3649]));
  assert.ok(!stillServes(all, input.x[3100], input.x[3200]), "zoomed in: the backups of it");
  assert.ok(!stillServes(null, 0, 1));
});

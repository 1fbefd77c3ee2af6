// Unit tests of static/scmmonitor/main.js's pure part: a container's settings
import assert from "node:assert/strict";
import { test } from "node:test";

import { HEIGHT, NODE_NAME, chartConfig } from "../../sphinxcontrib_scmmonitor/static/scmmonitor/main.js";

test("chartConfig: defaults for bad values, JSON or word lists for series", () => {
  assert.deepEqual(chartConfig({ scmNode: "C", scmSrc: "d/C.json", scmHeight: "300",
    scmSeries: '["a b", "", 3]', scmMetric: " COUNT ", scmScale: "cubic", scmRange: "all" }), {
    node: "C", src: "d/C.json", title: "", height: "300px", series: ["a b"], metric: "count",
    scale: "linear", range: "all" });
  const cfg = chartConfig({ scmHeight: "10px; color: red", scmSeries: "a, b c" });
  assert.deepEqual([cfg.node, cfg.height, cfg.series, cfg.range], ["?", "400px", ["a", "b", "c"], "1y"]);
});

test("the node-name and height patterns", () => {
  assert.ok(NODE_NAME.test("cms01.example-2_x"));
  assert.ok(!NODE_NAME.test("../etc") && !NODE_NAME.test("-x") && !NODE_NAME.test("a/b"));
  assert.ok(HEIGHT.test("26em") && HEIGHT.test("400") && !HEIGHT.test("1e3px"));
});

// A decoded document's series -> what a chart draws: the chosen series, their
// points for a metric and scale, their marks, and the navigator's total.

import { isNum } from "./format.js";

export const LEVEL_SYMBOL = { ok: "\u2714", warn: "\u26a0", alarm: "\u2716", unknown: "?" };
const DAY = 86400000;

// The series a chart asked for, in its order, and the names the data lacks
export function chooseSeries(doc, wanted) {
  if (!wanted.length) {
    return { chosen: doc.series.slice(), missing: [] };
  }
  const byName = new Map();
  doc.series.forEach((s) => {
    if (!byName.has(s.name)) {
      byName.set(s.name, s);
    }
  });
  return {
    chosen: wanted.filter((name) => byName.has(name)).map((name) => byName.get(name)),
    missing: wanted.filter((name) => !byName.has(name)),
  };
}

// {x, y} columns of one series for "size" or "count"; on a log axis 0 and below become gaps.
// Highcharts takes them as its data table: no array per point for it to read.
export function points(series, metric, log) {
  const values = metric === "count" ? series.count : series.size;
  return {
    x: series.x.slice(),
    y: values.map((v) => (isNum(v) && !(log && v <= 0) ? v : null)),
  };
}

export const reasonWords = (series) => series.reasons.map((r) => r.reason);

// How a series is labelled and drawn: retired, ok, or dashed with its reasons
export function seriesMark(series) {
  if (series.retired) {
    // backed up no more on purpose: history only, never judged
    return { status: "retired", suffix: " (retired)", dashed: false };
  }
  const status = series.status;
  if (status === "ok") {
    return { status, suffix: "", dashed: false };
  }
  const words = reasonWords(series);
  return {
    status,
    suffix: ` ${LEVEL_SYMBOL[status]} ${words.length ? words.join(", ") : status}`,
    dashed: status === "warn" || status === "alarm",
  };
}

// The newest backup's time and size and the size before it (null where there is none)
export function newest(series) {
  const n = series.x.length;
  return {
    at: n ? series.x[n - 1] : null,
    size: n ? series.size[n - 1] : null,
    previous: n > 1 ? series.size[n - 2] : null,
  };
}

// The navigator's one series: the node's total, the sum of every series'
// latest value (from its first backup on). One point per bucket of whole
// days (at the bucket's last backup, plus the very first backup), sized for
// some 600 points over the whole time: the navigator stays an overview of
// all the data (every range, "All" too, stays reachable) at a fraction of
// the cost of drawing every series there.
export function totalPoints(columns) {
  const n = columns.length;
  let first = Infinity;
  let last = -Infinity;
  columns.forEach((c) => {
    if (c.x.length) {
      first = Math.min(first, c.x[0]);
      last = Math.max(last, c.x[c.x.length - 1]);
    }
  });
  if (first === Infinity) {
    return [];
  }
  const bucket = DAY * Math.max(1, Math.ceil((last - first) / DAY / 600));
  const at = new Array(n).fill(0);
  const value = new Array(n).fill(0);
  const out = [];
  let sum = 0;
  for (;;) {
    let next = Infinity;
    for (let k = 0; k < n; k += 1) {
      if (at[k] < columns[k].x.length && columns[k].x[at[k]] < next) {
        next = columns[k].x[at[k]];
      }
    }
    if (next === Infinity) {
      break;
    }
    const end = (Math.floor(next / bucket) + 1) * bucket;
    let time = next;
    for (let k = 0; k < n; k += 1) {
      const { x: xs, y: ys } = columns[k];
      while (at[k] < xs.length && xs[at[k]] < end) {
        const y = ys[at[k]];
        if (isNum(y)) {
          sum += y - value[k];
          value[k] = y;
        }
        time = Math.max(time, xs[at[k]]);
        at[k] += 1;
        if (!out.length) {
          out.push([next, sum]);   // where the data starts
        }
      }
    }
    if (time > out[out.length - 1][0]) {
      out.push([time, sum]);
    } else {
      out[out.length - 1][1] = sum;
    }
  }
  return out;
}

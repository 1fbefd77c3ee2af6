// The points a chart hands Highcharts (docs/sphinx.rst, "Points drawn"): every
// backup of the range in view while they fit the plot's width, else the lowest
// and the highest backup of each bucket of time, so a truncated backup (a drop)
// or a spike is never smoothed away. Every point kept is a real backup, its
// time and value as stored: a tooltip never shows a value no backup had.
// Pure functions on {x, y} columns (x ascending, ms; y a value or null = a gap).

// Index of the first x >= value (x ascending)
export function lowerBound(x, value) {
  let lo = 0;
  let hi = x.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (x[mid] < value) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// [start, end) of the points with min <= x <= max, plus one neighbour either side
// so the line runs on to the plot's edges
export function rangeIndexes(x, min, max) {
  const start = lowerBound(x, min);
  const end = lowerBound(x, max + 1);
  return [Math.max(0, start - 1), Math.min(x.length, end + 1)];
}

// Points [start, end) cut into `buckets` equal spans of time (from `origin` on,
// `width` ms each); of each span the lowest and the highest point in time order,
// and its first gap (null) so a gap stays a gap. Indexes, ascending.
function bucketIndexes(x, y, start, end, origin, width, out) {
  let i = start;
  while (i < end) {
    const bucket = Math.floor((x[i] - origin) / width);
    const stop = origin + (bucket + 1) * width;
    let lo = -1;
    let hi = -1;
    let gap = -1;
    for (; i < end && x[i] < stop; i += 1) {
      const v = y[i];
      if (v === null || v === undefined) {
        if (gap < 0) {
          gap = i;
        }
      } else {
        if (lo < 0 || v < y[lo]) {
          lo = i;
        }
        if (hi < 0 || v > y[hi]) {
          hi = i;
        }
      }
    }
    const kept = [lo, hi, gap].filter((k) => k >= 0).sort((a, b) => a - b);
    kept.forEach((k, n) => {
      if (n === 0 || k !== kept[n - 1]) {
        out.push(k);
      }
    });
  }
  return out;
}

function pick(columns, indexes) {
  return { x: indexes.map((i) => columns.x[i]), y: indexes.map((i) => columns.y[i]) };
}

// The lowest and highest point of each of `buckets` spans of [start, end), and
// the first and last point of it (where the data begins and ends stays exact)
export function minMaxBuckets(columns, start, end, buckets) {
  const { x, y } = columns;
  if (end - start <= 2 * buckets || end - start <= 2) {
    return pick(columns, indexes(start, end));
  }
  const width = Math.max(1, (x[end - 1] - x[start]) / buckets);
  const inner = bucketIndexes(x, y, start + 1, end - 1, x[start], width, [start]);
  inner.push(end - 1);
  return pick(columns, inner);
}

// What to draw of one series for a view of [min, max] ms on a plot `pixels`
// wide: in the view every point when there are at most `pixels` of them, else
// min/max buckets of two pixels; outside it (what the navigator, the "All"
// button and a drag show until the view is set again) min/max buckets of eight
// pixels of the whole time. Returns the columns and what they hold in full:
// {columns, whole, min, max} (whole: every point of [min, max] is there).
export function viewColumns(columns, min, max, pixels) {
  const n = columns.x.length;
  const width = Math.max(50, Math.round(pixels) || 0);
  if (n <= width) {
    return { columns: { x: columns.x.slice(), y: columns.y.slice() }, whole: true,
      min: -Infinity, max: Infinity };
  }
  const [start, end] = rangeIndexes(columns.x, min, max);
  const whole = end - start <= width;
  const view = whole ? pick(columns, indexes(start, end))
    : minMaxBuckets(columns, start, end, Math.ceil(width / 2));
  const span = Math.max(1, columns.x[n - 1] - columns.x[0]);
  const outside = (a, b) => (a >= b ? { x: [], y: [] } : minMaxBuckets(columns, a, b,
    Math.max(1, Math.ceil((width / 8) * ((columns.x[b - 1] - columns.x[a]) / span)))));
  const before = outside(0, start);
  const after = outside(end, n);
  return {
    columns: { x: before.x.concat(view.x, after.x), y: before.y.concat(view.y, after.y) },
    whole, min, max,
  };
}

function indexes(start, end) {
  return Array.from({ length: Math.max(0, end - start) }, (_, k) => start + k);
}

// Whether what was drawn for a view ({whole, min, max} of viewColumns) still
// serves a view of [min, max]: the same view, or every point of it is there
export function stillServes(drawn, min, max) {
  if (!drawn) {
    return false;
  }
  if (drawn.min === min && drawn.max === max) {
    return true;
  }
  return drawn.whole && drawn.min <= min && max <= drawn.max;
}

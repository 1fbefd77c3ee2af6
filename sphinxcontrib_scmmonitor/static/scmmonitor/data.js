// Data format 2 (docs/sphinx.rst, "The JSON data file"): check it and decode the
// delta columns (running sums) into milliseconds and values, as the charts use them.

import { parseTime } from "./format.js";

export const FORMAT = 2;
export const EXPORT_HINT = "scm-monitor export --outdir <html dir>";

// hint: a sentence, or message parts (strings and {code}) when it names the command to run
export class LoadError extends Error {
  constructor(message, hint = null) {
    super(message);
    this.name = "LoadError";
    this.hint = hint;
  }
}

const LEVELS = ["ok", "warn", "alarm", "unknown"];

// A status word as the page shows it: one of LEVELS
export function level(status) {
  const word = String(status || "unknown").toLowerCase();
  return LEVELS.includes(word) ? word : "unknown";
}

const isInt = (v) => Number.isSafeInteger(v);

// [first, delta, delta, ...] -> absolute values; null when not a list of integers
export function runningSum(column) {
  if (!Array.isArray(column)) {
    return null;
  }
  const out = new Array(column.length);
  let total = 0;
  for (let i = 0; i < column.length; i += 1) {
    const v = column[i];
    if (!isInt(v)) {
      return null;
    }
    total += v;
    out[i] = total;
  }
  return out;
}

// A reason as the data holds it ({reason, level, detail, at}); anything else made safe
function reason(r) {
  if (!r || typeof r !== "object") {
    return { reason: String(r), level: "unknown", detail: "", at: [] };
  }
  return {
    reason: String(r.reason === undefined ? "?" : r.reason),
    level: level(r.level),
    detail: r.detail === undefined || r.detail === null ? "" : String(r.detail),
    at: Array.isArray(r.at) ? r.at.filter(isInt) : [],
  };
}

const reasons = (list) => (Array.isArray(list) ? list.map(reason) : []);

// Sorted by time, the last of equal times kept: a hand-edited or broken file
// must not freeze the browser (Highcharts hangs on unordered points)
function ordered(x, size, count) {
  const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b] || a - b);
  const keep = order.filter((i, k) => k === order.length - 1 || x[order[k + 1]] !== x[i]);
  return { x: keep.map((i) => x[i]), size: keep.map((i) => size[i]), count: keep.map((i) => count[i]) };
}

// One series: {name, status, retired, reasons, x (ms), size, count}
export function decodeSeries(s) {
  const t = runningSum(s.t);
  const size = runningSum(s.size);
  const count = runningSum(s.count);
  if (t === null || size === null || count === null ||
      size.length !== t.length || count.length !== t.length) {
    throw new LoadError(`series ${JSON.stringify(String(s.name))}: its "t", "size" and ` +
      "\"count\" are not three lists of integers of one length");
  }
  const x = t.map((sec) => sec * 1000);
  let columns = { x, size, count };
  for (let i = 1; i < x.length; i += 1) {
    if (x[i] <= x[i - 1]) {
      columns = ordered(x, size, count);
      break;
    }
  }
  return {
    name: String(s.name),
    status: level(s.status),
    retired: s.retired === true,
    reasons: reasons(s.reasons),
    x: columns.x,
    size: columns.size,
    count: columns.count,
  };
}

// Parsed JSON -> the decoded document; a LoadError that says what to run otherwise
export function decodeDocument(doc) {
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    throw new LoadError("the file does not hold a JSON object");
  }
  if (doc.format !== FORMAT) {
    const shown = JSON.stringify(doc.format === undefined ? null : doc.format);
    const newer = typeof doc.format === "number" && doc.format > FORMAT;
    throw new LoadError(`unsupported data format ${shown} (this page's script reads format ` +
      `${FORMAT})`, newer
      ? "The data was written by a newer scm-monitor: rebuild the docs so the page's script matches."
      : ["Rewrite the file in this format with ", { code: EXPORT_HINT }, "."]);
  }
  if (!Array.isArray(doc.series)) {
    throw new LoadError("the file has no \"series\" list");
  }
  const runs = (Array.isArray(doc.runs) ? doc.runs : [])
    .filter((r) => r && typeof r === "object" && isInt(r.at))
    .map((r) => ({ at: r.at * 1000, ok: r.ok === true, error: r.error ? String(r.error) : null }));
  return {
    format: FORMAT,
    node: String(doc.node === undefined ? "" : doc.node),
    hub: doc.hub ? String(doc.hub) : "",
    source: doc.source ? String(doc.source) : null,
    timezone: typeof doc.timezone === "string" && doc.timezone ? doc.timezone : "UTC",
    generatedAt: parseTime(doc.generated_at),
    generatedText: String(doc.generated_at || "?"),
    observedAt: parseTime(doc.observed_at),
    status: level(doc.status),
    reasons: reasons(doc.reasons),
    series: doc.series.filter((s) => s && typeof s === "object" && s.name !== undefined)
      .map(decodeSeries),
    runs,
  };
}

// The JSON text of a data file -> the decoded document
export function parseDocument(text) {
  let doc;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new LoadError(`the file is not valid JSON (${e.message})`);
  }
  return decodeDocument(doc);
}

// Text for people: bytes, ages, changes, UTC dates; and escaping for Highcharts.
// Checked against the Python side's human_size/human_age by tests/test_js_unit.py.

export const DASH = "\u2014";
export const MINUS = "\u2212";
// as human_size on the Python side: TB is the largest unit
export const BYTE_UNITS = ["B", "KB", "MB", "GB", "TB"];

export const isNum = (v) => typeof v === "number" && Number.isFinite(v);

// Escape for Highcharts' SVG text formatting (it parses <b>, <br>, <span>, ...)
export function esc(value) {
  return String(value)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&#39;");
}

// Accessible names are set as attributes (never parsed) but Highcharts strips
// anything tag-like from them first: keep such text readable instead of lost.
export const a11yText = (value) => String(value).replace(/</g, "\u2039").replace(/>/g, "\u203a");

const pad2 = (n) => String(n).padStart(2, "0");

// 2026-11-28 12:00 UTC
export function utcDate(ms, withSeconds = false) {
  if (!isNum(ms)) {
    return DASH;
  }
  const d = new Date(ms);
  return `${d.getUTCFullYear()}-${pad2(d.getUTCMonth() + 1)}-${pad2(d.getUTCDate())} ` +
    `${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}` +
    (withSeconds ? `:${pad2(d.getUTCSeconds())}` : "") + " UTC";
}

// 12,345,678
export const thousands = (n) => Math.round(n).toLocaleString("en-US");

// 1.5 GB (1024-based, as du -h and the Python side's human_size)
export function humanBytes(value, trim = false) {
  if (!isNum(value)) {
    return DASH;
  }
  let v = Math.abs(value);
  let i = 0;
  while (v >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i += 1;
  }
  let text = i === 0 ? String(Math.round(v)) : v.toFixed(1);
  if (trim && text.endsWith(".0")) {
    text = text.slice(0, -2);
  }
  return `${value < 0 ? MINUS : ""}${text} ${BYTE_UNITS[i]}`;
}

// 45 s, 12 min, 3 h, 2 d (as the Python side's human_age)
export function humanAge(seconds) {
  const s = Math.max(0, seconds);
  if (s < 90) {
    return `${Math.round(s)} s`;
  }
  if (s < 90 * 60) {
    return `${Math.round(s / 60)} min`;
  }
  if (s < 48 * 3600) {
    return `${Math.round(s / 3600)} h`;
  }
  return `${Math.round(s / 86400)} d`;
}

// +2.1 %, −55 %
export function percentChange(size, previous) {
  if (!isNum(size) || !isNum(previous) || previous <= 0) {
    return DASH;
  }
  const pct = 100 * (size - previous) / previous;
  const abs = Math.abs(pct);
  const text = abs < 10 ? abs.toFixed(1) : abs.toFixed(0);
  if (Number(text) === 0) {
    return "\u00b10 %";
  }
  return `${pct > 0 ? "+" : MINUS}${text} %`;
}

export function signedPercent(value, decimals) {
  if (!isNum(value)) {
    return DASH;
  }
  const text = Math.abs(value).toFixed(decimals);
  if (Number(text) === 0) {
    return "0 %";
  }
  return `${value > 0 ? "+" : MINUS}${text} %`;
}

export function parseTime(text) {
  const ms = Date.parse(text);
  return Number.isFinite(ms) ? ms : null;
}

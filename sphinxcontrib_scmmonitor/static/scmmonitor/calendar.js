// The backup calendars: one row per series, one cell per night (the node's local
// dates, newest right), redrawn from the data files at page load. The rules are
// nights.py's (docs/sphinx.rst, "The backup calendar"); tests/test_calendar.py
// proves both give the same cells for the same file.

import { clear, el } from "./dom.js";

// kind -> its meaning in words (cell title and legend), worst first
export const NIGHT_KINDS = [
  ["corrupt", "corrupt (does not decompress)"],
  ["empty", "empty (0 bytes)"],
  ["copy", "differs from the source or not copied"],
  ["shrunk", "shrunk against its history"],
  ["backup", "a backup"],
  ["none", "no backup"],
];
const NIGHT_WORDS = new Map(NIGHT_KINDS);
const NIGHT_RANK = new Map(NIGHT_KINDS.map(([kind], i) => [kind, i]));
// which reason marks the nights in its "at" as which kind
export const REASON_NIGHT = {
  corrupt: "corrupt", empty: "empty", "copy-differs": "copy", "not-copied": "copy", shrunk: "shrunk",
};

const dayFormats = new Map();

// "2026-11-29": the local date in an IANA zone of a time in ms (UTC when the zone is unknown)
export function localDay(ms, zone) {
  let format = dayFormats.get(zone);
  if (!format) {
    try {
      format = new Intl.DateTimeFormat("en-CA", { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit" });
    } catch (e) {
      format = new Intl.DateTimeFormat("en-CA", { timeZone: "UTC", year: "numeric", month: "2-digit", day: "2-digit" });
    }
    dayFormats.set(zone, format);
  }
  const parts = {};
  format.formatToParts(new Date(ms)).forEach((p) => { parts[p.type] = p.value; });
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// The `days` dates ending with `end` ("YYYY-MM-DD"), oldest first: calendar dates, no clock
export function lastDays(end, days) {
  const [y, m, d] = end.split("-").map(Number);
  const out = [];
  for (let k = days - 1; k >= 0; k -= 1) {
    out.push(new Date(Date.UTC(y, m - 1, d - k)).toISOString().slice(0, 10));
  }
  return out;
}

// month names for the calendar's head, as nights.py's MONTHS
export const MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
  "September", "October", "November", "December"];

// The column heads of `days` ("YYYY-MM-DD", oldest first), as nights.py's heads(): the day
// of month, the month's name where a month starts (and first), the date in words
export function dayHeads(days) {
  return days.map((day, i) => {
    const [y, m, d] = day.split("-").map(Number);
    const name = MONTHS[m - 1];
    return { day, number: String(d), month: i === 0 || d === 1 ? `${name} ${y}` : "",
      words: `${d} ${name} ${y}` };
  });
}

// A decoded document (data.js) -> [{node, series, nights: [{day, kind, words}]}]
export function calendarRows(doc, days) {
  const zone = doc.timezone || "UTC";
  const endAt = doc.observedAt !== null && doc.observedAt !== undefined ? doc.observedAt : (doc.generatedAt || 0);
  const judged = doc.series.filter((s) => !s.retired);
  let end = localDay(endAt, zone);
  if (!judged.some((s) => s.x.length && localDay(s.x[s.x.length - 1], zone) === end)) {
    // tonight's backups may not be written yet: the calendar ends with last night
    end = lastDays(end, 2)[0];
  }
  const nights = lastDays(end, days);
  const rowsOut = [];
  judged.forEach((s) => {
    const kinds = new Map(nights.map((day) => [day, "none"]));
    s.x.forEach((ms) => {
      const day = localDay(ms, zone);
      if (kinds.has(day)) {
        kinds.set(day, "backup");
      }
    });
    s.reasons.forEach((r) => {
      const kind = REASON_NIGHT[r.reason];
      if (!kind) {
        return;
      }
      r.at.forEach((sec) => {
        const day = localDay(sec * 1000, zone);
        if (kinds.has(day) && NIGHT_RANK.get(kind) < NIGHT_RANK.get(kinds.get(day))) {
          kinds.set(day, kind);
        }
      });
    });
    rowsOut.push({
      node: doc.node,
      series: s.name,
      nights: nights.map((day) => ({ day, kind: kinds.get(day), words: `${day}: ${NIGHT_WORDS.get(kinds.get(day))}` })),
    });
  });
  return rowsOut;
}

// --- the page ---------------------------------------------------------------------------------

function nightCell(night) {
  const td = el("td", `scmmonitor-night scmmonitor-night-${night.kind}`);
  td.title = night.words;
  td.setAttribute("data-scm-day", night.day);
  td.appendChild(el("span", "scmmonitor-night-words", night.words));
  return td;
}

// The two head rows over rows of `days`, as the build-time calendar's (sphinxext/visitors.py):
// the months for the eye, then the day of month over each column, its date in words
function headRows(days) {
  const heads = dayHeads(days);
  const months = el("tr", "scmmonitor-calendar-months");
  months.setAttribute("aria-hidden", "true");
  months.appendChild(el("td", "scmmonitor-calendar-corner"));
  let current = null;
  heads.forEach((h) => {
    if (h.month) {
      current = el("td", "scmmonitor-calendar-month", h.month);
      current.colSpan = 0;
      months.appendChild(current);
    }
    current.colSpan += 1;
  });
  const row = el("tr", "scmmonitor-calendar-days");
  row.appendChild(el("td", "scmmonitor-calendar-corner"));
  heads.forEach((h) => {
    const th = el("th", "scmmonitor-calendar-day");
    th.setAttribute("scope", "col");
    th.setAttribute("data-scm-day", h.day);
    const number = el("span", null, h.number);
    number.setAttribute("aria-hidden", "true");
    th.appendChild(number);
    th.appendChild(el("span", "scmmonitor-night-words", h.words));
    row.appendChild(th);
  });
  return [months, row];
}

// the nights a row shows, oldest first
const rowDays = (tr) => Array.from(tr.querySelectorAll("td[data-scm-day]"))
  .map((td) => td.getAttribute("data-scm-day"));

// answers: [{node, doc} or {node, error}]; a node whose file cannot be read keeps its
// build-time rows
export function fillCalendar(box, answers, days) {
  const table = box.querySelector("table.scmmonitor-calendar-table");
  if (!table) {
    return;
  }
  const old = new Map();
  Array.from(table.querySelectorAll("tr.scmmonitor-calendar-row")).forEach((tr) => {
    const node = tr.getAttribute("data-scm-node");
    if (!old.has(node)) {
      old.set(node, []);
    }
    old.get(node).push(tr);
  });
  const rows = [];
  answers.forEach((a) => {
    if (!a.doc) {
      (old.get(a.node) || []).forEach((tr) => rows.push(tr));
      return;
    }
    calendarRows(a.doc, days).forEach((row) => {
      const tr = el("tr", "scmmonitor-calendar-row");
      tr.setAttribute("data-scm-node", row.node);
      tr.setAttribute("data-scm-series", row.series);
      tr.appendChild(el("th", "scmmonitor-calendar-series", `${row.node} ${row.series}`));
      row.nights.forEach((n) => tr.appendChild(nightCell(n)));
      rows.push(tr);
    });
  });
  clear(table);
  const head = el("thead");
  const body = el("tbody");
  let shown = null;
  rows.forEach((tr) => {
    // a head over the rows whose nights it names (nodes observed on another day get their own)
    const nightsOf = rowDays(tr).join(" ");
    if (nightsOf !== shown) {
      headRows(nightsOf.split(" ")).forEach((h) => (shown === null ? head : body).appendChild(h));
      shown = nightsOf;
    }
    body.appendChild(tr);
  });
  table.appendChild(head);
  table.appendChild(body);
  box.classList.add("scmmonitor-live");
}


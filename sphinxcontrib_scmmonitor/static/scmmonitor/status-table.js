// The status tables: live rows from the data files, the build-time rows kept
// for a node whose file cannot be read, and a note saying how old the data is.

import { level } from "./data.js";
import { appendParts, breakable, el } from "./dom.js";
import { DASH, humanAge, humanBytes, percentChange, thousands, utcDate } from "./format.js";
import { LEVEL_SYMBOL, newest } from "./series.js";

// Exported data older than this is pointed out under status tables
export const OLD_EXPORT_HOURS = 48;

const describe = (reasons) => reasons.map((r) => (r.detail ? `${r.reason}: ${r.detail}` : r.reason))
  .join("; ");

// A node's rows as plain data: [{status, cells: [node, series, status, reason, age,
// size, change]}], each cell a string or {text, title}; the status cell is the status word
export function nodeRows(node, doc, now) {
  const rows = doc.reasons.map((r) => ({
    status: r.level,
    cells: [node, DASH, r.level, r.detail ? `${r.reason}: ${r.detail}` : r.reason, DASH, DASH, DASH],
  }));
  doc.series.forEach((s) => {
    // retired series are charted but not judged: no status row, as in the build-time table
    if (s.retired) {
      return;
    }
    const { at, size, previous } = newest(s);
    rows.push({
      status: s.status,
      cells: [node, s.name, s.status, describe(s.reasons) || DASH,
        at === null ? DASH : { text: humanAge((now - at) / 1000), title: utcDate(at) },
        size === null ? DASH : { text: humanBytes(size), title: `${thousands(size)} bytes` },
        percentChange(size, previous)],
    });
  });
  if (!rows.length) {
    rows.push({ status: doc.status, cells: [node, DASH, doc.status, "no backup series found", DASH, DASH, DASH] });
  }
  return rows;
}

// "Live status, exported 3 min ago (...)" and whether that is old
export function exportNote(exported, now) {
  const old = exported.some((e) => now - e.at > OLD_EXPORT_HOURS * 3600 * 1000);
  const text = exported.map((e) => `${exported.length > 1 ? `${e.node} ` : ""}` +
    `${humanAge((now - e.at) / 1000)} ago (${utcDate(e.at)})`).join("; ");
  return { old, text: `Live status, exported ${text}${old ? ". That is old: is " : "."}` };
}

function statusCell(status) {
  const lv = level(status);
  const td = el("td", `scmmonitor-status-cell scmmonitor-${lv} scmmonitor-col-status`);
  const symbol = el("span", "scmmonitor-symbol", `${LEVEL_SYMBOL[lv]} `);
  symbol.setAttribute("aria-hidden", "true");
  td.appendChild(symbol);
  td.appendChild(el("span", "scmmonitor-word", lv));
  return td;
}

// as the build-time table's (sphinxext/data.py): the stylesheet hides Change, then Size,
// in a narrow column
const CELL_CLASSES = ["scmmonitor-col-node", "scmmonitor-col-series", null, "scmmonitor-col-reason",
  "scmmonitor-age scmmonitor-col-age", "scmmonitor-size scmmonitor-col-size",
  "scmmonitor-change scmmonitor-col-change"];

function rowElement({ status, cells }) {
  const tr = el("tr", `scmmonitor-row scmmonitor-row-${level(status)}`);
  cells.forEach((cell, i) => {
    if (i === 2) {
      tr.appendChild(statusCell(cell));
      return;
    }
    const td = el("td", CELL_CLASSES[i]);
    breakable(td, typeof cell === "object" ? cell.text : cell);
    if (typeof cell === "object") {
      td.title = cell.title;
    }
    tr.appendChild(td);
  });
  return tr;
}

// The build-time rows of each node (first cell = node; blank = same as above)
function buildTimeRows(tbody, nodes) {
  const byNode = new Map();
  let current = null;
  Array.from(tbody ? tbody.rows : []).forEach((tr) => {
    let name = tr.getAttribute("data-scm-node");
    if (!name) {
      const first = tr.cells.length ? tr.cells[0].textContent.trim() : "";
      name = nodes.includes(first) ? first : current;
    }
    current = name;
    if (name === null) {
      return;
    }
    if (!byNode.has(name)) {
      byNode.set(name, []);
    }
    byNode.get(name).push(tr);
  });
  return byNode;
}

// answers: [{node, url, doc} or {node, url?, error}]; failure(answer) -> message parts
export function fillTable(box, nodes, answers, failure, exportHint) {
  const table = box.querySelector("table");
  const now = Date.now();
  const oldBody = table.tBodies.length ? table.tBodies[0] : null;
  const previous = buildTimeRows(oldBody, nodes);
  const body = el("tbody");
  const problems = [];
  const exported = [];
  answers.forEach((a) => {
    if (a.doc) {
      nodeRows(a.node, a.doc, now).forEach((r) => body.appendChild(rowElement(r)));
      if (a.doc.generatedAt !== null) {
        exported.push({ node: a.node, at: a.doc.generatedAt });
      }
    } else {
      (previous.get(a.node) || []).forEach((tr) => body.appendChild(tr));
      problems.push(a);
    }
  });
  if (oldBody) {
    table.replaceChild(body, oldBody);
  } else {
    table.appendChild(body);
  }
  box.querySelectorAll(".scmmonitor-status-note").forEach((n) => n.parentNode.removeChild(n));
  if (exported.length) {
    const { old, text } = exportNote(exported, now);
    const note = el("p", `scmmonitor-note scmmonitor-status-note${old ? " scmmonitor-warn" : ""}`, text);
    if (old) {
      appendParts(note, [{ code: exportHint }, " still run after each collection?"]);
    }
    box.appendChild(note);
  }
  problems.forEach((a) => {
    const parts = failure(a);
    parts.push(" Its rows show the status when the docs were built.");
    box.appendChild(appendParts(el("p", "scmmonitor-note scmmonitor-status-note scmmonitor-error"), parts));
  });
  box.classList.add("scmmonitor-live");
}

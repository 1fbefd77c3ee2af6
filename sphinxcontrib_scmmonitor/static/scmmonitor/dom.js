// DOM building with textContent only: data never becomes markup.

export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) {
    node.className = className;
  }
  if (text !== undefined && text !== null) {
    node.textContent = String(text);
  }
  return node;
}

// a word longer than this may break anywhere, so that it never widens its table past the
// column (sphinxext/visitors.py's LONG_WORD)
export const LONG_WORD = 20;

// Text that may break at spaces and after each "/" (series names, paths), a word inside
// only where it is longer than its cell: a <wbr> after each "/", a word of more than
// LONG_WORD characters in a span.scmmonitor-long, as the build-time table writes it
// (sphinxext/visitors.py). The text stays text.
export function breakable(parent, text) {
  String(text).split("/").forEach((part, i) => {
    if (i) {
      parent.appendChild(document.createTextNode("/"));
      parent.appendChild(document.createElement("wbr"));
    }
    part.split(/(\s+)/).forEach((word) => {
      if (word.length > LONG_WORD) {
        parent.appendChild(el("span", "scmmonitor-long", word));
      } else if (word) {
        parent.appendChild(document.createTextNode(word));
      }
    });
  });
  return parent;
}

// parts: strings become text, {code: "..."} becomes <code>
export function appendParts(parent, parts) {
  parts.forEach((part) => {
    if (part && typeof part === "object" && "code" in part) {
      parent.appendChild(el("code", null, part.code));
    } else {
      parent.appendChild(document.createTextNode(String(part)));
    }
  });
  return parent;
}

// Everything the script put in a chart container; the server's picture stays (it is
// the chart until Highcharts has drawn, and what print and a failed load show)
export const PICTURE = "img.scmmonitor-picture";

export function clear(node) {
  Array.from(node.childNodes).forEach((child) => {
    if (!(child.nodeType === 1 && child.matches(PICTURE))) {
      node.removeChild(child);
    }
  });
}

// A data-* list: JSON (what the directives write) or space/comma separated words
export function parseList(text) {
  if (!text) {
    return [];
  }
  try {
    const value = JSON.parse(text);
    if (Array.isArray(value)) {
      return value.filter((v) => typeof v === "string" && v !== "");
    }
  } catch (e) { /* fall through: a plain space separated list */ }
  return String(text).split(/[\s,]+/).filter(Boolean);
}

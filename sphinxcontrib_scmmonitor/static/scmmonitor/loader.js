// Fetching the data files (one request per URL, shared by every chart and
// table) and drawing in turns (at most one chart per animation frame).

import { EXPORT_HINT, LoadError, parseDocument } from "./data.js";

// From file:// the export is not what is missing: the browser will not read the file
// (the picture beside the message still shows the data of the last export). Any site's
// pages say this, so it names no project's own make target.
export const FILE_HINT = ["Opened from a file:// URL, where the browser does not let scripts " +
  "read data files: the pictures show the data as of the last export. For the interactive " +
  "charts, serve the HTML folder (the one holding _static/) over HTTP, e.g. ",
  { code: "python3 -m http.server --bind 127.0.0.1 -d <the HTML folder>" },
  ", and open http://127.0.0.1:8000/."];

function xhrText(url) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    try {
      xhr.open("GET", url, true);
    } catch (e) {
      reject(new LoadError(`the browser refused the request (${e.message})`));
      return;
    }
    xhr.onload = () => {
      // file:// answers with status 0 when the file was read
      if ((xhr.status >= 200 && xhr.status < 300) || (xhr.status === 0 && xhr.responseText)) {
        resolve(xhr.responseText);
      } else {
        reject(new LoadError(xhr.status ? `HTTP ${xhr.status} ${xhr.statusText}`
          : "the file could not be read"));
      }
    };
    xhr.onerror = () => reject(new LoadError("network error"));
    try {
      xhr.send();
    } catch (e) {
      reject(new LoadError(`the browser refused the request (${e.message})`));
    }
  });
}

async function viaXhr(url, reason) {
  try {
    return await xhrText(url);
  } catch (err) {
    throw new LoadError(reason || err.message, /^file:/i.test(url) ? FILE_HINT : null);
  }
}

async function fetchText(url) {
  // fetch() cannot read file:// URLs (Chrome, Firefox); XMLHttpRequest sometimes can.
  // A browser without fetch() gets XMLHttpRequest too.
  if (typeof window.fetch !== "function" || /^file:/i.test(url)) {
    return viaXhr(url);
  }
  let response;
  try {
    response = await window.fetch(url, { credentials: "same-origin", cache: "no-cache" });
  } catch (err) {
    throw new LoadError(`network error (${err && err.message ? err.message : err})`);
  }
  if (!response.ok) {
    throw new LoadError(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ""}`);
  }
  return response.text();
}

export function absolute(url) {
  try {
    return new URL(url, document.baseURI).href;
  } catch (e) {
    return url;
  }
}

// cache: Map of absolute URL -> Promise of the decoded document
export function loadDocument(cache, url) {
  const key = absolute(url);
  if (!cache.has(key)) {
    cache.set(key, fetchText(key).then(parseDocument));
  }
  return cache.get(key);
}

export function loadFailure(what, node, url, err) {
  const parts = [`Could not load ${what} for node ${node} from `, { code: absolute(url) },
    `: ${err && err.message ? err.message : String(err)}. `];
  if (err && Array.isArray(err.hint)) {
    return parts.concat(err.hint);   // it names the command itself
  }
  if (err && err.hint) {
    parts.push(`${err.hint} `);
  }
  parts.push("Run ", { code: EXPORT_HINT }, " or rebuild the docs.");
  return parts;
}

// A Stock chart is some 100 ms of main-thread work: when many come in view at
// once, as in a fast scroll, the page still paints and scrolls between them. A
// chart whose frame is free is drawn at once, the others wait for the next frames.
// frames: {turns: [], taken: false}, owned by the caller
export function inTurn(frames, draw) {
  const takeFrame = () => {
    frames.taken = true;
    window.requestAnimationFrame(() => {
      frames.taken = false;
      const job = frames.turns.shift();
      if (job) {
        takeFrame();
        job();
      }
    });
  };
  return new Promise((resolve) => {
    const job = () => {
      try {
        draw();
      } finally {
        resolve();
      }
    };
    if (frames.taken) {
      frames.turns.push(job);
    } else {
      takeFrame();
      job();
    }
  });
}

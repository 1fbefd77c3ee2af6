/*
 * sphinxcontrib-scmmonitor: draws the backup charts and refreshes the status
 * tables of pages built with the ``scm-backup-chart`` / ``scm-backup-status``
 * directives.
 *
 * Data comes from ``_static/scmmonitor/data/<node>.json`` (written by
 * ``scm-monitor export``) at page load, so fresh data needs no Sphinx rebuild.
 * Plain ES2017, no dependencies besides Highcharts Stock (optional: without it
 * the page says so). Builds DOM with textContent only; every string handed to
 * Highcharts is escaped because its SVG text renderer parses a subset of HTML.
 */
(function () {
  "use strict";

  var VERSION = "0.1.0";   // keep in step with sphinxcontrib_scmmonitor._version
  var FORMAT = 1;
  var EXPORT_HINT = "scm-monitor export --outdir <html dir>";
  var RANGES = ["1m", "3m", "6m", "1y", "all"];
  var METRICS = ["size", "count"];
  var SCALES = ["linear", "log", "percent"];
  var LEVELS = ["ok", "warn", "alarm", "unknown"];
  var LEVEL_SYMBOL = { ok: "\u2714", warn: "\u26a0", alarm: "\u2716", unknown: "?" };
  // Severity of the node-level reasons (as sphinxcontrib_scmmonitor.checks.SEVERITY)
  var NODE_REASON_LEVEL = { "unreachable": "warn", "collector-stale": "alarm" };
  var NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
  var HEIGHT = /^\d+(\.\d+)?(px|em|rem|vh|pt|cm|mm|in)?$/;
  var BYTE_UNITS = ["B", "KB", "MB", "GB", "TB", "PB"];
  var MINUS = "\u2212";
  var DASH = "\u2014";
  // Exported data older than this is pointed out under status tables
  var OLD_EXPORT_HOURS = 48;

  var cache = new Map();          // absolute URL -> Promise of the parsed document
  var charts = new Map();         // container -> Highcharts chart
  var attempted = new Set();      // chart containers drawn (or tried) once
  var observer = null;
  var MARGIN = 200;               // px around the viewport where lazy charts start loading

  /* ------------------------------------------------------------------ *
   * Small helpers
   * ------------------------------------------------------------------ */

  // Escape for Highcharts' SVG text formatting (it parses <b>, <br>, <span>, ...)
  function esc(value) {
    return String(value)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  // Accessible names are set as attributes (never parsed) but Highcharts strips
  // anything tag-like from them first: keep such text readable instead of lost.
  function a11yText(value) {
    return String(value).replace(/</g, "\u2039").replace(/>/g, "\u203a");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = String(text);
    }
    return node;
  }

  // parts: strings become text, {code: "..."} becomes <code>
  function appendParts(parent, parts) {
    parts.forEach(function (part) {
      if (part && typeof part === "object" && "code" in part) {
        parent.appendChild(el("code", null, part.code));
      } else {
        parent.appendChild(document.createTextNode(String(part)));
      }
    });
    return parent;
  }

  function clear(node) {
    while (node.firstChild) {
      node.removeChild(node.firstChild);
    }
  }

  function showMessage(container, parts, isError) {
    var old = charts.get(container);
    if (old) {
      charts.delete(container);
      try { old.destroy(); } catch (e) { /* already gone */ }
    }
    clear(container);
    container.style.minHeight = "";   // the reserved chart height would only leave a blank box
    var p = el("p", "scmmonitor-message" + (isError ? " scmmonitor-error" : ""));
    if (isError) {
      p.setAttribute("role", "alert");
    }
    container.appendChild(appendParts(p, parts));
  }

  function parseList(text) {
    if (!text) {
      return [];
    }
    try {
      var value = JSON.parse(text);
      if (Array.isArray(value)) {
        return value.filter(function (v) { return typeof v === "string" && v !== ""; });
      }
    } catch (e) { /* fall through: a plain space separated list */ }
    return String(text).split(/[\s,]+/).filter(Boolean);
  }

  function oneOf(value, allowed, fallback) {
    value = (value || "").trim().toLowerCase();
    return allowed.indexOf(value) === -1 ? fallback : value;
  }

  function isNum(v) {
    return typeof v === "number" && isFinite(v);
  }

  function pad2(n) {
    return (n < 10 ? "0" : "") + n;
  }

  // 2026-11-28 12:00 UTC
  function utcDate(ms, withSeconds) {
    if (!isNum(ms)) {
      return DASH;
    }
    var d = new Date(ms);
    return d.getUTCFullYear() + "-" + pad2(d.getUTCMonth() + 1) + "-" + pad2(d.getUTCDate()) +
      " " + pad2(d.getUTCHours()) + ":" + pad2(d.getUTCMinutes()) +
      (withSeconds ? ":" + pad2(d.getUTCSeconds()) : "") + " UTC";
  }

  // 12,345,678
  function thousands(n) {
    return Math.round(n).toLocaleString("en-US");
  }

  // 1.5 GB (1024-based, as du -h and the Python side's human_size)
  function humanBytes(value, trim) {
    if (!isNum(value)) {
      return DASH;
    }
    var neg = value < 0;
    var v = Math.abs(value);
    var i = 0;
    while (v >= 1024 && i < BYTE_UNITS.length - 1) {
      v /= 1024;
      i += 1;
    }
    var text = i === 0 ? String(Math.round(v)) : v.toFixed(1);
    if (trim && /\.0$/.test(text)) {
      text = text.slice(0, -2);
    }
    return (neg ? MINUS : "") + text + " " + BYTE_UNITS[i];
  }

  // 45 s, 12 min, 3 h, 2 d (as the Python side's human_age)
  function humanAge(seconds) {
    seconds = Math.max(0, seconds);
    if (seconds < 90) {
      return Math.round(seconds) + " s";
    }
    if (seconds < 90 * 60) {
      return Math.round(seconds / 60) + " min";
    }
    if (seconds < 48 * 3600) {
      return Math.round(seconds / 3600) + " h";
    }
    return Math.round(seconds / 86400) + " d";
  }

  // +2.1 %, −55 %
  function percentChange(size, previous) {
    if (!isNum(size) || !isNum(previous) || previous <= 0) {
      return DASH;
    }
    var pct = 100 * (size - previous) / previous;
    var abs = Math.abs(pct);
    var text = abs < 10 ? abs.toFixed(1) : abs.toFixed(0);
    if (Number(text) === 0) {
      return "\u00b10 %";
    }
    return (pct > 0 ? "+" : MINUS) + text + " %";
  }

  function signedPercent(value, decimals) {
    if (!isNum(value)) {
      return DASH;
    }
    var text = Math.abs(value).toFixed(decimals);
    if (Number(text) === 0) {
      return "0 %";
    }
    return (value > 0 ? "+" : MINUS) + text + " %";
  }

  function parseTime(text) {
    var ms = Date.parse(text);
    return isFinite(ms) ? ms : null;
  }

  function level(status) {
    status = String(status || "unknown").toLowerCase();
    return LEVELS.indexOf(status) === -1 ? "unknown" : status;
  }

  function reasonWords(series) {
    var reasons = Array.isArray(series.reasons) ? series.reasons : [];
    return reasons.map(function (r) {
      return typeof r === "string" ? r : (r && r.reason) || String(r);
    });
  }

  /* ------------------------------------------------------------------ *
   * Loading the node documents (one request per URL, shared by all users)
   * ------------------------------------------------------------------ */

  function LoadError(message, hint) {
    this.name = "LoadError";
    this.message = message;
    this.hint = hint || null;
  }
  LoadError.prototype = Object.create(Error.prototype);
  LoadError.prototype.constructor = LoadError;

  var FILE_HINT = "This page was opened from a file:// URL, where the browser does not let " +
    "scripts read data files: serve the HTML folder over HTTP instead (for example " +
    "python3 -m http.server in it).";

  function xhrText(url) {
    return new Promise(function (resolve, reject) {
      var xhr;
      try {
        xhr = new XMLHttpRequest();
        xhr.open("GET", url, true);
      } catch (e) {
        reject(new LoadError("the browser refused the request (" + e.message + ")"));
        return;
      }
      xhr.onload = function () {
        // file:// answers with status 0 when the file was read
        if ((xhr.status >= 200 && xhr.status < 300) || (xhr.status === 0 && xhr.responseText)) {
          resolve(xhr.responseText);
        } else {
          reject(new LoadError(xhr.status ? "HTTP " + xhr.status + " " + xhr.statusText
            : "the file could not be read"));
        }
      };
      xhr.onerror = function () {
        reject(new LoadError("network error"));
      };
      try {
        xhr.send();
      } catch (e) {
        reject(new LoadError("the browser refused the request (" + e.message + ")"));
      }
    });
  }

  function fetchText(url) {
    var isFile = /^file:/i.test(url);
    var viaXhr = function (reason) {
      return xhrText(url).catch(function (err) {
        throw new LoadError(reason || err.message, isFile ? FILE_HINT : null);
      });
    };
    if (typeof window.fetch !== "function") {
      return viaXhr();
    }
    var request;
    try {
      request = window.fetch(url, { credentials: "same-origin", cache: "no-cache" });
    } catch (e) {
      return viaXhr();
    }
    return request.then(function (response) {
      if (!response.ok) {
        throw new LoadError("HTTP " + response.status + (response.statusText ? " " + response.statusText : ""));
      }
      return response.text();
    }, function (err) {
      // fetch() cannot read file:// URLs (Chrome, Firefox); XMLHttpRequest sometimes can
      if (isFile) {
        return viaXhr();
      }
      throw new LoadError("network error (" + (err && err.message ? err.message : err) + ")");
    });
  }

  function parseDocument(text) {
    var doc;
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new LoadError("the file is not valid JSON (" + e.message + ")");
    }
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
      throw new LoadError("the file does not hold a JSON object");
    }
    if (doc.format !== FORMAT) {
      var newer = isNum(doc.format) && doc.format > FORMAT;
      throw new LoadError("unsupported data format " + JSON.stringify(doc.format === undefined ? null : doc.format) +
        " (this page's script reads format " + FORMAT + ")",
        newer ? "The data was written by a newer scm-monitor: rebuild the docs so the page's script matches." : null);
    }
    if (!Array.isArray(doc.series)) {
      throw new LoadError("the file has no \"series\" list");
    }
    return doc;
  }

  function absolute(url) {
    try {
      return new URL(url, document.baseURI).href;
    } catch (e) {
      return url;
    }
  }

  function loadDocument(url) {
    var key = absolute(url);
    if (!cache.has(key)) {
      cache.set(key, fetchText(key).then(parseDocument));
    }
    return cache.get(key);
  }

  function loadFailure(what, node, url, err) {
    var parts = ["Could not load " + what + " for node " + node + " from ", { code: absolute(url) },
      ": " + (err && err.message ? err.message : String(err)) + ". "];
    if (err && err.hint) {
      parts.push(err.hint + " ");
    }
    parts.push("Run ", { code: EXPORT_HINT }, " or rebuild the docs.");
    return parts;
  }

  /* ------------------------------------------------------------------ *
   * Charts
   * ------------------------------------------------------------------ */

  function highstockScript() {
    var scripts = document.getElementsByTagName("script");
    for (var i = 0; i < scripts.length; i += 1) {
      var src = scripts[i].getAttribute("src") || "";
      if (/highstock(\.src)?\.js(\?|#|$)/.test(src)) {
        return src;
      }
    }
    return "_static/scmmonitor/highstock.js";
  }

  function highcharts() {
    var H = window.Highcharts;
    return H && typeof H.stockChart === "function" ? H : null;
  }

  function chartConfig(container) {
    var d = container.dataset;
    var height = (d.scmHeight || "").trim();
    if (/^\d+(\.\d+)?$/.test(height)) {
      height += "px";
    }
    return {
      node: d.scmNode || "?",
      src: d.scmSrc || "",
      title: d.scmTitle || "",
      height: HEIGHT.test(height) ? height : "400px",
      series: parseList(d.scmSeries),
      metric: oneOf(d.scmMetric, METRICS, "size"),
      scale: oneOf(d.scmScale, SCALES, "linear"),
      range: oneOf(d.scmRange, RANGES, "1y")
    };
  }

  // [[ms, value], ...] -> clean, strictly ascending points (an out-of-order
  // series once froze the browser); on a log axis 0 and below become gaps.
  // Handed to Highcharts as two columns (its data table): no array per point
  // for it to read, so setting a series' data costs a fraction.
  function cleanPoints(raw, log) {
    var n = Array.isArray(raw) ? raw.length : 0;
    var xs = new Array(n);
    var ys = new Array(n);
    var last = -Infinity;
    for (var i = 0; i < n; i += 1) {
      var p = raw[i];
      if (!Array.isArray(p) || !isNum(p[0]) || p[0] <= last) {
        return toColumns(copyPoints(raw, log));
      }
      last = xs[i] = p[0];
      ys[i] = isNum(p[1]) && !(log && p[1] <= 0) ? p[1] : null;
    }
    return { x: xs, y: ys };
  }

  function toColumns(points) {
    return {
      x: points.map(function (p) { return p[0]; }),
      y: points.map(function (p) { return p[1]; })
    };
  }

  function copyPoints(raw, log) {
    var out = [];
    var sorted = true;
    for (var i = 0; i < raw.length; i += 1) {
      var p = raw[i];
      if (!Array.isArray(p) || !isNum(p[0])) {
        continue;
      }
      var y = isNum(p[1]) ? p[1] : null;
      if (log && y !== null && y <= 0) {
        y = null;
      }
      if (out.length && p[0] <= out[out.length - 1][0]) {
        sorted = false;
      }
      out.push([p[0], y]);
    }
    if (!sorted) {
      out.sort(function (a, b) { return a[0] - b[0]; });
      out = out.filter(function (p, j) {
        return j === out.length - 1 || out[j + 1][0] !== p[0];   // keep the last of equal times
      });
    }
    return out;
  }

  // The navigator's one series: the node's total, the sum of every series'
  // latest value (from its first backup on). One point per bucket of whole
  // days (at the bucket's last backup, plus the very first backup), sized for
  // some 600 points over the whole time: the navigator stays an overview of
  // all the data (every range, "All" too, stays reachable) at a fraction of
  // the cost of drawing every series there.
  function totalPoints(columns) {
    var DAY = 86400000;
    var n = columns.length;
    var first = Infinity;
    var last = -Infinity;
    columns.forEach(function (c) {
      if (c.x.length) {
        first = Math.min(first, c.x[0]);
        last = Math.max(last, c.x[c.x.length - 1]);
      }
    });
    if (first === Infinity) {
      return [];
    }
    var bucket = DAY * Math.max(1, Math.ceil((last - first) / DAY / 600));
    var at = new Array(n).fill(0);
    var value = new Array(n).fill(0);
    var out = [];
    var sum = 0;
    for (;;) {
      var next = Infinity;
      for (var k = 0; k < n; k += 1) {
        if (at[k] < columns[k].x.length && columns[k].x[at[k]] < next) {
          next = columns[k].x[at[k]];
        }
      }
      if (next === Infinity) {
        break;
      }
      var end = (Math.floor(next / bucket) + 1) * bucket;
      var time = next;
      for (k = 0; k < n; k += 1) {
        var xs = columns[k].x;
        var ys = columns[k].y;
        while (at[k] < xs.length && xs[at[k]] < end) {
          var y = ys[at[k]];
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

  // Ticks at round binary units on a linear byte axis: 0, 200 MB, 400 MB, ...
  function byteTicks(min, max) {
    var axis = this;
    if (!isNum(min) || !isNum(max)) {
      return undefined;
    }
    var top = Math.max(Math.abs(min), Math.abs(max));
    var unit = 1;
    var index = 0;
    while (top / unit >= 1024 && index < BYTE_UNITS.length - 1) {
      unit *= 1024;
      index += 1;
    }
    var lo = min / unit;
    var hi = max / unit;
    if (hi - lo <= 0) {
      hi = lo + 1;
      lo = Math.max(0, lo - 1);
    }
    var target = Math.max(2, Math.round((axis.len || 300) / 60));
    var raw = (hi - lo) / target;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var norm = raw / magnitude;
    var step = (norm <= 1 ? 1 : norm <= 2 ? 2 : norm <= 2.5 ? 2.5 : norm <= 5 ? 5 : 10) * magnitude;
    if (index === 0) {
      step = Math.max(1, Math.round(step));
    }
    var first = Math.floor(lo / step);
    var last = Math.ceil(hi / step);
    var ticks = [];
    for (var k = first; k <= last && ticks.length < 50; k += 1) {
      ticks.push(Number((k * step).toPrecision(12)) * unit);
    }
    var decimals = Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
    if (step / Math.pow(10, -decimals) % 1 !== 0) {
      decimals += 1;   // 2.5, 0.25 ...
    }
    axis.scmmonitorUnit = { size: unit, name: BYTE_UNITS[index], decimals: decimals };
    return ticks;
  }

  // Ticks at powers of two on a logarithmic byte axis: 1 MB, 32 MB, 1 GB, ...
  // (Highcharts hands log axes their min/max and ticks in log10 space.)
  function logByteTicks(min, max) {
    var axis = this;
    if (!isNum(min) || !isNum(max)) {
      return undefined;
    }
    var l2 = Math.log10(2);
    var lo = min / l2;
    var hi = max / l2;
    var target = Math.max(2, Math.round((axis.len || 300) / 50));
    var steps = [1, 2, 5, 10, 20, 30];
    var step = steps[steps.length - 1];
    for (var i = 0; i < steps.length; i += 1) {
      if ((hi - lo) / steps[i] <= target) {
        step = steps[i];
        break;
      }
    }
    var first = Math.floor(lo / step) * step;
    var last = Math.ceil(hi / step) * step;
    if (last === first) {
      last = first + step;
    }
    var ticks = [];
    for (var n = first; n <= last; n += step) {
      ticks.push(n * l2);
    }
    axis.scmmonitorUnit = null;
    return ticks;
  }

  function byteLabel() {
    var unit = this.axis.scmmonitorUnit;
    if (this.value === 0) {
      return "0";
    }
    if (unit) {
      return esc((this.value / unit.size).toFixed(unit.decimals) + " " + unit.name);
    }
    return esc(humanBytes(this.value, true));
  }

  function seriesMark(series) {
    var status = level(series.status);
    var words = reasonWords(series);
    if (series.retired === true) {
      // backed up no more on purpose: history only, never judged
      return { status: "retired", suffix: " (retired)", dashed: false };
    }
    if (status === "ok") {
      return { status: status, suffix: "", dashed: false };
    }
    var symbol = LEVEL_SYMBOL[status];
    return {
      status: status,
      suffix: " " + symbol + " " + (words.length ? words.join(", ") : status),
      dashed: status === "warn" || status === "alarm"
    };
  }

  function navigatorOptions(series, count) {
    var lines = series.filter(function (s) { return s.type === "line"; });
    if (!lines.length) {
      return { enabled: true };
    }
    var what = lines.length === 1 ? lines[0].custom.scmmonitorName
      : (count ? "backups kept" : "backup size") + ", total of " + lines.length + " series";
    return {
      enabled: true,
      series: {
        data: totalPoints(lines.map(function (s) { return s.dataTable.columns; })),
        name: esc(what),
        custom: { scmmonitorA11y: a11yText(what) },
        dataGrouping: { enabled: false },
        turboThreshold: 0
      }
    };
  }

  function chartOptions(container, cfg, doc, chosen) {
    var log = cfg.scale === "log";
    var percent = cfg.scale === "percent";
    var count = cfg.metric === "count";

    var series = chosen.map(function (s) {
      var name = String(s.name);
      var mark = seriesMark(s);
      var shownName = name + mark.suffix;
      return {
        type: "line",
        name: esc(shownName),
        dataTable: { columns: cleanPoints(count ? s.count : s.data, log) },
        dashStyle: mark.dashed ? (mark.status === "alarm" ? "Dash" : "ShortDash") : "Solid",
        lineWidth: mark.dashed ? 3 : 1.5,
        className: "scmmonitor-series-" + mark.status,
        custom: { scmmonitorA11y: a11yText(shownName), scmmonitorName: shownName },
        showInNavigator: false,
        turboThreshold: 0,
        dataGrouping: { enabled: false },
        marker: { enabled: false, radius: 3 },
        tooltip: {
          pointFormatter: function () {
            var text = esc(shownName) + ": <b>";
            if (count) {
              text += esc(thousands(this.y) + (this.y === 1 ? " backup" : " backups")) + "</b>";
            } else {
              var bytes = esc(humanBytes(this.y)) + "</b> (" + esc(thousands(this.y)) + " bytes)";
              if (percent && isNum(this.change)) {
                text += esc(signedPercent(this.change, 1)) + "</b> \u00b7 <b>" + bytes;
              } else {
                text += bytes;
              }
            }
            return '<span style="color:' + esc(this.color) + '">\u25cf</span> ' + text + "<br/>";
          }
        }
      };
    });

    var failed = (Array.isArray(doc.runs) ? doc.runs : []).filter(function (r) {
      return r && r.ok === false && isNum(r.at);
    }).sort(function (a, b) { return a.at - b.at; });
    if (failed.length) {
      series.push({
        type: "flags",
        name: esc("failed collection runs"),
        data: failed.map(function (r) {
          return { x: r.at, title: "!", text: esc(r.error ? String(r.error) : "collection failed") };
        }),
        shape: "squarepin",
        color: "#b71c1c",
        fillColor: "#ffebee",
        style: { color: "#b71c1c", fontWeight: "bold" },
        className: "scmmonitor-failed-runs",
        custom: { scmmonitorA11y: "failed collection runs" },
        y: -28,
        clip: false,        // a failed run at the right edge stays visible
        turboThreshold: 0,
        showInNavigator: false,
        tooltip: {
          pointFormatter: function () {
            return "<b>" + esc("collection failed") + "</b>: " + this.text + "<br/>";
          }
        },
        accessibility: {
          point: {
            descriptionFormatter: function (point) {
              var run = failed[point.index];
              return "collection failed " + utcDate(point.x) + ": " +
                a11yText(run && run.error ? String(run.error) : "no detail");
            }
          }
        }
      });
    }

    var generated = parseTime(doc.generated_at);
    var subtitle = "generated " + (generated === null ? String(doc.generated_at || "?") : utcDate(generated)) +
      " \u00b7 status: " + level(doc.status);
    var nodeReasons = Array.isArray(doc.reasons) ? doc.reasons : [];
    if (nodeReasons.length) {
      subtitle += " (" + nodeReasons.map(function (r) {
        return typeof r === "string" ? r : (r && r.reason) || "?";
      }).join(", ") + ")";
    }

    var buttons = [
      { type: "month", count: 1, text: "1m", title: "Show 1 month" },
      { type: "month", count: 3, text: "3m", title: "Show 3 months" },
      { type: "month", count: 6, text: "6m", title: "Show 6 months" },
      { type: "year", count: 1, text: "1y", title: "Show 1 year" },
      { type: "all", text: "All", title: "Show everything" }
    ];

    var yLabels;
    var yTitle;
    if (percent) {
      yTitle = count ? "change of backup count" : "change of backup size";
      yLabels = function () { return esc(signedPercent(this.value, 0)); };
    } else if (count) {
      yTitle = "backups kept";
      yLabels = function () { return esc(thousands(this.value)); };
    } else {
      yTitle = "backup size";
      yLabels = byteLabel;
    }

    return {
      chart: {
        height: null,
        spacingTop: 12,
        style: { fontFamily: "inherit" }
      },
      time: { timezone: "UTC" },
      title: { text: esc(cfg.title || (doc.hub ? doc.hub + " backups on " + cfg.node : "backups on " + cfg.node)), useHTML: false },
      subtitle: { text: esc(subtitle), useHTML: false },
      credits: { enabled: false },
      legend: { enabled: true, useHTML: false },
      rangeSelector: {
        buttons: buttons,
        selected: RANGES.indexOf(cfg.range),
        inputEnabled: false
      },
      navigator: navigatorOptions(series, count),
      scrollbar: { enabled: true },
      tooltip: {
        useHTML: false,
        split: true,
        xDateFormat: "%Y-%m-%d %H:%M UTC"
      },
      xAxis: {
        type: "datetime",
        ordinal: false,     // a gap in the backups must show as a gap
        labels: { useHTML: false }
      },
      yAxis: {
        type: log ? "logarithmic" : "linear",
        opposite: false,
        allowDecimals: !count || percent,
        min: count && !percent && !log ? 0 : undefined,
        showLastLabel: true,
        title: { text: esc(yTitle), useHTML: false },
        labels: { useHTML: false, formatter: yLabels, align: "right", x: -6 },
        tickPositioner: (percent || count) ? undefined : (log ? logByteTicks : byteTicks)
      },
      plotOptions: {
        series: {
          compare: percent ? "percent" : undefined,
          dataLabels: { useHTML: false },
          animation: false
        },
        flags: { useHTML: false }
      },
      exporting: {
        fallbackToExportServer: false,
        filename: "scmmonitor-" + String(cfg.node).replace(/[^A-Za-z0-9_.-]/g, "_"),
        buttons: {
          contextButton: {
            menuItems: ["viewFullscreen", "printChart", "separator", "downloadPNG", "downloadSVG"]
          }
        }
      },
      accessibility: {
        enabled: true,
        description: esc("Backup " + (count ? "counts" : "sizes") + " of node " + cfg.node + " over time"),
        point: {
          // The defaults read the (HTML-escaped) series name; use the plain one
          descriptionFormatter: function (point) {
            var custom = point.series.options.custom;
            var value = count ? thousands(point.y) + " backups"
              : humanBytes(point.y) + (percent && isNum(point.change)
                ? ", " + signedPercent(point.change, 1) : "");
            return utcDate(point.x) + ", " + value + ". " +
              (custom && custom.scmmonitorA11y ? custom.scmmonitorA11y : "") + ".";
          }
        },
        series: {
          descriptionFormatter: function (s) {
            var custom = s.options && s.options.custom;
            if (!custom || !custom.scmmonitorA11y) {
              return "";
            }
            var n = s.options.dataTable && s.options.dataTable.columns
              ? s.options.dataTable.columns.x.length : (s.options.data || []).length;
            return (s.options.isInternal ? "overview: " : "") + custom.scmmonitorA11y + ", " + (s.type === "flags"
              ? n + (n === 1 ? " failed run" : " failed runs")
              : n + " " + (count ? "points" : "backups")) + ".";
          }
        }
      },
      lang: {
        accessibility: {
          legend: { legendItem: "Show {item.options.custom.scmmonitorA11y}" }
        }
      },
      series: series
    };
  }

  function renderChart(container, cfg, doc) {
    var H = highcharts();
    var chosen;
    var missing = [];
    if (cfg.series.length) {
      chosen = [];
      cfg.series.forEach(function (name) {
        var found = doc.series.filter(function (s) { return s && String(s.name) === name; })[0];
        if (found) {
          chosen.push(found);
        } else {
          missing.push(name);
        }
      });
    } else {
      chosen = doc.series.filter(function (s) { return s && s.name !== undefined; });
    }
    var hasRuns = Array.isArray(doc.runs) && doc.runs.some(function (r) { return r && r.ok === false; });
    if (!chosen.length && !hasRuns) {
      var parts = ["No backups recorded for node " + cfg.node + " yet"];
      if (missing.length) {
        parts.push(" (not in the data: " + missing.join(", ") + ")");
      }
      parts.push(". Run ", { code: "scm-monitor collect" }, " and ", { code: EXPORT_HINT }, ".");
      showMessage(container, parts, false);
      return;
    }

    var old = charts.get(container);
    if (old) {
      charts.delete(container);
      old.destroy();
    }
    clear(container);
    var plot = el("div", "scmmonitor-plot");
    plot.style.height = cfg.height;
    container.appendChild(plot);
    if (missing.length) {
      container.appendChild(el("p", "scmmonitor-note",
        "Not in the data of node " + cfg.node + ": " + missing.join(", ")));
    }
    var chart = H.stockChart(plot, chartOptions(container, cfg, doc, chosen));
    charts.set(container, chart);
    container.classList.add("scmmonitor-drawn");
  }

  // At most one chart is drawn per animation frame (a Stock chart is some
  // 100 ms of main-thread work): when many come in view at once, as in a fast
  // scroll, the page still paints and scrolls between them. A chart whose
  // frame is free is drawn at once, the others wait for the next frames.
  var turns = [];
  var frameTaken = false;

  function nextFrame(fn) {
    if (typeof window.requestAnimationFrame === "function") {
      window.requestAnimationFrame(fn);
    } else {
      window.setTimeout(fn, 16);
    }
  }

  function frameDone() {
    frameTaken = false;
    var job = turns.shift();
    if (job) {
      takeFrame();
      job();
    }
  }

  function takeFrame() {
    frameTaken = true;
    nextFrame(frameDone);
  }

  function inTurn(draw) {
    return new Promise(function (resolve) {
      var job = function () {
        try {
          draw();
        } finally {
          resolve();
        }
      };
      if (frameTaken) {
        turns.push(job);
      } else {
        takeFrame();
        job();
      }
    });
  }

  function drawChart(container) {
    var cfg = chartConfig(container);
    attempted.add(container);
    if (!highcharts()) {
      showMessage(container, ["Highcharts did not load (", { code: highstockScript() },
        " missing?): see the ", { code: "scmmonitor_highcharts" }, " setting in conf.py."], true);
      return Promise.resolve();
    }
    if (!cfg.src) {
      showMessage(container, ["No data URL for node " + cfg.node + " (data-scm-src is empty): rebuild the docs."], true);
      return Promise.resolve();
    }
    return loadDocument(cfg.src).then(function (doc) {
      return inTurn(function () {
        try {
          renderChart(container, cfg, doc);
        } catch (err) {
          showMessage(container, ["Could not draw the backup chart for node " + cfg.node + " from ",
            { code: absolute(cfg.src) }, ": " + (err && err.message ? err.message : String(err)) + "."], true);
        }
      });
    }, function (err) {
      showMessage(container, loadFailure("the backup data", cfg.node, cfg.src, err), true);
    });
  }

  /* ------------------------------------------------------------------ *
   * Status tables
   * ------------------------------------------------------------------ */

  function statusCell(status) {
    var lv = level(status);
    var td = el("td", "scmmonitor-status-cell scmmonitor-" + lv);
    var symbol = el("span", "scmmonitor-symbol", LEVEL_SYMBOL[lv] + " ");
    symbol.setAttribute("aria-hidden", "true");
    td.appendChild(symbol);
    td.appendChild(el("span", "scmmonitor-word", lv === "unknown" && status ? String(status) : lv));
    return td;
  }

  function row(cells, status) {
    var tr = el("tr", "scmmonitor-row scmmonitor-row-" + level(status));
    cells.forEach(function (cell) {
      tr.appendChild(cell instanceof Node ? cell : el("td", null, cell));
    });
    return tr;
  }

  function lastPoint(points, back) {
    if (!Array.isArray(points) || points.length < back) {
      return null;
    }
    var p = points[points.length - back];
    return Array.isArray(p) ? p : null;
  }

  function seriesRow(node, s, now) {
    var words = reasonWords(s);
    var details = Array.isArray(s.details) ? s.details : [];
    var reason = words.map(function (w, i) {
      return details[i] ? w + ": " + details[i] : w;
    }).join("; ");
    var last = lastPoint(s.data, 1);
    var before = lastPoint(s.data, 2);
    var newest = isNum(s.newest) ? s.newest : (last ? last[0] : null);
    var size = isNum(s.size) ? s.size : (last ? last[1] : null);
    var previous = isNum(s.previous_size) ? s.previous_size : (before ? before[1] : null);
    var age = el("td", "scmmonitor-age", isNum(newest) ? humanAge((now - newest) / 1000) : DASH);
    if (isNum(newest)) {
      age.title = utcDate(newest);
    }
    var sizeCell = el("td", "scmmonitor-size", humanBytes(size));
    if (isNum(size)) {
      sizeCell.title = thousands(size) + " bytes";
    }
    return row([node, String(s.name), statusCell(s.status), reason || DASH, age, sizeCell,
      el("td", "scmmonitor-change", percentChange(size, previous))], s.status);
  }

  function nodeRows(node, doc, now) {
    var rows = [];
    (Array.isArray(doc.reasons) ? doc.reasons : []).forEach(function (r) {
      var word = typeof r === "string" ? r : (r && r.reason) || "?";
      var detail = r && typeof r === "object" && r.detail ? String(r.detail) : "";
      var status = NODE_REASON_LEVEL[word] || doc.status;
      rows.push(row([node, DASH, statusCell(status), detail ? word + ": " + detail : word,
        DASH, DASH, DASH], status));
    });
    doc.series.forEach(function (s) {
      // retired series are charted but not judged: no status row, as in the build-time table
      if (s && s.name !== undefined && s.retired !== true) {
        rows.push(seriesRow(node, s, now));
      }
    });
    if (!rows.length) {
      rows.push(row([node, DASH, statusCell(doc.status), "no backup series found", DASH, DASH, DASH],
        doc.status));
    }
    return rows;
  }

  // The build-time rows of each node (first cell = node; blank = same as above)
  function buildTimeRows(tbody, nodes) {
    var byNode = new Map();
    var current = null;
    Array.prototype.forEach.call(tbody ? tbody.rows : [], function (tr) {
      var name = tr.getAttribute("data-scm-node");
      if (!name) {
        var first = tr.cells.length ? tr.cells[0].textContent.trim() : "";
        name = nodes.indexOf(first) !== -1 ? first : current;
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

  function fillStatus(box) {
    var nodes = parseList(box.getAttribute("data-scm-nodes"));
    var base = box.getAttribute("data-scm-base") || "";
    var table = box.querySelector("table");
    if (!table || !nodes.length) {
      return Promise.resolve();
    }
    var results = nodes.map(function (node) {
      if (!NODE_NAME.test(node)) {
        return Promise.resolve({ node: node, error: new LoadError("not a valid node name") });
      }
      var url = base + encodeURIComponent(node) + ".json";
      return loadDocument(url).then(function (doc) {
        return { node: node, url: url, doc: doc };
      }, function (err) {
        return { node: node, url: url, error: err };
      });
    });
    return Promise.all(results).then(function (answers) {
      var now = Date.now();
      var oldBody = table.tBodies.length ? table.tBodies[0] : null;
      var previous = buildTimeRows(oldBody, nodes);
      var body = el("tbody");
      var problems = [];
      var exported = [];
      answers.forEach(function (a) {
        if (a.doc) {
          nodeRows(a.node, a.doc, now).forEach(function (tr) { body.appendChild(tr); });
          var at = parseTime(a.doc.generated_at);
          if (at !== null) {
            exported.push({ node: a.node, at: at });
          }
        } else {
          (previous.get(a.node) || []).forEach(function (tr) { body.appendChild(tr); });
          problems.push(a);
        }
      });
      if (oldBody) {
        table.replaceChild(body, oldBody);
      } else {
        table.appendChild(body);
      }
      Array.prototype.forEach.call(box.querySelectorAll(".scmmonitor-status-note"), function (n) {
        n.parentNode.removeChild(n);
      });
      if (exported.length) {
        var old = exported.some(function (e) { return now - e.at > OLD_EXPORT_HOURS * 3600 * 1000; });
        var note = el("p", "scmmonitor-note scmmonitor-status-note" + (old ? " scmmonitor-warn" : ""));
        note.appendChild(document.createTextNode("Live status, exported " + exported.map(function (e) {
          return (exported.length > 1 ? e.node + " " : "") + humanAge((now - e.at) / 1000) + " ago (" +
            utcDate(e.at) + ")";
        }).join("; ") + (old ? ". That is old: is " : ".")));
        if (old) {
          appendParts(note, [{ code: EXPORT_HINT }, " still run after each collection?"]);
        }
        box.appendChild(note);
      }
      problems.forEach(function (a) {
        var parts = a.url ? loadFailure("the live status", a.node, a.url, a.error)
          : ["Node " + a.node + ": " + a.error.message + "."];
        parts.push(" Its rows show the status when the docs were built.");
        var p = el("p", "scmmonitor-note scmmonitor-status-note scmmonitor-error");
        box.appendChild(appendParts(p, parts));
      });
      box.classList.add("scmmonitor-live");
    });
  }

  /* ------------------------------------------------------------------ *
   * Start
   * ------------------------------------------------------------------ */

  function safely(promise) {
    return Promise.resolve(promise).catch(function (err) {
      // Never an uncaught error; the containers already say what went wrong where possible
      if (window.console && console.warn) {
        console.warn("scmmonitor:", err);
      }
    });
  }

  function watch(container) {
    var cfg = chartConfig(container);
    container.style.minHeight = cfg.height;
    if (!observer) {
      safely(drawChart(container));
      return;
    }
    if (cfg.src && highcharts() && nearView(container)) {
      // in view from the start: fetch now, not after the observer's first report
      loadDocument(cfg.src).catch(function () { /* drawChart reports it */ });
    }
    observer.observe(container);
  }

  function nearView(node) {
    var box = node.getBoundingClientRect();
    var height = window.innerHeight || document.documentElement.clientHeight;
    return box.bottom >= -MARGIN && box.top <= height + MARGIN;
  }

  function start() {
    if ("IntersectionObserver" in window) {
      observer = new IntersectionObserver(function (entries) {
        entries.forEach(function (entry) {
          if (entry.isIntersecting) {
            observer.unobserve(entry.target);
            safely(drawChart(entry.target));
          }
        });
      }, { rootMargin: MARGIN + "px 0px" });
    }
    Array.prototype.forEach.call(document.querySelectorAll(".scmmonitor-chart"), watch);
    Array.prototype.forEach.call(document.querySelectorAll(".scmmonitor-status"), function (box) {
      safely(fillStatus(box));
    });
  }

  // Fetch the data again (fresh export) and redraw what is drawn; lazy charts stay lazy
  function redraw() {
    cache.clear();
    var jobs = [];
    attempted.forEach(function (container) {
      jobs.push(safely(drawChart(container)));
    });
    Array.prototype.forEach.call(document.querySelectorAll(".scmmonitor-status"), function (box) {
      jobs.push(safely(fillStatus(box)));
    });
    return Promise.all(jobs);
  }

  window.scmmonitor = { version: VERSION, redraw: redraw };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());

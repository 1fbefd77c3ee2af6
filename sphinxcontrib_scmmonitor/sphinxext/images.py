"""A chart's JSON document -> a PNG picture with matplotlib, for builders without JavaScript."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..atomic import atomic_file
from ..export import undelta
from ..text import human_size

#: the initial range of the interactive chart, in days
RANGE_DAYS = {"1m": 31, "3m": 92, "6m": 183, "1y": 366}
DPI = 100
SIZE_INCHES = (9.0, 4.2)


def available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def file_name(options: dict[str, Any]) -> str:
    """Deterministic: the same chart options give the same file (and LaTeX/epub names)."""
    key = json.dumps(options, sort_keys=True, ensure_ascii=True).encode()
    digest = hashlib.sha1(key, usedforsecurity=False).hexdigest()[:16]
    return f"scmmonitor-{options['node']}-{digest}.png"


def _text(value: str) -> str:
    """Data, not markup: matplotlib would read $...$ as math and hide labels starting with _."""
    value = value.replace("$", r"\$")
    return "\u2009" + value if value.startswith("_") else value


def _bytes_label(value: float, _pos: object = None) -> str:
    return human_size(int(value)) if value >= 0 else "-" + human_size(int(-value))


def render(doc: dict[str, Any], options: dict[str, Any], path: Path) -> None:
    """Draw the chart as the page would at its initial range, and write it atomically."""
    from matplotlib import dates as mdates
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, LogLocator, NullLocator, PercentFormatter

    metric, scale = options["metric"], options["scale"]
    wanted = options["series"] or [s["name"] for s in doc["series"]]
    by_name = {s["name"]: s for s in doc["series"]}
    series = [by_name[n] for n in wanted if n in by_name]
    # format 2's delta columns -> [epoch seconds, value] points
    points = {s["name"]: [list(p) for p in zip(undelta(s["t"]), undelta(s[metric]),
                                               strict=True)] for s in series}
    newest = max((p[-1][0] for p in points.values() if p), default=None)
    start = None
    if newest is not None and options["range"] in RANGE_DAYS:
        start = newest - RANGE_DAYS[options["range"]] * 86400

    with rc_context({"font.size": 9, "axes.titlesize": 11}):
        fig = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.subplots()
        ax.set_title(_text(options["title"]))
        drawn = 0
        for s in series:
            pts = [p for p in points[s["name"]] if start is None or p[0] >= start]
            if scale == "log":
                pts = [p for p in pts if p[1] > 0]
            if scale == "percent":
                base = next((p[1] for p in pts if p[1]), None)
                pts = [[p[0], 100.0 * (p[1] - base) / base] for p in pts] if base else []
            if not pts:
                continue
            when = [datetime.fromtimestamp(p[0], UTC) for p in pts]
            style = "--" if s.get("status") in ("warn", "alarm") else "-"
            label = _text(s["name"]) + ("" if s.get("status", "ok") == "ok"
                                        else f" ({s['status']})")
            ax.plot(when, [p[1] for p in pts], linestyle=style, linewidth=1.4, label=label,
                    drawstyle="steps-post" if metric == "count" else "default")
            drawn += 1
        failed = [datetime.fromtimestamp(r["at"], UTC) for r in doc.get("runs", [])
                  if not r.get("ok") and r.get("at") and (start is None or r["at"] >= start)]
        for i, when in enumerate(failed):
            ax.axvline(when, color="#c62828", linestyle=":", linewidth=1,
                       label="failed collection" if i == 0 else None)
        if not drawn:
            ax.text(0.5, 0.5, "no backup data", transform=ax.transAxes, ha="center",
                    va="center", color="#666")
        if scale == "log" and metric == "size":
            # powers of two land on round units: 1 MB, 4 MB, 16 MB ...
            ax.set_yscale("log", base=2)
            ax.yaxis.set_major_locator(LogLocator(base=2, numticks=8))
            ax.yaxis.set_minor_locator(NullLocator())
        elif scale == "log":
            ax.set_yscale("log")
        if scale == "percent":
            ax.yaxis.set_major_formatter(PercentFormatter(decimals=0))
            ax.set_ylabel("change since the first backup shown")
        elif metric == "count":
            ax.set_ylabel("backups kept")
        else:
            ax.yaxis.set_major_formatter(FuncFormatter(_bytes_label))
            ax.set_ylabel("size")
        locator = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, tz=UTC))
        ax.grid(True, color="#e0e0e0", linewidth=0.6)
        if drawn or failed:
            fig.legend(loc="outside right upper", fontsize=8, frameon=False)
        with atomic_file(path, binary=True) as fh:
            # no "Software" entry: the same data gives byte-identical files
            fig.savefig(fh, format="png", dpi=DPI, metadata={"Software": None})

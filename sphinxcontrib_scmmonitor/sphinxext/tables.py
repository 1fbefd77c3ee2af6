"""The build-time tables made from a build's data: status, a chart's fallback, the calendar.

What a page shows before (or without) its script: the live HTML status table is
written from the same cells (visitors.py), other builders get docutils tables.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import NamedTuple

from docutils import nodes

from .. import nights
from ..checks import Report, human_age, human_size
from ..status import change
from ..status import rows as status_rows
from ..store import StoreError
from ..text import DASH
from .data import BuildData

#: the status table's columns, in the order the page's script writes its live rows
STATUS_COLUMNS = (("node", "Node"), ("series", "Series"), ("status", "Status"),
                  ("reason", "Reason"), ("age", "Newest backup"), ("size", "Size"),
                  ("change", "Change"))
STATUS_WIDTHS = (6, 14, 7, 33, 10, 10, 8)
CHART_COLUMNS = ("Series", "Status", "Newest backup", "Age", "Size", "Change", "Kept")
CHART_WIDTHS = (24, 8, 20, 8, 12, 10, 6)



def _entry(text: str, classes: Sequence[str] = ()) -> nodes.entry:
    entry = nodes.entry(classes=list(classes))
    entry += nodes.paragraph(text=text)
    return entry


def _table(headers: Sequence[str], rows: Sequence[Sequence[nodes.entry]],
           widths: Sequence[int], classes: Sequence[str],
           header_classes: Sequence[Sequence[str]] = ()) -> nodes.table:
    table = nodes.table(classes=list(classes))
    group = nodes.tgroup(cols=len(headers))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)
    head = nodes.thead()
    group += head
    row = nodes.row()
    for i, text in enumerate(headers):
        row += _entry(text, header_classes[i] if i < len(header_classes) else ())
    head += row
    body = nodes.tbody()
    group += body
    for cells in rows:
        row = nodes.row()
        row.extend(cells)
        body += row
    return table


def _status_entry(level: str) -> nodes.entry:
    return _entry(level, _status_classes(level))


#: one table cell: its text and its classes
Cell = tuple[str, list[str]]


class StatusCells(NamedTuple):
    """The status table's rows, and the line that says as of when (its caption)."""

    rows: list[list[Cell]]
    as_of: str


def status_cells(build: BuildData, names: Sequence[str], now: float,
                 page: bool = True) -> StatusCells:
    """The status of ``names`` as of ``now``, one row per series and finding.

    Each cell carries a class naming its column: the stylesheet lets Change, then
    Size, step aside in a narrow column; the page script's live rows carry the same.
    ``page``: the cells as the page script writes its live rows (dashes, ``+12 %``);
    else plain ASCII, as the terminal's table (LaTeX has no glyph for every sign).
    """
    rows: list[list[Cell]] = []
    problem = build.error
    report: Report | None = None
    none = DASH if page else "-"
    if build.settings is not None:
        try:
            report = Report(generated_at=now,
                            nodes=[build.node_status(name, now) for name in names])
        except StoreError as exc:
            problem = f"cannot read the store: {exc}"
    if report is None:
        for name in names:
            rows.append([(name, []), (none, []), ("unknown", _status_classes("unknown")),
                         (f"no status at build time ({problem})", []), (none, []),
                         (none, []), (none, [])])
    else:
        for row in status_rows(report, page=page):
            rows.append([(row[key], _status_classes(row[key]) if key == "status" else [])
                         for key, _ in STATUS_COLUMNS])
    for cells in rows:
        for (_, classes), (key, _) in zip(cells, STATUS_COLUMNS, strict=True):
            classes.append(f"scmmonitor-col-{key}")
    return StatusCells(rows, as_of(report, now))


def as_of(report: Report | None, now: float) -> str:
    """"As of the listings of 2026-12-01 13:25 UTC; ages at the build, ...": what a table
    frozen at build time (no script, ``file://``, print) says about its own time.

    Nodes listed at the same minute share one time; the others are named with theirs.
    """
    built = _stamp(now)
    if report is None or not report.nodes:
        return f"Status at the build, {built}."
    by_stamp: dict[str, list[str]] = {}
    for node in report.nodes:
        stamp = "never" if node.observed_at is None else _stamp(node.observed_at)
        by_stamp.setdefault(stamp, []).append(node.node)
    if len(by_stamp) == 1:
        listings = next(iter(by_stamp))
    else:
        listings = "; ".join(f"{stamp} ({', '.join(names)})" for stamp, names in by_stamp.items())
    return f"As of the listings of {listings}; ages at the build, {built}."


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))


def _status_classes(level: str) -> list[str]:
    # a word, never colour alone; the page's script adds a symbol when it refreshes
    return ["scmmonitor-status-cell", f"scmmonitor-{level}"]


def status_table(cells: StatusCells) -> list[nodes.Node]:
    """:func:`status_cells` as a docutils table and its caption (builders other than live
    HTML)."""
    # colwidths-auto: no <col style="width: ..."> (an inline style a strict CSP blocks)
    table = _table([h for _, h in STATUS_COLUMNS],
                   [[_entry(text, classes) for text, classes in row] for row in cells.rows],
                   STATUS_WIDTHS, ["scmmonitor-status-table", "colwidths-auto"],
                   [[f"scmmonitor-col-{key}"] for key, _ in STATUS_COLUMNS])
    return [table, nodes.paragraph(text=cells.as_of,
                                   classes=["scmmonitor-note", "scmmonitor-status-asof"])]


def chart_fallback(build: BuildData, name: str, title: str, series: Sequence[str],
                   now: float) -> list[nodes.Node]:
    """The newest backup per series: what a builder without the page's script shows."""
    caption = nodes.paragraph(classes=["scmmonitor-caption"])
    caption += nodes.strong(text=title)
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(now))
    if build.settings is None or name not in build.settings.nodes:
        caption += nodes.Text(f": no backup data at build time ({build.error or 'unknown node'}).")
        return [caption]
    try:
        status = build.node_status(name, now)
    except StoreError as exc:
        caption += nodes.Text(f": no backup data at build time (cannot read the store: {exc}).")
        return [caption]
    caption += nodes.Text(f": newest backup per series on {name} ({status.status}, {stamp}).")
    by_name = {s.name: s for s in status.series}
    wanted = list(series) or list(by_name)
    if status.reasons:
        caption += nodes.Text(" Node: " + "; ".join(f"{r.reason} ({r.level}): {r.detail}"
                                                     for r in status.reasons) + ".")
    rows: list[list[nodes.entry]] = []
    for series_name in wanted:
        st = by_name.get(series_name)
        if st is None:
            rows.append([_entry(series_name), _status_entry("unknown"), _entry("no backup"),
                         _entry("-"), _entry("-"), _entry("-"), _entry("0")])
            continue
        newest = ("-" if st.newest is None
                  else time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(st.newest)))
        age = "-" if st.newest is None else human_age(now - st.newest)
        rows.append([_entry(st.name), _status_entry(st.status), _entry(newest), _entry(age),
                     _entry(human_size(st.size)), _entry(change(st.size, st.previous_size)),
                     _entry(str(st.count))])
    if not rows:
        caption += nodes.Text(" No backup found.")
        return [caption]
    return [caption, _table(CHART_COLUMNS, rows, CHART_WIDTHS, ["scmmonitor-newest-table"])]


def calendar(build: BuildData, names: Sequence[str], days: int,
             now: float) -> tuple[list[nights.Row], str]:
    """The calendar rows of ``names`` from the store as it is now, and why some are missing."""
    if build.settings is None:
        return [], f"no calendar at build time ({build.error})"
    out: list[nights.Row] = []
    try:
        for name in names:
            out.extend(nights.rows(build.document(name, now), days))
    except StoreError as exc:
        return out, f"no calendar at build time (cannot read the store: {exc})"
    return out, ""


def calendar_table(rows: Sequence[nights.Row], days: int, problem: str) -> list[nodes.Node]:
    """The calendar for builders without the page's script: per series, the nights that
    hold no backup or a finding, in words."""
    if problem:
        return [nodes.paragraph(text=problem, classes=["scmmonitor-message"])]
    table_rows = []
    for row in rows:
        odd = [n for n in row.nights if n.kind != "backup"]
        held = days - len(odd)
        text = "; ".join(n.words for n in odd) or "-"
        table_rows.append([_entry(row.node), _entry(row.series),
                           _entry(f"{held} of {days}"), _entry(text)])
    return [_table(["Node", "Series", "Nights with a backup", "Other nights"], table_rows,
                   [8, 20, 10, 62], ["scmmonitor-calendar-fallback"])]

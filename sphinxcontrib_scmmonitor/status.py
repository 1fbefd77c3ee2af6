"""Statuses -> text for terminals and cron mail, JSON, reStructuredText, Prometheus."""

from __future__ import annotations

import json
from typing import Any

from .checks import NAGIOS_WORDS, OK, SEVERITY, NodeStatus, Reason, Report
from .text import DASH, human_age, human_size, percent_change
from .text import escape_controls as printable
from .text import iso_utc as iso

FORMATS = ("text", "json", "rst", "prometheus")


def render(report: Report, fmt: str) -> str:
    return {"text": text, "json": as_json, "rst": rst, "prometheus": prometheus}[fmt](report)


def rows(report: Report, *, healthy_counted: bool = False,
         page: bool = False) -> list[dict[str, str]]:
    """One row per series (and per node-level finding), as strings for tables.

    ``healthy_counted``: a node's OK series become one row counting them, so that a
    mail about one finding in a 150-node hub stays short (docs/operations.rst).
    ``page``: as a page's live table writes them (an empty cell is a dash, a change
    ``+12 %``), for the build-time table of the same page.
    """
    out: list[dict[str, str]] = []
    now = report.generated_at
    none = DASH if page else "-"
    change_of = percent_change if page else change
    for node in report.nodes:
        for r in node.reasons:
            out.append({"node": node.node, "series": none, "status": r.level,
                        "reason": f"{r.reason}: {r.detail}", "age": none, "size": none,
                        "change": none})
        healthy = sum(1 for s in node.series if s.status == OK) if healthy_counted else 0
        if healthy:
            out.append({"node": node.node, "series": f"{healthy} series", "status": OK,
                        "reason": none, "age": none, "size": none, "change": none})
        for s in node.series:
            if healthy and s.status == OK:
                continue
            age = s.age_hours(now)
            out.append({
                "node": node.node, "series": s.name, "status": s.status,
                "reason": "; ".join(f"{r.reason}: {r.detail}" for r in s.reasons) or none,
                "age": none if age is None else human_age(age * 3600),
                "size": none if s.size is None else human_size(s.size),
                "change": change_of(s.size, s.previous_size),
            })
    return out


def change(size: int | None, previous: int | None) -> str:
    if size is None or not previous:
        return "-"
    return f"{100 * (size - previous) / previous:+.1f} %"


COLUMNS = (("node", "Node"), ("series", "Series"), ("status", "Status"),
           ("age", "Newest"), ("size", "Size"), ("change", "Change"), ("reason", "Reason"))


#: Nagios shows the first line in its overview: it names nodes up to about this long
HEAD_CHARS = 200
#: what the first line starts with, before its Nagios word (also the UNKNOWN line of the CLI)
HEAD = "SCM BACKUPS"


def head_line(report: Report) -> str:
    """``SCM BACKUPS CRITICAL: C alarm, H1 warn and 135 more``: at most ~200 characters."""
    word = NAGIOS_WORDS[report.conclusion]
    bad = [f"{n.node} {n.status}" for n in report.nodes if n.status != OK]
    start = f"{HEAD} {word}: "
    if not bad:
        return f"{start}{len(report.nodes)} node(s) ok"
    shown: list[str] = []
    for i, item in enumerate(bad):
        rest = len(bad) - i - 1
        tail = f" and {rest} more" if rest else ""
        if shown and len(start) + len(", ".join([*shown, item])) + len(tail) > HEAD_CHARS:
            return f"{start}{', '.join(shown)} and {len(bad) - len(shown)} more"
        shown.append(item)
    return start + ", ".join(shown)


def text(report: Report, *, healthy_counted: bool = False,
         table_rows: list[dict[str, str]] | None = None) -> str:
    """The first line, the table (``table_rows``, by default :func:`rows`) and when."""
    if table_rows is None:
        table_rows = rows(report, healthy_counted=healthy_counted)
    lines = [head_line(report), "", *table(table_rows), "",
             f"checked {iso(report.generated_at)}; {observed(report)}"]
    return "\n".join(lines) + "\n"


def table(table_rows: list[dict[str, str]]) -> list[str]:
    """Rows as aligned plain-text lines under a heading line."""
    # escaped before measuring, or a name with control characters shifts its row
    cells = [{k: printable(v) for k, v in r.items()} for r in table_rows]
    widths = {k: max([len(h), *(len(r[k]) for r in cells)]) for k, h in COLUMNS}
    lines = ["  ".join(h.ljust(widths[k]) for k, h in COLUMNS).rstrip(),
             "  ".join("-" * widths[k] for k, _ in COLUMNS)]
    lines += ["  ".join(r[k].ljust(widths[k]) for k, _ in COLUMNS).rstrip() for r in cells]
    return lines


def observed(report: Report) -> str:
    """'observed C 2026-12-01T08:55:00Z, H1 never': when each node's data was listed.

    The series are judged as of then (docs/concepts.rst), so every output says it.
    """
    return "observed " + ", ".join(
        f"{n.node} {iso(n.observed_at) if n.observed_at is not None else 'never'}"
        for n in report.nodes)


def as_json(report: Report) -> str:
    return json.dumps(document(report), indent=2, ensure_ascii=True) + "\n"


def document(report: Report) -> dict[str, Any]:
    now = report.generated_at
    return {
        "conclusion": report.conclusion,
        "exit_code": report.exit_code,
        "generated_at": iso(now),
        "observed_at": _iso_or_none(report.observed_at),
        "nodes": [_node_doc(n, now) for n in report.nodes],
    }


def _node_doc(node: NodeStatus, now: float) -> dict[str, Any]:
    return {
        "node": node.node,
        "hub": node.hub,
        "status": node.status,
        "reasons": [_finding(r) for r in node.reasons],
        "last_run": iso(node.last_run_at) if node.last_run_at else None,
        "last_run_ok": node.last_run_ok,
        "last_good_run": _iso_or_none(node.last_good_at),
        "observed_at": _iso_or_none(node.observed_at),
        "series": [{
            "name": s.name,
            "status": s.status,
            "reasons": [r.reason for r in s.reasons],
            "details": [r.detail for r in s.reasons],
            # the same findings whole: level, and the backup times (epoch s) they are about
            "findings": [_finding(r) for r in s.reasons],
            "newest": iso(s.newest) if s.newest is not None else None,
            "age_hours": None if s.newest is None else round(s.age_hours(now) or 0, 3),
            "size": s.size,
            "previous_size": s.previous_size,
            "count": s.count,
        } for s in node.series],
    }


def _finding(r: Reason) -> dict[str, Any]:
    return {"reason": r.reason, "level": r.level, "detail": r.detail, "at": list(r.at)}


def _iso_or_none(at: float | None) -> str | None:
    return iso(at) if at is not None else None


def rst(report: Report) -> str:
    """A list-table for ``.. include::`` in a Sphinx page."""
    lines = [".. list-table:: Backup status "
             f"({NAGIOS_WORDS[report.conclusion]}, checked {iso(report.generated_at)}, "
             f"{_rst_inline(observed(report))})",
             "   :header-rows: 1", ""]
    lines.append("   * - " + "\n     - ".join(h for _, h in COLUMNS))
    for r in rows(report):
        cells = [_rst_escape(r[k]) if k != "status" else f"**{r[k].upper()}**"
                 for k, _ in COLUMNS]
        lines.append("   * - " + "\n     - ".join(cells))
    return "\n".join(lines) + "\n"


def _rst_escape(value: str) -> str:
    """Names are data: escape every character reST could read as markup.

    The leading escaped space (which reST drops) keeps a cell starting like a list,
    an enumeration or a comment ("- x", "1. x", "(a) x", ".. x") a plain paragraph.
    """
    return "\\ " + _rst_inline(value)


def _rst_inline(value: str) -> str:
    """Text where reST sees no inline markup (emphasis, references, substitutions)."""
    value = printable(value).replace("\\", "\\\\")
    for ch in "*`|_[]<>:":
        value = value.replace(ch, "\\" + ch)
    return value


def prometheus(report: Report) -> str:
    """Text exposition format, for node_exporter's textfile collector."""
    now = report.generated_at
    levels = {"ok": 0, "warn": 1, "alarm": 2, "unknown": 3}
    metrics: dict[str, tuple[str, str, list[str]]] = {
        "scmmonitor_backup_newest_timestamp_seconds":
            ("gauge", "Time of the newest backup of a series (UTC epoch seconds).", []),
        "scmmonitor_backup_newest_age_seconds":
            ("gauge", "Age of the newest backup of a series.", []),
        "scmmonitor_backup_newest_size_bytes":
            ("gauge", "Size of the newest backup of a series.", []),
        "scmmonitor_backup_count": ("gauge", "Backups of a series present on the node.", []),
        "scmmonitor_backup_status":
            ("gauge", "Status of a series: 0 ok, 1 warn, 2 alarm.", []),
        "scmmonitor_node_status": ("gauge", "Status of a node: 0 ok, 1 warn, 2 alarm.", []),
        "scmmonitor_node_last_success_timestamp_seconds":
            ("gauge", "Time of the node's last successful collection.", []),
        "scmmonitor_node_observed_timestamp_seconds":
            ("gauge", "When the node's data was observed (end of its last good collection): "
                      "its series are judged as of then.", []),
        "scmmonitor_node_last_run_success":
            ("gauge", "1 if the node's latest collection succeeded.", []),
        "scmmonitor_findings":
            ("gauge", "Findings of one reason on a node (its series' and its own); every "
                      "reason is present, 0 when none.", []),
    }

    def add(name: str, labels: dict[str, str], value: float) -> None:
        text_labels = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        metrics[name][2].append(f"{name}{{{text_labels}}} {value:.17g}")

    for node in report.nodes:
        nl = {"hub": node.hub, "node": node.node}
        add("scmmonitor_node_status", nl, levels[node.status])
        if node.observed_at is not None:
            add("scmmonitor_node_last_success_timestamp_seconds", nl, node.observed_at)
            add("scmmonitor_node_observed_timestamp_seconds", nl, node.observed_at)
        if node.last_run_ok is not None:
            add("scmmonitor_node_last_run_success", nl, 1 if node.last_run_ok else 0)
        found = [r.reason for r in node.reasons] + [r.reason for s in node.series
                                                    for r in s.reasons]
        # stable labels: a finding that goes away is a 0, not a series that disappears
        for reason, lv in SEVERITY.items():
            add("scmmonitor_findings", {**nl, "reason": reason, "level": lv}, found.count(reason))
        for s in node.series:
            sl = {**nl, "series": s.name}
            add("scmmonitor_backup_status", sl, levels[s.status])
            add("scmmonitor_backup_count", sl, s.count)
            if s.newest is not None:
                add("scmmonitor_backup_newest_timestamp_seconds", sl, s.newest)
                add("scmmonitor_backup_newest_age_seconds", sl, max(0.0, now - s.newest))
            if s.size is not None:
                add("scmmonitor_backup_newest_size_bytes", sl, s.size)
    out: list[str] = []
    for name, (kind, help_text, samples) in metrics.items():
        out.append(f"# HELP {name} {help_text}")
        out.append(f"# TYPE {name} {kind}")
        out.extend(samples)
    return "\n".join(out) + "\n"


def _label(value: str) -> str:
    """A label value in the exposition format: ``\\``, ``"`` and newline escaped.

    Any other control character (ESC, CR, TAB...) is written out as the text ``\\xNN``
    (its backslash escaped too), so none ever reaches a scraper raw.
    """
    text = "\n".join(printable(line) for line in value.split("\n"))
    return text.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')

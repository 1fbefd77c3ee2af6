"""One hub's alert mail: plain text and HTML, the same rows grouped by node, and pictures.

Remote names (series, details) reach the HTML escaped and the text with their
control characters written out; only the pictures' random Content-IDs and the
config's checked names reach a header.
"""

from __future__ import annotations

import html
import socket
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import urlsplit

from .. import status as status_mod
from ..checks import ALARM, OK, WARN, Report
from ..config import HubSettings
from ..text import escape_controls
from ..text import iso_utc as iso
from .charts import Pictures, attach
from .rule import RECOVERED, REMINDER, word

#: (text colour, background) per level: the status word is always written out as well,
#: so nothing depends on seeing colour
COLOURS = {
    OK: ("#116329", "#dafbe1"),
    WARN: ("#7d4e00", "#fff8c5"),
    ALARM: ("#a40e26", "#ffebe9"),
}
_UNKNOWN_COLOURS = ("#57606a", "#eaeef2")
_NEXT_MAIL = ("The next mail comes when the findings change, as a daily reminder while they "
              "stay bad, and once when all is OK again.")


def counts(report: Report) -> str:
    """'2 alarms, 1 warning': one per problem row of the status table."""
    levels = [r["status"] for r in status_mod.rows(report)]
    parts = []
    for level, name in ((ALARM, "alarm"), (WARN, "warning")):
        n = levels.count(level)
        if n:
            parts.append(f"{n} {name}{'' if n == 1 else 's'}")
    return ", ".join(parts) or "no problems"


def subject(hub: str, report: Report, kind: str) -> str:
    if kind == RECOVERED:
        return f"[scm-monitor] OK: {hub} backups — recovered"
    text = f"[scm-monitor] {word(report.conclusion)}: {hub} backups — {counts(report)}"
    return text + " (reminder)" if kind == REMINDER else text


def sender(hub: HubSettings) -> str:
    return hub.mail_from or f"scm-monitor@{socket.getfqdn()}"


def build_message(hub: HubSettings, report: Report, kind: str, why: str,
                  pictures: Pictures | None = None) -> EmailMessage:
    """One mail about one hub's nodes (``report`` holds only those).

    multipart/alternative of the text and the HTML part; with pictures, the HTML
    part is multipart/related with one inline image/png per picture.
    """
    pictures = pictures or Pictures()
    msg = EmailMessage()
    msg["Subject"] = subject(hub.name, report, kind)
    msg["From"] = sender(hub)
    msg["To"] = ", ".join(hub.email)
    msg["Date"] = formatdate(report.generated_at, usegmt=True)
    try:
        domain = msg["From"].addresses[0].domain or "localhost"
    except (IndexError, AttributeError):  # an odd mail_from must not stop the alert
        domain = "localhost"
    msg["Message-ID"] = make_msgid("scm-monitor", domain=domain)
    # RFC 3834: keeps vacation auto-replies from answering a monitor
    msg["Auto-Submitted"] = "auto-generated"
    msg["X-SCM-Monitor-Status"] = report.conclusion
    msg.set_content(text_body(hub, report, kind, why, pictures))
    msg.add_alternative(html_body(hub, report, kind, why, pictures), subtype="html")
    attach(msg, pictures.items)
    return msg


def _intro(hub: HubSettings, report: Report, kind: str) -> str:
    if kind == RECOVERED:
        return f"The backups of hub {hub.name} are OK again."
    nodes = ", ".join(n.node for n in report.nodes if n.status != OK)
    still = "still " if kind == REMINDER else ""
    return (f"The backups of hub {hub.name} are {still}{word(report.conclusion)}: "
            f"{counts(report)} (on {nodes}).")


#: node findings that mean its series were not seen afresh: the node is one line, not one
#: "ok" row per series nobody looked at
_NOT_SEEN = ("unreachable", "collector-stale")


def mail_rows(report: Report) -> list[dict[str, str]]:
    """The mail's table rows: grouped by node, each node's problems first; a node that
    could not be listed is its own finding plus any series already in trouble."""
    order = {ALARM: 0, "unknown": 1, WARN: 2, OK: 3}
    unseen = {n.node for n in report.nodes if any(r.reason in _NOT_SEEN for r in n.reasons)}
    position = {n.node: i for i, n in enumerate(report.nodes)}
    rows = [r for r in status_mod.rows(report, healthy_counted=True)
            if not (r["node"] in unseen and r["series"] != "-" and r["status"] == OK)]
    # problems first: the reader should not have to scroll past the healthy series
    return sorted(rows, key=lambda r: (position.get(r["node"], 0), order.get(r["status"], 1)))


def _pictures_note(pictures: Pictures) -> str:
    if pictures.missing:
        return pictures.missing
    if pictures.left_out:
        shown = len(pictures.items)
        return (f"Pictures of the first {shown} of {shown + pictures.left_out} nodes with "
                "findings (the report has them all).")
    return ""


def text_body(hub: HubSettings, report: Report, kind: str, why: str,
              pictures: Pictures | None = None) -> str:
    lines = [_intro(hub, report, kind)]
    if hub.report_url:
        lines.append(f"Report: {hub.report_url}")
    # the findings in full, grouped by node as in the HTML; healthy series as a count
    lines += ["", status_mod.text(report, table_rows=mail_rows(report)).rstrip("\n")]
    note = _pictures_note(pictures or Pictures())
    if note:
        lines += ["", note]
    lines += ["", f"Sent by scm-monitor because: {why}.", _NEXT_MAIL]
    return "\n".join(lines) + "\n"


def _h(value: str) -> str:
    """Escape for HTML; control characters (remote names may hold them) written as \\xNN."""
    return html.escape(escape_controls(value), quote=True)


def _safe_link(url: str) -> str | None:
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


def html_body(hub: HubSettings, report: Report, kind: str, why: str,
              pictures: Pictures | None = None) -> str:
    pictures = pictures or Pictures()
    level = report.conclusion
    fg, bg = COLOURS.get(level, _UNKNOWN_COLOURS)
    cell = "padding:4px 8px;border:1px solid #d0d7de;text-align:left;vertical-align:top"
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{_h(subject(hub.name, report, kind))}</title></head>",
        '<body style="font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328">',
        f'<h2 style="margin:0 0 8px 0">Backups of {_h(hub.name)}: '
        f'<span style="color:{fg};background:{bg};padding:0 6px">{_h(word(level))}</span></h2>',
        f"<p>{_h(_intro(hub, report, kind))}</p>",
    ]
    link = _safe_link(hub.report_url)
    if link:
        out.append(f'<p><a href="{_h(link)}">Open the backup report</a></p>')
    out.append('<table style="border-collapse:collapse;font-size:13px">')
    out.append("<thead><tr>" + "".join(
        f'<th style="{cell};background:#f6f8fa">{_h(head)}</th>'
        for _, head in status_mod.COLUMNS) + "</tr></thead><tbody>")
    for row in mail_rows(report):
        rfg, rbg = COLOURS.get(row["status"], _UNKNOWN_COLOURS)
        cells = []
        for key, _ in status_mod.COLUMNS:
            value = row[key]
            if key == "status":
                # the words of `status` and the docs (ok, warn, alarm); the heading says
                # OK/WARNING/CRITICAL like status's first line
                cells.append(f'<td style="{cell};color:{rfg};background:{rbg};'
                             f'font-weight:bold">{_h(value)}</td>')
            else:
                cells.append(f'<td style="{cell}">{_h(value)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    for picture in pictures.items:
        # width/height: the PNG has twice the pixels, sharp on high-density screens
        out.append(f'<p><img src="{_h(picture.src)}" alt="{_h(picture.alt)}" '
                   f'width="{picture.width}" height="{picture.height}" '
                   'style="max-width:100%;height:auto;border:1px solid #d0d7de"></p>')
    note = _pictures_note(pictures)
    if note:
        out.append(f'<p style="color:#57606a;font-size:12px">{_h(note)}</p>')
    out.append(f'<p style="color:#57606a;font-size:12px">Checked {_h(iso(report.generated_at))}'
               f"; {_h(status_mod.observed(report))}. "
               f"Sent because: {_h(why)}. {_NEXT_MAIL}</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"

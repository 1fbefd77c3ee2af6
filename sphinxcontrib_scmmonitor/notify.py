"""Statuses -> one alert mail per hub (plain text + HTML), without alert storms.

A hub is mailed when its findings change, once a day as a reminder while they
stay the same and bad, and once when it is OK again. What was last mailed is
kept in the store (the ``notifications`` table) as a fingerprint: a hash of
the (node, series, reason) findings and the level. Details such as ages are
left out of it on purpose: they change on every run and would mail every run.
"""

from __future__ import annotations

import hashlib
import html
import json
import logging
import smtplib
import socket
import ssl
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from urllib.parse import urlsplit

from . import status as status_mod
from .atomic import WriteError, write_atomic
from .checks import ALARM, NAGIOS_WORDS, OK, WARN, NodeStatus, Report, evaluate, worst
from .config import HubSettings, Settings
from .store import Store
from .text import escape_controls
from .text import iso_utc as iso

log = logging.getLogger("scmmonitor.notify")

#: a hub still bad with unchanged findings is reminded about once a day
REMIND_AFTER_S = 24 * 3600
SMTP_TIMEOUT_S = 30
SMTPS_PORT = 465

ALERT, REMINDER, RECOVERED = "alert", "reminder", "recovered"
_KIND_WORDS = {ALERT: "an alert", REMINDER: "a reminder", RECOVERED: "a recovery notice"}

#: (text colour, background) per level: the status word is always written out as well,
#: so nothing depends on seeing colour
COLOURS = {
    OK: ("#116329", "#dafbe1"),
    WARN: ("#7d4e00", "#fff8c5"),
    ALARM: ("#a40e26", "#ffebe9"),
}
_UNKNOWN_COLOURS = ("#57606a", "#eaeef2")

Sender = Callable[[HubSettings, EmailMessage], None]


class SendError(Exception):
    """A mail could not be handed to the SMTP server; the message says why."""


class PartlyRefused(SendError):
    """The server took the mail for some recipients and refused others."""


@dataclass(frozen=True)
class Decision:
    """Whether a hub gets a mail now, of which kind, and why (for logs and --dry-run)."""

    kind: str | None  # ALERT, REMINDER, RECOVERED, or None: nothing to send
    why: str


# --- deciding --------------------------------------------------------------------------------


def fingerprint(nodes: Sequence[NodeStatus], level: str) -> str:
    """A stable hash of a hub's findings: (node, series, reason) triples and the level."""
    findings = sorted(
        [(n.node, "node", "", r.reason) for n in nodes for r in n.reasons]
        + [(n.node, "series", s.name, r.reason) for n in nodes for s in n.series
           for r in s.reasons])
    payload = json.dumps([level, findings], ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode("ascii")).hexdigest()


def decide(level: str, fp: str, last: tuple[str, str, float] | None, now: float, *,
           always: bool = False) -> Decision:
    """The no-storm rule: mail on change, a daily reminder while bad, one recovery mail."""
    if level == OK:
        if last is not None and last[0] != OK:
            return Decision(RECOVERED, f"OK again after the {_word(last[0])} mail "
                                       f"of {iso(last[2])}")
        return Decision(None, "OK, nothing to report")
    if always:
        return Decision(ALERT, "--always")
    if last is None or last[0] == OK:
        return Decision(ALERT, f"{_word(level)}, no mail sent about it yet")
    last_level, last_fp, sent_at = last
    if last_fp != fp:
        return Decision(ALERT, f"findings changed since the {_word(last_level)} mail "
                               f"of {iso(sent_at)}")
    if now - sent_at >= REMIND_AFTER_S:
        return Decision(REMINDER, f"still {_word(level)} since the mail of {iso(sent_at)}")
    return Decision(None, f"{_word(level)}, unchanged since the mail of {iso(sent_at)} "
                          f"(reminder after {REMIND_AFTER_S // 3600} h; --always sends now)")


def _word(level: str) -> str:
    return NAGIOS_WORDS.get(level, level.upper())


# --- the message -----------------------------------------------------------------------------


def counts(report: Report) -> str:
    """'2 alarms, 1 warning': one per problem row of the status table."""
    levels = [r["status"] for r in status_mod.rows(report)]
    parts = []
    for level, word in ((ALARM, "alarm"), (WARN, "warning")):
        n = levels.count(level)
        if n:
            parts.append(f"{n} {word}{'' if n == 1 else 's'}")
    return ", ".join(parts) or "no problems"


def subject(hub: str, report: Report, kind: str) -> str:
    if kind == RECOVERED:
        return f"[scm-monitor] OK: {hub} backups — recovered"
    text = f"[scm-monitor] {_word(report.conclusion)}: {hub} backups — {counts(report)}"
    return text + " (reminder)" if kind == REMINDER else text


def sender(hub: HubSettings) -> str:
    return hub.mail_from or f"scm-monitor@{socket.getfqdn()}"


def build_message(hub: HubSettings, report: Report, kind: str, why: str) -> EmailMessage:
    """One multipart/alternative mail about one hub's nodes (``report`` holds only those)."""
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
    msg.set_content(text_body(hub, report, kind, why))
    msg.add_alternative(html_body(hub, report, kind, why), subtype="html")
    return msg


def _intro(hub: HubSettings, report: Report, kind: str) -> str:
    if kind == RECOVERED:
        return f"The backups of hub {hub.name} are OK again."
    nodes = ", ".join(n.node for n in report.nodes if n.status != OK)
    still = "still " if kind == REMINDER else ""
    return (f"The backups of hub {hub.name} are {still}{_word(report.conclusion)}: "
            f"{counts(report)} (on {nodes}).")


def text_body(hub: HubSettings, report: Report, kind: str, why: str) -> str:
    lines = [_intro(hub, report, kind)]
    if hub.report_url:
        lines.append(f"Report: {hub.report_url}")
    # the findings in full, each node's healthy series as a count
    lines += ["", status_mod.text(report, healthy_counted=True).rstrip("\n"), "",
              f"Sent by scm-monitor because: {why}.",
              "The next mail comes when the findings change, as a daily reminder while "
              "they stay bad, and once when all is OK again."]
    return "\n".join(lines) + "\n"


def _h(value: str) -> str:
    """Escape for HTML; control characters (remote names may hold them) written as \\xNN."""
    return html.escape(escape_controls(value), quote=True)


def _safe_link(url: str) -> str | None:
    return url if urlsplit(url).scheme.lower() in ("http", "https") else None


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


def html_body(hub: HubSettings, report: Report, kind: str, why: str) -> str:
    level = report.conclusion
    fg, bg = COLOURS.get(level, _UNKNOWN_COLOURS)
    cell = "padding:4px 8px;border:1px solid #d0d7de;text-align:left;vertical-align:top"
    out = [
        "<!DOCTYPE html>",
        '<html><head><meta charset="utf-8">',
        f"<title>{_h(subject(hub.name, report, kind))}</title></head>",
        '<body style="font-family:Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328">',
        f'<h2 style="margin:0 0 8px 0">Backups of {_h(hub.name)}: '
        f'<span style="color:{fg};background:{bg};padding:0 6px">{_h(_word(level))}</span></h2>',
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
    out.append(f'<p style="color:#57606a;font-size:12px">Checked {_h(iso(report.generated_at))}'
               f"; {_h(status_mod.observed(report))}. "
               f"Sent because: {_h(why)}. The next mail comes when the findings change, as a "
               "daily reminder while they stay bad, and once when all is OK again.</p>")
    out.append("</body></html>")
    return "\n".join(out) + "\n"


# --- sending ---------------------------------------------------------------------------------


def smtp_address(hub: HubSettings) -> tuple[str, int]:
    host, _, port = hub.smtp.rpartition(":")
    return host.strip("[]"), int(port)


def read_password(path: str) -> str:
    if not path:
        raise SendError("smtp_user is set but smtp_password_file is not")
    try:
        with open(path, encoding="utf-8") as fh:
            # only the first line: a trailing newline from an editor is not part of it
            return fh.readline().rstrip("\r\n")
    except OSError as exc:
        raise SendError(f"cannot read smtp_password_file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SendError(f"smtp_password_file {path} is not UTF-8") from None


def send_smtp(hub: HubSettings, msg: EmailMessage) -> None:
    """Hand one message to the hub's SMTP server (STARTTLS and login when configured).

    TLS is verified against the system's CAs (``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` select
    others, as for any OpenSSL program); an unverified server never gets the password.
    """
    host, port = smtp_address(hub)
    password = read_password(hub.smtp_password_file) if hub.smtp_user else None
    if password is not None and not hub.smtp_starttls and port != SMTPS_PORT:
        raise SendError("refusing to send the SMTP password unencrypted: set "
                        "smtp_starttls = true (or use port 465 for implicit TLS)")
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if port == SMTPS_PORT:
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT_S, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT_S)
    with smtp:
        if hub.smtp_starttls and port != SMTPS_PORT:
            smtp.starttls(context=context)
        if password is not None:
            smtp.login(hub.smtp_user, password)
        refused = smtp.send_message(msg)
    if refused:
        who = ", ".join(f"{rcpt} ({code} {_text(reply)})" for rcpt, (code, reply)
                        in sorted(refused.items()))
        raise PartlyRefused(f"the server refused some recipients: {who} (the others got it)")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply


def describe(exc: BaseException) -> str:
    """A one-line reason for a failed send, without Python's noise."""
    if isinstance(exc, SendError):
        return str(exc)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "every recipient was refused: " + ", ".join(
            f"{rcpt} ({code} {_text(reply)})" for rcpt, (code, reply)
            in sorted(exc.recipients.items()))
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"{exc} (does the server offer STARTTLS / AUTH?)"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted: {exc.verify_message}"
    if isinstance(exc, TimeoutError):
        return f"timed out after {SMTP_TIMEOUT_S} s"
    if isinstance(exc, socket.gaierror):
        return f"unknown host ({exc.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


# --- the command ---------------------------------------------------------------------------------


def dry_run_text(hub: HubSettings, msg: EmailMessage, decision: Decision) -> str:
    """Headers and the plain-text part, as ``notify --dry-run`` shows them (no password)."""
    how = [hub.smtp]
    if hub.smtp_starttls:
        how.append("STARTTLS")
    if hub.smtp_user:
        how.append(f"login as {hub.smtp_user}")
    lines = [f"# hub {hub.name}: would send {_KIND_WORDS[decision.kind or ALERT]} via "
             f"{', '.join(how)} ({decision.why})"]
    if not hub.mail_from and "." not in socket.getfqdn():
        lines.append(f"# From {sender(hub)}: this host has no domain name, so many servers "
                     f"refuse it; set mail_from = \"scm-monitor@example.org\" in [hubs.{hub.name}]")
    lines += [f"{name}: {value}" for name, value in msg.items()]
    body = msg.get_body(("plain",))
    lines += ["", body.get_content() if body is not None else ""]
    return "\n".join(lines)


def html_path(html_to: str, hub: str, *, several: bool) -> Path:
    """Where ``--dry-run --html FILE`` writes a hub's HTML part: FILE, or FILE-HUB.html."""
    path = Path(html_to)
    return path.with_name(f"{path.stem}-{hub}{path.suffix or '.html'}") if several else path


def run(settings: Settings, store: Store, *, dry_run: bool = False, always: bool = False,
        now: float | None = None, send: Sender | None = None,
        html_to: str | None = None) -> int:
    """Mail each hub that needs it; 0 sent or nothing to send, 1 any hub's mail failed.

    Every hub is tried, whatever happened to the ones before it: one hub's broken
    mail server (or any other failure) must never keep another hub's alert back.
    """
    now = time.time() if now is None else now
    send = send or send_smtp
    report = evaluate(settings, store, now=now)
    failed = 0
    for hub in settings.hubs.values():
        nodes = [n for n in report.nodes if n.hub == hub.name]
        if not nodes:
            continue
        sub = Report(generated_at=report.generated_at, nodes=nodes)
        try:
            html = (None if not html_to
                    else html_path(html_to, hub.name, several=len(settings.hubs) > 1))
            ok = _notify_hub(hub, sub, store, now, dry_run=dry_run, always=always, send=send,
                             html_to=html)
        except Exception as exc:  # whatever broke, the other hubs' mail comes first
            log.debug("hub %s: mail failed", hub.name, exc_info=True)
            ok = False
            print(f"scm-monitor: cannot send mail for hub {hub.name}: {describe(exc)}",
                  file=sys.stderr)
        failed += not ok
    return 1 if failed else 0


def _notify_hub(hub: HubSettings, report: Report, store: Store, now: float, *, dry_run: bool,
                always: bool, send: Sender, html_to: Path | None = None) -> bool:
    """Decide, build and send one hub's mail; False when sending failed (already said)."""
    level = worst(n.status for n in report.nodes)
    fp = fingerprint(report.nodes, level)
    decision = decide(level, fp, store.last_notification(hub.name), now, always=always)
    if decision.kind is None:
        log.info("hub %s: nothing to send: %s", hub.name, decision.why)
        if dry_run:
            print(f"# hub {hub.name}: nothing to send: {decision.why}")
        return True
    if not hub.email:
        log.info("hub %s is %s but has no email configured: no mail", hub.name, _word(level))
        # not only with -v: findings nobody is told about are the one thing a monitor
        # must not keep quiet about
        print(f"{'# ' if dry_run else 'scm-monitor: '}hub {hub.name} is {_word(level)} but has "
              f"no email configured: nobody was mailed (set email in [hubs.{hub.name}])",
              file=sys.stdout if dry_run else sys.stderr)
        return True
    msg = build_message(hub, report, decision.kind, decision.why)
    if dry_run:
        print(dry_run_text(hub, msg, decision))
        return html_to is None or _write_html(msg, html_to)
    try:
        send(hub, msg)
    except (OSError, smtplib.SMTPException, SendError) as exc:
        print(f"scm-monitor: cannot send mail for hub {hub.name} via {hub.smtp}: "
              f"{describe(exc)}", file=sys.stderr)
        # a partial refusal still reached someone: record it, or they get it every run
        if isinstance(exc, PartlyRefused):
            store.record_notification(hub.name, level, fp, now)
        return False
    store.record_notification(hub.name, level, fp, now)
    print(f"sent {_KIND_WORDS[decision.kind]} for hub {hub.name} ({_word(level)}) to "
          f"{', '.join(hub.email)} via {hub.smtp}")
    return True


def _write_html(msg: EmailMessage, path: Path) -> bool:
    """``--dry-run --html FILE``: the mail's HTML part, to open in a browser."""
    part = msg.get_body(("html",))
    try:
        write_atomic(path, part.get_content() if part is not None else "")
    except WriteError as exc:
        print(f"scm-monitor: --html: {exc}", file=sys.stderr)
        return False
    print(f"# wrote the HTML part to {path}: open it in a browser")
    return True

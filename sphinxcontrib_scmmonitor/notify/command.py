"""``scm-monitor notify``: judge, decide per hub, build the mail, send it or show it.

Every hub is tried whatever happened to the ones before it; the rule is in
:mod:`.rule`, the mail in :mod:`.message`, its pictures in :mod:`.charts` and
the SMTP side in :mod:`.smtp`.
"""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
import sys
import time
from collections.abc import Callable
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ..atomic import WriteError, write_atomic
from ..checks import Report, evaluate, worst
from ..config import HubSettings, Settings
from . import charts
from .message import build_message, sender
from .rule import ALERT, KIND_WORDS, Decision, decide, fingerprint, word
from .smtp import PartlyRefused, SendError, describe, send_smtp

if TYPE_CHECKING:
    from ..store import Reader, Store

log = logging.getLogger("scmmonitor.notify")

Sender = Callable[[HubSettings, EmailMessage], None]
#: a hub's report -> the pictures its mail shows
Drawer = Callable[[Report], charts.Pictures]


def dry_run_text(hub: HubSettings, msg: EmailMessage, decision: Decision) -> str:
    """Headers and the plain-text part, as ``notify --dry-run`` shows them (no password)."""
    how = [hub.smtp]
    if hub.smtp_starttls:
        how.append("STARTTLS")
    if hub.smtp_user:
        how.append(f"login as {hub.smtp_user}")
    lines = [f"# hub {hub.name}: would send {KIND_WORDS[decision.kind or ALERT]} via "
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


def run(settings: Settings, store: Reader, *, dry_run: bool = False, always: bool = False,
        now: float | None = None, send: Sender | None = None,
        html_to: str | None = None) -> int:
    """Mail each hub that needs it; 0 sent or nothing to send, 1 any hub's mail failed.

    ``store``: a :class:`~..store.Store` when mail may go out (it records what was sent);
    a dry run writes nothing, so any reader does (``store.open_reader``: an SQLite file
    without SQLAlchemy, as ``status`` reads it).

    Every hub is tried, whatever happened to the ones before it: one hub's broken
    mail server (or any other failure) must never keep another hub's alert back.
    """
    now = time.time() if now is None else now
    send = send or send_smtp
    report = evaluate(settings, store, now=now)

    def draw(sub: Report) -> charts.Pictures:
        return charts.draw(settings, store, sub)

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
                             html_to=html, draw=draw)
        except Exception as exc:  # whatever broke, the other hubs' mail comes first
            log.debug("hub %s: mail failed", hub.name, exc_info=True)
            ok = False
            print(f"scm-monitor: cannot send mail for hub {hub.name}: {describe(exc)}",
                  file=sys.stderr)
        failed += not ok
    return 1 if failed else 0


def _notify_hub(hub: HubSettings, report: Report, store: Reader, now: float, *, dry_run: bool,
                always: bool, send: Sender, html_to: Path | None = None,
                draw: Drawer | None = None) -> bool:
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
        log.info("hub %s is %s but has no email configured: no mail", hub.name, word(level))
        # not only with -v: findings nobody is told about are the one thing a monitor
        # must not keep quiet about
        print(f"{'# ' if dry_run else 'scm-monitor: '}hub {hub.name} is {word(level)} but has "
              f"no email configured: nobody was mailed (set email in [hubs.{hub.name}])",
              file=sys.stdout if dry_run else sys.stderr)
        return True
    # --dry-run alone shows the text part: drawing the pictures would only cost time
    pictures = (draw(report) if draw is not None and not (dry_run and html_to is None)
                else charts.Pictures())
    msg = build_message(hub, report, decision.kind, decision.why, pictures)
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
            _writer(store).record_notification(hub.name, level, fp, now)
        return False
    _writer(store).record_notification(hub.name, level, fp, now)
    print(f"sent {KIND_WORDS[decision.kind]} for hub {hub.name} ({word(level)}) to "
          f"{', '.join(hub.email)} via {hub.smtp}")
    return True


def _writer(store: Reader) -> Store:
    """The store a mail that went out is recorded in: only a run that sends writes, and
    it is given a :class:`~..store.Store` (cli's ``notify``; a dry run never gets here)."""
    return cast("Store", store)


def _write_html(msg: EmailMessage, path: Path) -> bool:
    """``--dry-run --html FILE``: the mail's HTML part, to open in a browser.

    Its pictures are inlined as ``data:`` URLs, since a browser has no mail to find
    the ``cid:`` parts in.
    """
    part = msg.get_body(("html",))
    page = part.get_content() if part is not None else ""
    for image in msg.walk():
        cid = image["Content-ID"]
        if cid and image.get_content_type() == "image/png":
            data = base64.b64encode(image.get_content()).decode("ascii")
            page = page.replace(f'src="cid:{cid.strip("<>")}"',
                                f'src="data:image/png;base64,{data}"')
    try:
        write_atomic(path, page)
    except WriteError as exc:
        print(f"scm-monitor: --html: {exc}", file=sys.stderr)
        return False
    print(f"# wrote the HTML part to {path}: open it in a browser")
    return True

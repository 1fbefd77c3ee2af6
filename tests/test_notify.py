"""``scm-monitor notify``: real mail to a real SMTP server (aiosmtpd on 127.0.0.1).

The store is filled by the real collector from generated trees; the no-storm rule is
driven by passing ``now=`` so "25 hours later" takes no time.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import email
import importlib.util
import io
import ipaddress
import logging
import re
import ssl
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import policy
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sphinxcontrib_scmmonitor import cli, config, notify
from sphinxcontrib_scmmonitor.checks import NodeStatus, Reason, SeriesStatus
from sphinxcontrib_scmmonitor.collect import collect_all
from sphinxcontrib_scmmonitor.pictures.png import SCALE
from sphinxcontrib_scmmonitor.store import Store
from tests.helpers.backups import plant, toml
from tests.sshd import closed_port, free_port, require_tool

HOUR = 3600
DAY = 24 * HOUR
HOSTILE = "<script>alert(1)</script>"  # two folders on disk: "<script>alert(1)<" / "script>"
REPORT_URL = "https://example.org/docs/scm/monitor/"
PASSWORD = "s3cret pass-W0rd"


# --- a real SMTP server --------------------------------------------------------------------------


@dataclass
class Inbox:
    """An aiosmtpd handler that keeps every message; refuses recipients at nobody@."""

    address: str = ""
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server: SMTPServer, session: Session, envelope: Envelope,
                          address: str, rcpt_options: list[str]) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session,
                          envelope: Envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def authenticate(self, server: SMTPServer, session: Session, envelope: Envelope,
                     mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        login, password = auth_data.login.decode(), auth_data.password.decode()
        self.logins.append((login, password))
        # handled=False: aiosmtpd then answers a failure with 535 itself
        return AuthResult(success=(login, password) == ("monitor", PASSWORD), handled=False)

    @property
    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=policy.default)  # type: ignore[misc]
                for e in self.envelopes]


@contextlib.contextmanager
def smtp_server(**smtp_options: Any) -> Iterator[Inbox]:
    inbox = Inbox()
    if smtp_options.get("auth_required"):
        smtp_options["authenticator"] = inbox.authenticate
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), **smtp_options)
    controller.start()
    inbox.address = f"127.0.0.1:{controller.port}"
    try:
        yield inbox
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[Inbox]:
    with smtp_server() as inbox:
        yield inbox


def throwaway_tls(folder: Path) -> tuple[Path, ssl.SSLContext]:
    """A CA (its PEM file) and a server context with a certificate it signed for 127.0.0.1."""
    now = datetime.now(UTC)

    def build(subject: str, key: ec.EllipticCurvePrivateKey, issuer: x509.Name,
              signer: ec.EllipticCurvePrivateKey, is_ca: bool) -> x509.Certificate:
        b = (x509.CertificateBuilder()
             .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
             .issuer_name(issuer).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
             .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
             .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                            critical=False)
             .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                 signer.public_key()), critical=False))
        if is_ca:
            b = b.add_extension(x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True,
                content_commitment=False, key_encipherment=False, data_encipherment=False,
                key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
        else:
            b = (b.add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
                 .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]),
                                critical=False))
        return b.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "scm-monitor test CA")])
    ca = build("scm-monitor test CA", ca_key, ca_name, ca_key, is_ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build("127.0.0.1", key, ca_name, ca_key, is_ca=False)
    ca_pem = folder / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    chain = folder / "server.pem"
    chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(chain)
    return ca_pem, context


# --- a site: config, trees, store ----------------------------------------------------------------


@dataclass
class Site:
    settings: config.Settings
    store: Store
    root: Path

    def collect(self) -> None:
        results = collect_all(self.store, list(self.settings.nodes.values()))
        assert all(r.ok for r in results), results

    def notify(self, **kwargs: Any) -> int:
        return notify.run(self.settings, self.store, **kwargs)

    def plant(self, series: str, age_hours: float, size: int) -> None:
        plant(self.root, series, int(datetime.now(UTC).timestamp() - age_hours * HOUR),
              "backup.tar.gz", size)


def write_config(folder: Path, hubs: dict[str, dict[str, Any]],
                 nodes: dict[str, dict[str, Any]]) -> Path:
    lines = ['database = "sqlite:///store.db"']
    for name, keys in hubs.items():
        lines += ["", f"[hubs.{name}]", *(f"{k} = {toml(v)}" for k, v in keys.items())]
    for name, keys in nodes.items():
        lines += ["", f"[nodes.{name}]", *(f"{k} = {toml(v)}" for k, v in keys.items())]
    path = folder / "scmmonitor.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def make_site(tmp_path: Path, **hub: Any) -> Site:
    """Hub cms02, node C: tracs/env healthy, repos/env shrunk to 30 %, HOSTILE stale (3 d)."""
    root = tmp_path / "backup"
    cfg = write_config(tmp_path, {"cms02": {
        "email": ["ops@example.org", "dba@example.org"],
        "mail_from": "Backup Monitor <monitor@example.org>",
        "report_url": REPORT_URL, **hub}},
        {"C": {"hub": "cms02", "host": "local", "root": str(root)}})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    site = Site(settings, store, root)
    for age, size in ((49, 1000), (25, 1100), (1, 1200)):
        site.plant("tracs/env", age, size)
    for age, size in ((25, 10_000), (1, 3_000)):
        site.plant("repos/env", age, size)
    for age in (96, 72):
        site.plant(HOSTILE, age, 500)
    site.collect()
    return site


@pytest.fixture
def site(tmp_path: Path, smtp: Inbox) -> Iterator[Site]:
    site = make_site(tmp_path, smtp=smtp.address)
    yield site
    site.store.close()


class Table(HTMLParser):
    """The rows of the mail's HTML table: [(cell text, cell style), ...] per row."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[tuple[str, str]]] = []
        self.links: list[str] = []
        self._cell: list[str] | None = None
        self._style = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell, self._style = [], dict(attrs).get("style") or ""
        elif tag == "a":
            self.links.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(("".join(self._cell), self._style))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def parts(msg: EmailMessage) -> tuple[str, str]:
    text, html = msg.get_body(("plain",)), msg.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


# --- the mail ------------------------------------------------------------------------------------


def test_one_mail_reaches_every_recipient_with_subject_and_headers(site: Site,
                                                                   smtp: Inbox) -> None:
    assert site.notify() == 0

    (envelope,) = smtp.envelopes
    assert envelope.mail_from == "monitor@example.org"
    assert envelope.rcpt_tos == ["ops@example.org", "dba@example.org"]
    (msg,) = smtp.messages
    assert msg["Subject"] == "[scm-monitor] CRITICAL: cms02 backups — 1 alarm, 1 warning"
    assert msg["From"] == "Backup Monitor <monitor@example.org>"
    assert msg["To"] == "ops@example.org, dba@example.org"
    assert abs(parsedate_to_datetime(msg["Date"]).timestamp()
               - datetime.now(UTC).timestamp()) < 60
    assert msg["Message-ID"].startswith("<") and msg["Message-ID"].endswith("@example.org>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    # the HTML part travels with its pictures (docs/operations.rst, "Logs and mail")
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain",
                                                                 "multipart/related"]


def test_text_part_is_the_status_table_of_the_hub(site: Site, smtp: Inbox) -> None:
    site.notify()
    text, _html = parts(smtp.messages[0])
    assert text.startswith("The backups of hub cms02 are CRITICAL: 1 alarm, 1 warning (on C).")
    assert f"Report: {REPORT_URL}" in text
    assert "SCM BACKUPS CRITICAL: C alarm" in text
    row = next(line for line in text.splitlines() if line.startswith("C     repos/env"))
    assert row.split()[2] == "warn" and "-70.0 %" in row and "shrunk:" in row
    assert any(line.startswith(f"C     {HOSTILE}") and "stale:" in line
               for line in text.splitlines())


def test_html_part_has_colour_and_word_per_row_and_the_report_link(site: Site,
                                                                   smtp: Inbox) -> None:
    site.notify()
    _text, html = parts(smtp.messages[0])
    table = Table()
    table.feed(html)
    head, *rows = table.rows
    assert [c for c, _ in head] == ["Node", "Series", "Status", "Newest", "Size", "Change",
                                    "Reason"]
    cells = {row[1][0]: row for row in rows}
    # the healthy series (tracs/env) as a count per node (docs/operations.rst)
    assert set(cells) == {HOSTILE, "repos/env", "1 series"}
    # problems first
    assert [row[1][0] for row in rows] == [HOSTILE, "repos/env", "1 series"]
    # the table's words are status's and the docs' levels (docs/operations.rst, "Words")
    for name, word, colour in ((HOSTILE, "alarm", "#a40e26"), ("repos/env", "warn",
                                                                "#7d4e00"),
                               ("1 series", "ok", "#116329")):
        status_text, status_style = cells[name][2]
        assert status_text == word and f"color:{colour}" in status_style
    assert cells["repos/env"][5][0] == "-70.0 %"
    assert cells["repos/env"][4][0] == "2.9 KB"
    assert cells[HOSTILE][3][0] == "3 d"
    assert cells[HOSTILE][6][0].startswith("stale: newest backup is 3 d old")
    assert REPORT_URL in table.links


def test_a_hostile_series_name_arrives_escaped_in_the_html(site: Site, smtp: Inbox) -> None:
    site.notify()
    _text, html = parts(smtp.messages[0])
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script" not in html.lower()


def test_a_javascript_report_url_is_not_made_a_link(tmp_path: Path, smtp: Inbox) -> None:
    site = make_site(tmp_path, smtp=smtp.address, report_url="javascript:alert(1)")
    site.notify()
    table = Table()
    table.feed(parts(smtp.messages[0])[1])
    assert table.links == []


# --- no alert storms -----------------------------------------------------------------------------


def test_mail_on_change_a_daily_reminder_and_one_recovery_mail(site: Site, smtp: Inbox) -> None:
    t0 = datetime.now(UTC).timestamp()

    assert site.notify(now=t0) == 0
    assert len(smtp.envelopes) == 1

    # cron runs again: same findings, no mail
    assert site.notify(now=t0 + 300) == 0
    assert site.notify(now=t0 + 3 * HOUR) == 0
    assert len(smtp.envelopes) == 1

    # worse: the healthy series gets an empty newest backup
    site.plant("tracs/env", 0.5, 0)
    site.collect()
    assert site.notify(now=t0 + 4 * HOUR) == 0
    assert len(smtp.envelopes) == 2
    assert smtp.messages[1]["Subject"] == \
        "[scm-monitor] CRITICAL: cms02 backups — 2 alarms, 1 warning"
    assert site.notify(now=t0 + 5 * HOUR) == 0
    assert len(smtp.envelopes) == 2

    # still bad a day after the last mail: one reminder, then quiet again
    assert site.notify(now=t0 + 28 * HOUR) == 0
    assert len(smtp.envelopes) == 3
    assert smtp.messages[2]["Subject"] == \
        "[scm-monitor] CRITICAL: cms02 backups — 2 alarms, 1 warning (reminder)"
    assert "still CRITICAL" in parts(smtp.messages[2])[0]
    assert site.notify(now=t0 + 29 * HOUR) == 0
    assert len(smtp.envelopes) == 3

    # fixed: fresh, normal-sized backups everywhere -> one "recovered" mail
    for series, size in (("tracs/env", 1300), ("repos/env", 9_000), (HOSTILE, 500)):
        site.plant(series, 0.1, size)
    site.collect()
    assert site.notify() == 0
    assert len(smtp.envelopes) == 4
    recovered = smtp.messages[3]
    assert recovered["Subject"] == "[scm-monitor] OK: cms02 backups — recovered"
    assert "are OK again" in parts(recovered)[0]
    assert site.notify() == 0
    assert site.notify(now=datetime.now(UTC).timestamp() + 30 * HOUR) == 0  # OK: no reminder
    assert len(smtp.envelopes) == 4
    assert site.store.last_notification("cms02")[0] == "ok"  # type: ignore[index]


def test_always_sends_even_when_nothing_changed(site: Site, smtp: Inbox) -> None:
    site.notify()
    site.notify()
    assert len(smtp.envelopes) == 1
    assert site.notify(always=True) == 0
    assert len(smtp.envelopes) == 2


def test_a_healthy_hub_never_mailed_gets_no_mail(tmp_path: Path, smtp: Inbox) -> None:
    site = make_site(tmp_path, smtp=smtp.address)
    for series, size in (("repos/env", 9_000), (HOSTILE, 500)):
        site.plant(series, 0.1, size)
    site.collect()
    assert site.notify() == 0
    assert site.notify(always=True) == 0  # --always overrides the storm rule, not "only when bad"
    assert smtp.envelopes == []


def test_only_the_hub_in_trouble_is_mailed(tmp_path: Path, smtp: Inbox) -> None:
    bad, good = tmp_path / "bad", tmp_path / "good"
    now = datetime.now(UTC).timestamp()
    plant(bad, "svn/dybsvn", int(now - 3 * DAY), "d.tar.gz", 5)
    plant(good, "svn/dybsvn", int(now - HOUR), "d.tar.gz", 5)
    mail = {"smtp": smtp.address, "mail_from": "m@example.org"}
    cfg = write_config(tmp_path, {"cms02": {"email": ["a@example.org"], **mail},
                                  "gitea": {"email": ["b@example.org"], **mail}},
                       {"C": {"hub": "cms02", "host": "local", "root": str(bad)},
                        "G": {"hub": "gitea", "host": "local", "root": str(good)}})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    collect_all(store, list(settings.nodes.values()))
    assert notify.run(settings, store) == 0
    store.close()
    assert [e.rcpt_tos for e in smtp.envelopes] == [["a@example.org"]]


def test_a_hub_without_email_sends_nothing_and_says_so_at_info(tmp_path: Path, smtp: Inbox,
                                                               caplog) -> None:
    site = make_site(tmp_path, smtp=smtp.address, email=[])
    with caplog.at_level(logging.INFO, logger="scmmonitor.notify"):
        assert site.notify() == 0
    assert smtp.envelopes == []
    assert "hub cms02 is CRITICAL but has no email configured" in caplog.text
    assert site.store.last_notification("cms02") is None


# --- --dry-run -----------------------------------------------------------------------------------


def test_dry_run_prints_headers_and_text_and_sends_and_records_nothing(tmp_path: Path,
                                                                       smtp: Inbox,
                                                                       capsys) -> None:
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    site = make_site(tmp_path, smtp=smtp.address, smtp_starttls=True, smtp_user="monitor",
                     smtp_password_file=str(password_file))

    assert site.notify(dry_run=True) == 0

    out = capsys.readouterr().out
    assert smtp.envelopes == []
    assert site.store.last_notification("cms02") is None
    assert (f"# hub cms02: would send an alert via {smtp.address}, STARTTLS, login as "
            "monitor (CRITICAL, no mail sent about it yet)") in out
    assert "Subject: [scm-monitor] CRITICAL: cms02 backups — 1 alarm, 1 warning" in out
    assert "To: ops@example.org, dba@example.org" in out
    assert "From: Backup Monitor <monitor@example.org>" in out
    assert "SCM BACKUPS CRITICAL: C alarm" in out
    assert "<html" not in out  # the text part only
    assert PASSWORD not in out
    # and nothing was recorded: the real run still sends
    assert site.notify(dry_run=True) == 0
    assert "would send" in capsys.readouterr().out


def test_dry_run_says_why_there_is_nothing_to_send(site: Site, smtp: Inbox, capsys) -> None:
    site.notify()
    capsys.readouterr()
    assert site.notify(dry_run=True) == 0
    assert "# hub cms02: nothing to send: CRITICAL, unchanged since the mail of" in \
        capsys.readouterr().out


def test_cli_notify_dry_run_and_send(site: Site, smtp: Inbox, capsys) -> None:
    cfg = str(site.settings.path)
    assert cli.main(["-c", cfg, "notify", "--dry-run"]) == 0
    assert "Subject: [scm-monitor] CRITICAL" in capsys.readouterr().out
    assert smtp.envelopes == []
    assert cli.main(["-c", cfg, "notify"]) == 0
    assert capsys.readouterr().out == (
        f"sent an alert for hub cms02 (CRITICAL) to ops@example.org, dba@example.org "
        f"via {smtp.address}\n")
    assert cli.main(["-c", cfg, "notify"]) == 0
    assert capsys.readouterr().out == ""
    assert len(smtp.envelopes) == 1


# --- when sending fails --------------------------------------------------------------------------


def test_smtp_down_exits_1_naming_hub_and_server_and_retries_next_run(tmp_path: Path,
                                                                      capsys) -> None:
    port = closed_port()
    site = make_site(tmp_path, smtp=f"127.0.0.1:{port}")

    assert site.notify() == 1

    err = capsys.readouterr().err
    assert err == (f"scm-monitor: cannot send mail for hub cms02 via 127.0.0.1:{port}: "
                   "Connection refused\n")
    assert site.store.last_notification("cms02") is None
    with smtp_server() as inbox:
        site.settings.hubs["cms02"] = config.HubSettings(**{
            **site.settings.hubs["cms02"].__dict__, "smtp": inbox.address})
        assert site.notify() == 0
        assert len(inbox.envelopes) == 1


def test_a_refused_recipient_fails_the_run_but_the_others_get_the_mail_once(
        tmp_path: Path, smtp: Inbox, capsys) -> None:
    site = make_site(tmp_path, smtp=smtp.address, email=["ops@example.org", "nobody@example.org"])
    assert site.notify() == 1
    out, err = capsys.readouterr()
    assert err == (f"scm-monitor: cannot send mail for hub cms02 via {smtp.address}: the server "
                   "refused some recipients: nobody@example.org (550 5.1.1 no such user) "
                   "(the others got it)\n")
    assert out == ""
    assert [e.rcpt_tos for e in smtp.envelopes] == [["ops@example.org"]]
    assert site.notify() == 0  # recorded: ops@ is not mailed again on every run
    assert len(smtp.envelopes) == 1


def test_starttls_and_login_deliver_the_mail(tmp_path: Path, monkeypatch) -> None:
    ca_pem, server_tls = throwaway_tls(tmp_path)
    # trusting a private CA the standard OpenSSL way; verification itself stays on
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD + "\n")
    with smtp_server(tls_context=server_tls, require_starttls=True, auth_required=True) as inbox:
        site = make_site(tmp_path, smtp=inbox.address, smtp_starttls=True, smtp_user="monitor",
                         smtp_password_file=str(password_file))
        assert site.notify() == 0
    assert inbox.logins == [("monitor", PASSWORD)]
    assert len(inbox.envelopes) == 1


def test_an_untrusted_certificate_stops_before_the_password_is_sent(tmp_path: Path,
                                                                    capsys) -> None:
    _ca_pem, server_tls = throwaway_tls(tmp_path)  # the CA is not trusted here
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD)
    with smtp_server(tls_context=server_tls, require_starttls=True, auth_required=True) as inbox:
        site = make_site(tmp_path, smtp=inbox.address, smtp_starttls=True, smtp_user="monitor",
                         smtp_password_file=str(password_file))
        assert site.notify() == 1
    err = capsys.readouterr().err
    assert f"cannot send mail for hub cms02 via {inbox.address}: TLS certificate not trusted" \
        in err
    assert PASSWORD not in err
    assert inbox.logins == [] and inbox.envelopes == []


def test_a_wrong_password_exits_1_with_the_servers_answer(tmp_path: Path, monkeypatch,
                                                          capsys) -> None:
    ca_pem, server_tls = throwaway_tls(tmp_path)
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_pem))
    password_file = tmp_path / "smtp-password"
    password_file.write_text("not the password\n")
    with smtp_server(tls_context=server_tls, require_starttls=True, auth_required=True) as inbox:
        site = make_site(tmp_path, smtp=inbox.address, smtp_starttls=True, smtp_user="monitor",
                         smtp_password_file=str(password_file))
        assert site.notify() == 1
    err = capsys.readouterr().err
    assert "login refused: 535" in err and "not the password" not in err
    assert inbox.envelopes == []


def test_a_password_is_never_sent_without_tls(tmp_path: Path, smtp: Inbox, capsys) -> None:
    password_file = tmp_path / "smtp-password"
    password_file.write_text(PASSWORD)
    site = make_site(tmp_path, smtp=smtp.address, smtp_user="monitor",
                     smtp_password_file=str(password_file))
    assert site.notify() == 1
    assert "refusing to send the SMTP password unencrypted" in capsys.readouterr().err
    assert smtp.envelopes == []


def test_an_unreadable_password_file_is_named_in_the_error(tmp_path: Path, smtp: Inbox,
                                                           capsys) -> None:
    site = make_site(tmp_path, smtp=smtp.address, smtp_starttls=True, smtp_user="monitor",
                     smtp_password_file=str(tmp_path / "nope"))
    assert site.notify() == 1
    assert f"cannot read smtp_password_file {tmp_path / 'nope'}: No such file or directory" in \
        capsys.readouterr().err


# --- the rule itself -----------------------------------------------------------------------------


def node(name: str, *findings: tuple[str, str, str]) -> NodeStatus:
    """findings: (series or "" for the node, reason, detail)."""
    status = NodeStatus(node=name, hub="cms02")
    for series, reason, detail in findings:
        if not series:
            status.reasons.append(Reason(reason, detail))
            continue
        st = next((s for s in status.series if s.name == series), None)
        if st is None:
            st = SeriesStatus(name=series)
            status.series.append(st)
        st.reasons.append(Reason(reason, detail))
    return status


def test_fingerprint_ignores_details_and_order_but_not_findings() -> None:
    a = [node("C", ("svn/x", "stale", "3 d old"), ("", "unreachable", "refused")),
         node("H1", ("svn/y", "empty", "0 bytes"))]
    same = [node("H1", ("svn/y", "empty", "0 bytes")),
            node("C", ("", "unreachable", "timed out"), ("svn/x", "stale", "4 d old"))]
    other = [node("C", ("svn/x", "stale", "3 d old"))]
    assert notify.fingerprint(a, "alarm") == notify.fingerprint(same, "alarm")
    assert notify.fingerprint(a, "alarm") != notify.fingerprint(other, "alarm")
    assert notify.fingerprint(a, "alarm") != notify.fingerprint(a, "warn")


@pytest.mark.parametrize(("level", "last", "now", "always", "kind"), [
    ("alarm", None, 0, False, "alert"),
    ("alarm", ("alarm", "fp", 0.0), 23 * HOUR, False, None),
    ("alarm", ("alarm", "fp", 0.0), 24 * HOUR, False, "reminder"),
    ("alarm", ("warn", "other", 0.0), 60, False, "alert"),
    ("warn", ("alarm", "other", 0.0), 60, False, "alert"),
    ("alarm", ("alarm", "fp", 0.0), 60, True, "alert"),
    ("alarm", ("ok", "x", 0.0), 60, False, "alert"),
    ("ok", ("alarm", "x", 0.0), 60, False, "recovered"),
    ("ok", ("ok", "fp", 0.0), 90 * DAY, True, None),
    ("ok", None, 0, False, None),
])
def test_decide(level: str, last: tuple[str, str, float] | None, now: float, always: bool,
                kind: str | None) -> None:
    assert notify.decide(level, "fp", last, now, always=always).kind == kind


# --- one hub's failure never keeps another hub's mail back ---------------------------------------


def two_hub_site(tmp_path: Path, first_smtp: str, second_smtp: str) -> Site:
    """Hubs alpha (node A) and beta (node B), both CRITICAL (a 3-day-old backup each)."""
    now = datetime.now(UTC).timestamp()
    a, b = tmp_path / "a", tmp_path / "b"
    plant(a, "svn/alpha", int(now - 3 * DAY), "a.tar.gz", 5)
    plant(b, "svn/beta", int(now - 3 * DAY), "b.tar.gz", 5)
    cfg = write_config(tmp_path, {
        "alpha": {"email": ["a@example.org"], "smtp": first_smtp, "mail_from": "m@example.org"},
        "beta": {"email": ["b@example.org"], "smtp": second_smtp, "mail_from": "m@example.org"}},
        {"A": {"hub": "alpha", "host": "local", "root": str(a)},
         "B": {"hub": "beta", "host": "local", "root": str(b)}})
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    site = Site(settings, store, a)
    site.collect()
    return site


def test_a_hub_whose_mail_server_is_down_does_not_stop_the_next_hub(tmp_path: Path, smtp: Inbox,
                                                                    capsys) -> None:
    down = f"127.0.0.1:{closed_port()}"
    site = two_hub_site(tmp_path, down, smtp.address)

    assert site.notify() == 1

    assert [e.rcpt_tos for e in smtp.envelopes] == [["b@example.org"]]
    out, err = capsys.readouterr()
    assert err == f"scm-monitor: cannot send mail for hub alpha via {down}: Connection refused\n"
    assert "sent an alert for hub beta (CRITICAL) to b@example.org" in out
    assert site.store.last_notification("alpha") is None
    assert site.store.last_notification("beta") is not None
    site.store.close()


def test_any_failure_building_one_hubs_mail_is_one_line_and_the_next_hub_is_mailed(
        tmp_path: Path, smtp: Inbox, capsys) -> None:
    # the config refuses a CR/LF in mail_from, a Python caller may not go through it: the
    # email package then refuses the header, which once was a traceback and no mail at all
    site = two_hub_site(tmp_path, smtp.address, smtp.address)
    site.settings.hubs["alpha"] = dataclasses.replace(site.settings.hubs["alpha"],
                                                      mail_from="m@example.org\r\nBcc: x@evil")

    assert site.notify() == 1

    assert [e.rcpt_tos for e in smtp.envelopes] == [["b@example.org"]]
    out, err = capsys.readouterr()
    assert err.startswith("scm-monitor: cannot send mail for hub alpha: ")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "hub beta" in out
    assert site.store.last_notification("alpha") is None
    site.store.close()


def test_the_command_tries_every_hub_and_exits_1_if_any_failed(tmp_path: Path, smtp: Inbox,
                                                               capsys) -> None:
    site = two_hub_site(tmp_path, f"127.0.0.1:{closed_port()}", smtp.address)
    site.store.close()
    assert site.settings.path is not None

    assert cli.main(["-c", str(site.settings.path), "notify"]) == 1

    assert len(smtp.envelopes) == 1
    assert "hub alpha" in capsys.readouterr().err


def test_a_hub_with_findings_and_no_email_is_said_without_verbose(tmp_path: Path, smtp: Inbox,
                                                                  capsys) -> None:
    site = make_site(tmp_path, smtp=smtp.address, email=[])
    assert site.notify() == 0
    assert capsys.readouterr().err == (
        "scm-monitor: hub cms02 is CRITICAL but has no email configured: nobody was mailed "
        "(set email in [hubs.cms02])\n")
    assert site.notify(dry_run=True) == 0
    assert "# hub cms02 is CRITICAL but has no email configured" in capsys.readouterr().out
    site.store.close()


def test_the_mail_says_when_the_data_was_observed(site: Site, smtp: Inbox) -> None:
    assert site.notify() == 0
    text, html_part = parts(smtp.messages[0])
    (run,) = [r for r in site.store.node_data("C").runs if r.ok]
    seen = datetime.fromtimestamp(run.finished_at or 0, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert f"observed C {seen}" in text
    assert f"observed C {seen}" in html_part


# --- the pictures (docs/operations.rst, "Logs and mail") ----------------------------------------


def require_matplotlib() -> None:
    """The pictures need the images extra: skipped without it, failed under CI=true."""
    require_tool(None if importlib.util.find_spec("matplotlib")
                 else "matplotlib is not installed (pip install '.[images]')")


class Images(HTMLParser):
    """The src of every <img> of the HTML part."""

    def __init__(self) -> None:
        super().__init__()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.srcs.append(dict(attrs).get("src") or "")


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from the PNG's signature and IHDR chunk (PNG spec, 5.2 and 11.2.2)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_the_mail_carries_a_png_of_each_node_with_findings_inline(site: Site,
                                                                  smtp: Inbox) -> None:
    require_matplotlib()
    assert site.notify() == 0

    (envelope,) = smtp.envelopes
    msg = smtp.messages[0]
    _text, related = msg.iter_parts()
    html_part, image = related.iter_parts()
    assert (html_part.get_content_type(), image.get_content_type()) == ("text/html",
                                                                        "image/png")
    assert image.get_content_disposition() == "inline"
    assert image.get_filename() == "C.png"
    cid = image["Content-ID"]
    # a token of its own, never made of the node's or a series' (hostile) name
    assert re.fullmatch(r"<chart\.[0-9a-f]{24}@scm-monitor>", cid), cid
    images = Images()
    images.feed(html_part.get_content())
    assert images.srcs == ["cid:" + cid.strip("<>")]
    data = image.get_content()
    assert png_size(data) == (SCALE * notify.charts.WIDTH, SCALE * notify.charts.HEIGHT)
    if importlib.util.find_spec("PIL") is not None:  # Pillow comes with matplotlib
        from PIL import Image

        with Image.open(io.BytesIO(data)) as picture:
            picture.verify()
        with Image.open(io.BytesIO(data)) as picture:
            # a chart, not a blank: the series' colours are in it
            assert len(picture.convert("RGB").getcolors(1 << 20) or []) > 20
    assert "No pictures" not in parts(msg)[0]
    assert len(envelope.content) < 150_000


def test_without_matplotlib_the_mail_goes_out_without_pictures_and_says_so(
        site: Site, smtp: Inbox) -> None:
    # matplotlib not installed: an import of it fails, as Python does for a missing package
    probe = ("import sys; sys.modules['matplotlib'] = None\n"
             "from sphinxcontrib_scmmonitor import cli\n"
             "sys.exit(cli.main(sys.argv[1:]))\n")
    proc = subprocess.run([sys.executable, "-c", probe, "-c", str(site.settings.path),
                           "notify"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    (msg,) = smtp.messages
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text, html_part = parts(msg)
    for body in (text, html_part):
        assert "No pictures in this mail: they need matplotlib, the images extra" in body
    assert "sphinxcontrib-scmmonitor[images]" in text


def test_dry_run_html_shows_the_pictures_without_the_mail(site: Site, smtp: Inbox,
                                                          tmp_path: Path, capsys) -> None:
    require_matplotlib()
    page = tmp_path / "mail.html"
    assert site.notify(dry_run=True, html_to=str(page)) == 0
    images = Images()
    images.feed(page.read_text())
    (src,) = images.srcs
    assert src.startswith("data:image/png;base64,")
    assert png_size(base64.b64decode(src.split(",", 1)[1]))[0] == SCALE * notify.charts.WIDTH
    assert smtp.envelopes == []


def test_past_the_cap_the_mail_says_how_many_nodes_have_no_picture(tmp_path: Path, smtp: Inbox,
                                                                   monkeypatch) -> None:
    require_matplotlib()
    now = datetime.now(UTC).timestamp()
    nodes = {}
    for name in ("A", "B"):
        plant(tmp_path / name, "svn/x", int(now - 3 * DAY), "x.tar.gz", 5)
        nodes[name] = {"hub": "cms02", "host": "local", "root": str(tmp_path / name)}
    cfg = write_config(tmp_path, {"cms02": {"email": ["a@example.org"], "smtp": smtp.address,
                                            "mail_from": "m@example.org"}}, nodes)
    settings = config.load(cfg)
    store = Store(settings.database)
    store.ensure_schema()
    collect_all(store, list(settings.nodes.values()))
    monkeypatch.setattr(notify.charts, "MAX_PICTURES", 1)
    assert notify.run(settings, store) == 0
    store.close()
    (msg,) = smtp.messages
    images = Images()
    images.feed(parts(msg)[1])
    assert len(images.srcs) == 1
    assert "Pictures of the first 1 of 2 nodes with findings" in parts(msg)[0]

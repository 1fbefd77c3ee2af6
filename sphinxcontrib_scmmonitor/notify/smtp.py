"""Handing one mail to a hub's SMTP server (STARTTLS, login), and saying why it failed."""

from __future__ import annotations

import smtplib
import socket
import ssl
from email.message import EmailMessage

from ..config import HubSettings

SMTP_TIMEOUT_S = 30
SMTPS_PORT = 465


class SendError(Exception):
    """A mail could not be handed to the SMTP server; the message says why."""


class PartlyRefused(SendError):
    """The server took the mail for some recipients and refused others."""


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

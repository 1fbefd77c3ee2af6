"""Statuses -> one alert mail per hub (plain text + HTML, pictures), without alert storms.

docs/operations.rst, "Logs and mail": :mod:`.rule` decides whether a hub is
mailed, :mod:`.message` writes the mail, :mod:`.charts` draws its pictures,
:mod:`.smtp` sends it and :mod:`.command` runs ``scm-monitor notify``.
"""

from __future__ import annotations

from .charts import Picture, Pictures
from .command import Sender, dry_run_text, html_path, run
from .message import (
    COLOURS,
    build_message,
    counts,
    html_body,
    mail_rows,
    sender,
    subject,
    text_body,
)
from .rule import (
    ALERT,
    RECOVERED,
    REMIND_AFTER_S,
    REMINDER,
    Decision,
    decide,
    fingerprint,
)
from .smtp import (
    SMTP_TIMEOUT_S,
    SMTPS_PORT,
    PartlyRefused,
    SendError,
    describe,
    read_password,
    send_smtp,
    smtp_address,
)

__all__ = ["ALERT", "COLOURS", "RECOVERED", "REMINDER", "REMIND_AFTER_S", "SMTPS_PORT",
           "SMTP_TIMEOUT_S", "Decision", "PartlyRefused", "Picture", "Pictures", "SendError",
           "Sender", "build_message", "counts", "decide", "describe", "dry_run_text",
           "fingerprint", "html_body", "html_path", "mail_rows", "read_password", "run",
           "send_smtp", "sender", "smtp_address", "subject", "text_body"]

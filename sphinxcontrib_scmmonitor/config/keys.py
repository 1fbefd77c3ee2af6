"""The configuration keys: each one's kind, default, where it may be set, help and check.

The one schema (:data:`SCHEMA`) behind validation, precedence and the generated
configuration reference (docs/configuration.rst).
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..text import KIND_WORDS

NODE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


#: Where a key may be set. "top": the file's top level; "defaults", "hub", "node": those tables.
Level = str


@dataclass(frozen=True)
class Key:
    """One configuration key: its type, default, where it may be set and what it means."""

    name: str
    kind: str  # str, int, float, bool, list[str], path
    default: Any
    levels: tuple[Level, ...]
    help: str
    required: bool = False
    check: Callable[[Any], str | None] | None = None

    @property
    def type_name(self) -> str:
        return KIND_WORDS[self.kind]


def _positive(value: Any) -> str | None:
    # TOML has inf (and nan, which no comparison lets through): an endless age or
    # timeout is a typo, not a setting
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None if value > 0 else "must be greater than 0"


def _timeout(value: Any) -> str | None:
    if problem := _positive(value):
        return problem
    # sockets, locks and select() take at most this many seconds (292 years)
    if value > threading.TIMEOUT_MAX:
        return f"must be at most {threading.TIMEOUT_MAX:.0f} seconds"
    return None


def _ratio(value: Any) -> str | None:
    return None if 0 <= value <= 1 else "must be between 0 and 1"


def _max_ratio(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    # a limit at or below 1 would call every backup that did not shrink "grew"
    return None if value == 0 or value > 1 else "must be 0 (never) or greater than 1"


def _not_negative(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "must be a finite number"
    return None if value >= 0 else "must be 0 or more"


#: what ``verify`` may ask for (docs/configuration.rst); "size" is always done
VERIFY_STEPS = ("size", "sha256", "gzip")
#: step -> (the tool it runs on a node, the package that brings it): the collector's line
#: and the ``unverified`` finding say the same (docs/troubleshooting.rst)
VERIFY_TOOLS = {"sha256": ("sha256sum", "coreutils"), "gzip": ("gzip", "gzip")}


def _verify(value: Any) -> str | None:
    for step in value:
        if step not in VERIFY_STEPS:
            return f"unknown step {step!r}{did_you_mean(step, VERIFY_STEPS)} " \
                   f"(known: {', '.join(VERIFY_STEPS)})"
    return None


def _port(value: Any) -> str | None:
    return None if 0 < value < 65536 else "must be a TCP port (1-65535)"


def _timezone(value: Any) -> str | None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "Europe" is a folder: IsADirectoryError
        return f"unknown time zone {value!r} (use an IANA name such as 'Europe/Zurich' or 'UTC')"
    return None


def _date_layout(value: Any) -> str | None:
    if "%" not in value:
        return "must contain strptime directives such as %Y/%m/%d/%H%M%S"
    if not {"%Y", "%y", "%G"} & set(re.findall(r"%.", value)):
        # strptime would put every backup in 1900: all of them stale from the first run
        return "must contain a year (%Y, %y or %G), e.g. %Y/%m/%d/%H%M%S"
    # a layout strptime cannot read back (a typo like %Q, a directive twice, a stray %)
    # would leave every file unparsed, or fail every collection: refuse it here
    sample = datetime(2012, 11, 13, 16, 10, 2, tzinfo=UTC)
    try:
        datetime.strptime(sample.strftime(value), value)
    except (ValueError, re.error) as exc:
        return f"is not a valid strptime layout: {exc}"
    return None


def _smtp(value: Any) -> str | None:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        return "must be 'host:port', e.g. 'localhost:25'"
    return None


def _node_name(value: Any) -> str | None:
    if not NODE_NAME_RE.match(value):
        return "must match [A-Za-z0-9][A-Za-z0-9_.-]* (node names become file names)"
    return None


def _hub_name(value: Any) -> str | None:
    if not NODE_NAME_RE.match(value):
        return ("must match [A-Za-z0-9][A-Za-z0-9_.-]* (hub names go into mail subjects, "
                "file names and the store)")
    return None


def _not_empty(value: Any) -> str | None:
    # an empty host or pattern cannot be meant: it would list nothing, every run
    return None if value.strip() else "must not be empty"


def _pattern(value: Any) -> str | None:
    if problem := _not_empty(value):
        return problem
    if "/" in value:
        return (f"is matched against file names only, so {value!r} with a '/' matches "
                "nothing: give the file name part (e.g. '*.tar.gz')")
    return None


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _header_safe(value: Any) -> str | None:
    """Values that end up in a mail header or an SMTP command: one line, no control bytes."""
    if m := _CONTROL.search(value):
        return (f"must not contain control characters (found {m.group()!r} at position "
                f"{m.start()}): it goes into the alert mail's headers")
    return None


_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@{_LABEL}(?:\.{_LABEL})*\Z")


def _address_problem(value: str) -> str | None:
    """Why ``value`` is not one mail address (``a@b.org`` or ``Name <a@b.org>``), or None."""
    if problem := _header_safe(value):
        return problem
    from email import policy

    hint = "write it as ops@example.org or 'Ops Team <ops@example.org>'"
    try:
        # the same parser that will write the To/From header of the mail
        header = policy.default.header_factory("To", value)
        addresses = header.addresses
        defects = header.defects
    except (IndexError, ValueError, TypeError):  # it raises on some junk ("ops@")
        return f"{value!r} is not a mail address ({hint})"
    if len(addresses) > 1:
        return (f"{value!r} holds {len(addresses)} addresses: give one per list entry "
                f"({hint})")
    if not addresses or defects or not _ADDR_SPEC.match(addresses[0].addr_spec):
        return f"{value!r} is not a mail address ({hint})"
    return None


def _mail_from(value: Any) -> str | None:
    return _address_problem(value) if value else None


def _email_list(value: Any) -> str | None:
    for entry in value:
        if problem := _address_problem(entry):
            return problem
    return None


INHERITED = ("defaults", "hub", "node")
HUB_LEVELS = ("defaults", "hub")

SCHEMA: tuple[Key, ...] = (
    Key("database", "str", "sqlite:///scmmonitor.db", ("top",),
        "SQLAlchemy URL of the store; relative sqlite paths are relative to the config file."),
    Key("workers", "int", 16, ("top",),
        "How many nodes are collected at the same time.", check=_positive),
    # checked and collected per node; set in [defaults], a hub or a node
    Key("pattern", "str", "*.gz", INHERITED, "Which files are backups (glob on the file name).",
        check=_pattern),
    Key("date_layout", "str", "%Y/%m/%d/%H%M%S", INHERITED,
        "strptime layout of the dated folders between the series and the file; it must "
        "contain a year (%Y, %y or %G).",
        check=_date_layout),
    Key("timezone", "str", "UTC", INHERITED, "IANA zone of the times encoded in paths.",
        check=_timezone),
    Key("max_age_hours", "float", 36.0, INHERITED,
        "Alarm when the newest backup of a series (or the last good collection) is older.",
        check=_positive),
    Key("min_size_ratio", "float", 0.5, INHERITED,
        "Warn when the newest backup is smaller than this ratio times the previous one.",
        check=_ratio),
    Key("max_size_ratio", "float", 4.0, INHERITED,
        "Warn (grew) when the newest backup is larger than this ratio times the median of "
        "the (up to) 7 backups before it; 0 = never.", check=_max_ratio),
    Key("gap_days", "int", 3, INHERITED,
        "Warn (gap) about a missed backup within the last this many days (two backups "
        "more than 1.5 times the series' usual interval apart); 0 = never.",
        check=_not_negative),
    Key("keep_min", "int", 0, INHERITED,
        "Warn (retention) when fewer backups of a series are on the node; 0 = not judged.",
        check=_not_negative),
    Key("keep_max", "int", 0, INHERITED,
        "Warn (retention) when more backups of a series are on the node (a purge that "
        "stopped); 0 = not judged.", check=_not_negative),
    Key("verify", "list[str]", ["size"], INHERITED,
        "What a copy must match on the source and how backups are tested: \"size\" (always "
        "done), \"sha256\" (the newest backup of each series hashed on both), \"gzip\" "
        "(the newest backup of each series tested by gzip).", check=_verify),
    Key("copy_grace_hours", "float", 6.0, INHERITED,
        "How long a new backup on the hub's source may take to reach a copy before it is "
        "reported as not copied.", check=_not_negative),
    Key("connect_timeout", "float", 10.0, INHERITED,
        "Seconds for TCP connect, SSH banner and authentication.", check=_timeout),
    Key("command_timeout", "float", 120.0, INHERITED,
        "Seconds for the whole remote listing.", check=_timeout),
    Key("known_hosts", "path", "~/.ssh/known_hosts", INHERITED,
        "Extra known_hosts file (the system and user ones are read too)."),
    Key("trust_unknown_hosts", "bool", False, INHERITED,
        "Accept and remember a first-seen host key (a changed key is always refused)."),
    Key("select", "list[str]", [], INHERITED,
        "Series expected on every node of the hub; absent ones are reported as missing."),
    Key("retired", "list[str]", [], INHERITED,
        "Series no longer backed up on purpose (glob patterns, e.g. \"svn/oldproj\" or "
        "\"tracs/*-2019\"): still charted, never judged (no stale, shrunk, empty, missing "
        "or vanished); a selected series cannot be retired."),
    # the hub's originals, per hub
    Key("source", "str", "", ("hub",),
        "The node of this hub holding the hub's own originals (empty: no source); every "
        "other node of the hub is then a copy of it, checked against it."),
    # mail, per hub
    Key("email", "list[str]", [], HUB_LEVELS,
        "Who gets the alert mail: one mail address per entry, with or without a display "
        "name.", check=_email_list),
    Key("smtp", "str", "localhost:25", HUB_LEVELS, "SMTP server as host:port.", check=_smtp),
    Key("smtp_starttls", "bool", False, HUB_LEVELS, "Use STARTTLS before sending."),
    Key("smtp_user", "str", "", HUB_LEVELS, "SMTP login user (empty: no login).",
        check=_header_safe),
    Key("smtp_password_file", "path", "", HUB_LEVELS,
        "File holding the SMTP password (never put the password itself in this file)."),
    Key("mail_from", "str", "", HUB_LEVELS, "Sender address (default scm-monitor@<this host>).",
        check=_mail_from),
    Key("report_url", "str", "", HUB_LEVELS, "URL of the docs page linked from the mail.",
        check=_header_safe),
    # where a node is
    Key("hub", "str", None, ("node",), "The hub whose backups this node holds.", required=True),
    Key("host", "str", None, ("node",),
        "Hostname or ~/.ssh/config alias; 'local' reads this machine's disk.", required=True,
        check=_not_empty),
    Key("user", "str", "", ("node",), "SSH user (else ~/.ssh/config, else the current user)."),
    Key("port", "int", 0, ("node",), "SSH port (else ~/.ssh/config, else 22).", check=_port),
    Key("identity_file", "path", "", ("node",),
        "Private key file (else ~/.ssh/config, the agent and the default keys)."),
    Key("root", "str", None, ("node",),
        "Absolute path of the backup tree on the node. Changing it keeps the node's history: "
        "the next collect moves the stored paths to the new root and says so.",
        required=True),
)

KEYS: dict[str, Key] = {k.name: k for k in SCHEMA}


def keys_for(level: Level) -> dict[str, Key]:
    """The keys that may be set in one table ("top", "defaults", "hub" or "node")."""
    return {k.name: k for k in SCHEMA if level in k.levels}


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close match, else ''."""
    import difflib

    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""

"""Read ``scmmonitor.toml`` into typed, validated settings.

One schema (:data:`SCHEMA`) drives validation, the precedence
defaults < hub < node, and the generated configuration reference in the docs.
Every error names the file, the key and what is wrong.
"""

from __future__ import annotations

import fnmatch
import math
import os
import re
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .text import KIND_WORDS, with_article

ENV_VAR = "SCMMONITOR_CONFIG"
DEFAULT_FILE = "scmmonitor.toml"
NODE_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\Z")


class ConfigError(Exception):
    """A configuration problem: the message names the file, the key and what is wrong."""

    def __init__(self, path: Path | str | None, key: str | None, problem: str) -> None:
        self.path = str(path) if path is not None else None
        self.key = key
        self.problem = problem
        where = self.path or "configuration"
        if key:
            # a table name may hold a newline or an escape: the message stays one line
            where += ": " + (key if key.isprintable() else key.encode("unicode_escape").decode())
        super().__init__(f"{where}: {problem}")


# --- the schema --------------------------------------------------------------------------------

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


def _verify(value: Any) -> str | None:
    for step in value:
        if step not in VERIFY_STEPS:
            return f"unknown step {step!r}{_did_you_mean(step, VERIFY_STEPS)} " \
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
    Key("root", "str", None, ("node",), "Absolute path of the backup tree on the node.",
        required=True),
)

KEYS: dict[str, Key] = {k.name: k for k in SCHEMA}


def keys_for(level: Level) -> dict[str, Key]:
    """The keys that may be set in one table ("top", "defaults", "hub" or "node")."""
    return {k.name: k for k in SCHEMA if level in k.levels}


# --- the typed result ------------------------------------------------------------------------


@dataclass(frozen=True)
class NodeSettings:
    """Everything needed to collect and check one node, precedence already applied."""

    name: str
    hub: str
    host: str
    root: str
    user: str
    port: int
    identity_file: str
    pattern: str
    date_layout: str
    timezone: str
    max_age_hours: float
    min_size_ratio: float
    connect_timeout: float
    command_timeout: float
    known_hosts: str
    trust_unknown_hosts: bool
    select: tuple[str, ...]
    retired: tuple[str, ...] = ()
    max_size_ratio: float = 4.0
    gap_days: int = 3
    keep_min: int = 0
    keep_max: int = 0
    verify: tuple[str, ...] = ("size",)
    copy_grace_hours: float = 6.0
    #: the hub's source node ("" when the hub has none); this node is a copy unless it is it
    source: str = ""

    @property
    def is_local(self) -> bool:
        return self.host == "local"

    @property
    def is_copy(self) -> bool:
        """Whether this node's backups are checked against the hub's source."""
        return bool(self.source) and self.source != self.name

    def verifies(self, step: str) -> bool:
        """Whether a ``verify`` step is on here ("size" always is)."""
        return step == "size" or step in self.verify

    def retires(self, series: str) -> bool:
        """Whether ``series`` is retired here: kept in the charts, left out of the checks."""
        return any(fnmatch.fnmatchcase(series, pattern) for pattern in self.retired)


@dataclass(frozen=True)
class HubSettings:
    """A hub: what is expected on its nodes and who hears about problems."""

    name: str
    select: tuple[str, ...]
    email: tuple[str, ...]
    smtp: str
    smtp_starttls: bool
    smtp_user: str
    smtp_password_file: str
    mail_from: str
    report_url: str
    max_age_hours: float
    min_size_ratio: float
    source: str = ""
    copy_grace_hours: float = 6.0


@dataclass(frozen=True)
class Settings:
    """The whole validated configuration."""

    path: Path | None
    database: str
    workers: int
    hubs: dict[str, HubSettings] = field(default_factory=dict)
    nodes: dict[str, NodeSettings] = field(default_factory=dict)

    def node(self, name: str) -> NodeSettings:
        try:
            return self.nodes[name]
        except KeyError:
            known = ", ".join(self.nodes) or "none"
            raise ConfigError(self.path, None, f"unknown node {name!r} (configured: {known})")\
                from None


# --- loading -----------------------------------------------------------------------------------


def find_config(explicit: str | os.PathLike[str] | None = None) -> Path:
    """-c/--config, else $SCMMONITOR_CONFIG, else ./scmmonitor.toml."""
    if explicit:
        return Path(explicit)
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR])
    return Path(DEFAULT_FILE)


def load(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read and validate a config file; raises :class:`ConfigError`."""
    file = find_config(path)
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(file, None, "file not found (give -c FILE, set $SCMMONITOR_CONFIG, "
                          "or run `scm-monitor init` to write one)") from None
    except OSError as exc:
        raise ConfigError(file, None, f"cannot be read: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(file, None, f"is not UTF-8 (byte {exc.start})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(file, None, f"invalid TOML: {exc}") from None
    return parse(data, file)


def parse(data: Mapping[str, Any], path: Path | None = None) -> Settings:
    """Validate an already-decoded TOML document."""
    base = path.resolve().parent if path is not None else Path.cwd()
    top_keys = keys_for("top")
    tables = {"defaults", "hubs", "nodes"}
    for key in data:
        if key not in top_keys and key not in tables:
            _unknown(path, key, key, set(top_keys) | tables)
    top = {name: _value(path, name, data[name], k) if name in data else k.default
           for name, k in top_keys.items()}
    defaults = _table(path, "defaults", data.get("defaults", {}), "defaults")
    hubs_raw = _mapping(path, "hubs", data.get("hubs", {}))
    nodes_raw = _mapping(path, "nodes", data.get("nodes", {}))
    if not nodes_raw:
        raise ConfigError(path, "nodes", "no node configured: add a [nodes.NAME] table")

    for name in hubs_raw:
        if problem := _hub_name(name):
            raise ConfigError(path, f"hubs.{name}", f"bad hub name {name!r}: {problem}")
    hub_tables = {name: _table(path, f"hubs.{name}", t, "hub") for name, t in hubs_raw.items()}
    hubs: dict[str, HubSettings] = {}
    for name, table in hub_tables.items():
        merged = _merge("hub", defaults, table)
        hubs[name] = HubSettings(name=name, **_settings_fields(HubSettings, merged, base))

    nodes: dict[str, NodeSettings] = {}
    for name, table_raw in nodes_raw.items():
        if problem := _node_name(name):
            raise ConfigError(path, f"nodes.{name}", f"bad node name {name!r}: {problem}")
        table = _table(path, f"nodes.{name}", table_raw, "node")
        for key in ("hub", "host", "root"):
            if key not in table:
                raise ConfigError(path, f"nodes.{name}.{key}", "is required")
        hub = table["hub"]
        if hub not in hub_tables:
            known = ", ".join(hub_tables) or "none"
            raise ConfigError(path, f"nodes.{name}.hub",
                              f"hub {hub!r} is not defined (add [hubs.{hub}]; defined: {known})")
        merged = _merge("node", defaults, hub_tables[hub], table)
        root = merged["root"]
        if not root.startswith("/"):
            raise ConfigError(path, f"nodes.{name}.root",
                              f"must be an absolute path, got {root!r}")
        values = _settings_fields(NodeSettings, merged, base)
        values.update(root=root.rstrip("/") or "/", source=hubs[hub].source)
        nodes[name] = NodeSettings(name=name, **values)
        _keep_in_order(path, nodes[name], [(f"nodes.{name}", table),
                                           (f"hubs.{hub}", hub_tables[hub]),
                                           ("defaults", defaults)])
        _select_not_retired(path, nodes[name], [(f"nodes.{name}", table),
                                                (f"hubs.{hub}", hub_tables[hub]),
                                                ("defaults", defaults)])
    for hub_settings in hubs.values():
        _source_of_its_hub(path, hub_settings, nodes)
    return Settings(path=path, database=_database_url(top["database"], base),
                    workers=top["workers"], hubs=hubs, nodes=nodes)


def _select_not_retired(path: Path | None, node: NodeSettings,
                        tables: list[tuple[str, Mapping[str, Any]]]) -> None:
    """A series both expected and retired would alarm as missing forever: refuse it."""
    for series in node.select:
        for pattern in node.retired:
            if fnmatch.fnmatchcase(series.strip("/"), pattern):
                # the list in force is the one of the most specific table that sets it
                where = next(f"{table}.retired" for table, values in tables
                             if "retired" in values)
                raise ConfigError(path, where, f"{pattern!r} retires {series!r}, which node "
                                  f"{node.name} is also to have (select): remove it from one "
                                  "of the two lists")


def _keep_in_order(path: Path | None, node: NodeSettings,
                   tables: list[tuple[str, Mapping[str, Any]]]) -> None:
    """keep_min above keep_max would warn "retention" whatever the node holds."""
    if node.keep_max and node.keep_min > node.keep_max:
        where = next(f"{table}.keep_max" for table, values in tables if "keep_max" in values)
        raise ConfigError(path, where, f"is {node.keep_max}, below keep_min {node.keep_min} "
                          f"for node {node.name}: no number of backups could satisfy both")


def _source_of_its_hub(path: Path | None, hub: HubSettings,
                       nodes: Mapping[str, NodeSettings]) -> None:
    """A hub's source must be one of its own nodes: copies are compared with it."""
    if not hub.source:
        return
    own = [n for n, node in nodes.items() if node.hub == hub.name]
    where = f"hubs.{hub.name}.source"
    if hub.source not in nodes:
        raise ConfigError(path, where, f"node {hub.source!r} is not defined"
                          f"{_did_you_mean(hub.source, own)} (nodes of hub {hub.name}: "
                          f"{', '.join(own) or 'none'})")
    if nodes[hub.source].hub != hub.name:
        raise ConfigError(path, where, f"node {hub.source!r} belongs to hub "
                          f"{nodes[hub.source].hub}, not {hub.name} (nodes of hub {hub.name}: "
                          f"{', '.join(own) or 'none'})")


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    """' (did you mean 'x'?)' for a close match, else ''."""
    import difflib

    close = difflib.get_close_matches(name, sorted(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _settings_fields(cls: type[NodeSettings | HubSettings], merged: Mapping[str, Any],
                     base: Path) -> dict[str, Any]:
    """The merged table's values of ``cls``'s fields, as their key's kind wants them:
    paths made absolute against the config file's folder, lists frozen to tuples."""
    wanted = {f.name for f in fields(cls)}
    out: dict[str, Any] = {}
    for name, value in merged.items():
        if name in wanted:
            kind = KEYS[name].kind
            out[name] = (_expand(value, base) if kind == "path"
                         else tuple(value) if kind == "list[str]" else value)
    return out


def _merge(level: Level, *tables: Mapping[str, Any]) -> dict[str, Any]:
    """Defaults < hub < node: later tables win; keys not allowed at `level` are dropped."""
    allowed = keys_for(level)
    merged = {name: k.default for name, k in allowed.items()}
    for table in tables:
        merged.update((k, v) for k, v in table.items() if k in allowed)
    return merged


def _mapping(path: Path | None, key: str, value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, key, f"must be a table ([{key}.NAME]), got {_tname(value)}")
    for name, sub in value.items():
        if not isinstance(sub, Mapping):
            raise ConfigError(path, f"{key}.{name}", f"must be a table, got {_tname(sub)}")
    return value


def _table(path: Path | None, where: str, value: Any, level: Level) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigError(path, where, f"must be a table, got {_tname(value)}")
    allowed = keys_for(level)
    out: dict[str, Any] = {}
    for name, raw in value.items():
        if name not in allowed:
            _unknown(path, f"{where}.{name}", name, set(allowed), level)
        out[name] = _value(path, f"{where}.{name}", raw, allowed[name])
    return out


def _unknown(path: Path | None, where: str, name: str, allowed: set[str],
             level: Level | None = None) -> None:
    if level and name in KEYS:
        places = ", ".join(KEYS[name].levels)
        raise ConfigError(path, where, f"{name!r} cannot be set here (allowed in: {places})")
    raise ConfigError(path, where, f"unknown key{_did_you_mean(name, allowed)}")


def _value(path: Path | None, where: str, value: Any, key: Key) -> Any:
    kind = key.kind
    ok: bool
    if kind in ("str", "path"):
        ok = isinstance(value, str)
    elif kind == "int":
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif kind == "float":
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok:
            value = float(value)
    elif kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "list[str]":
        if isinstance(value, str):
            value = [value]
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    else:  # pragma: no cover - schema bug
        raise AssertionError(kind)
    if not ok:
        raise ConfigError(path, where, f"must be {with_article(key.type_name)}, "
                          f"got {_tname(value)} {value!r}")
    if kind in ("str", "path") and "\x00" in value:
        raise ConfigError(path, where, "must not contain NUL characters")
    if key.check is not None and (problem := key.check(value)):
        raise ConfigError(path, where, problem)
    return value


def _tname(value: Any) -> str:
    return {bool: "boolean", int: "integer", float: "float", str: "string", list: "array",
            dict: "table"}.get(type(value), type(value).__name__)


def _expand(value: str, base: Path) -> str:
    if not value:
        return ""
    expanded = Path(os.path.expanduser(value))
    return str(expanded if expanded.is_absolute() else base / expanded)


_SQLITE_URL = re.compile(r"(sqlite(?:\+\w+)?:///)(.*)\Z", re.DOTALL)


def _database_url(url: str, base: Path) -> str:
    """Make relative sqlite paths (any driver: sqlite+pysqlite too) relative to the config file."""
    m = _SQLITE_URL.match(url)
    if m is not None:
        prefix, rest = m.groups()
        if rest and not rest.startswith(("/", ":memory:", "file:")):
            return prefix + str(base / rest)
    return url

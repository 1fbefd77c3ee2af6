"""Read ``scmmonitor.toml`` into typed, validated settings.

One schema (:data:`SCHEMA`, in config/keys.py) drives validation, the precedence
defaults < hub < node, and the generated configuration reference in the docs.
Every error names the file, the key and what is wrong.
"""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..text import with_article
from .keys import (
    HUB_LEVELS,
    INHERITED,
    KEYS,
    NODE_NAME_RE,
    SCHEMA,
    VERIFY_STEPS,
    VERIFY_TOOLS,
    Key,
    Level,
    _hub_name,
    _node_name,
    did_you_mean,
    keys_for,
)

ENV_VAR = "SCMMONITOR_CONFIG"
DEFAULT_FILE = "scmmonitor.toml"


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



__all__ = ["HUB_LEVELS", "INHERITED", "KEYS", "NODE_NAME_RE", "SCHEMA", "VERIFY_STEPS",
           "VERIFY_TOOLS", "ConfigError", "HubSettings", "Key", "Level", "NodeSettings",
           "Settings", "find_config", "keys_for", "load", "parse"]


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
                          f"{did_you_mean(hub.source, own)} (nodes of hub {hub.name}: "
                          f"{', '.join(own) or 'none'})")
    if nodes[hub.source].hub != hub.name:
        raise ConfigError(path, where, f"node {hub.source!r} belongs to hub "
                          f"{nodes[hub.source].hub}, not {hub.name} (nodes of hub {hub.name}: "
                          f"{', '.join(own) or 'none'})")


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
    raise ConfigError(path, where, f"unknown key{did_you_mean(name, allowed)}")


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

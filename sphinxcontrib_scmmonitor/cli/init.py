"""``scm-monitor init``: write a commented ``scmmonitor.toml``, optionally after probing a node.

The file lists every key of :data:`config.SCHEMA` with its help and default,
commented out where optional, so the operator edits instead of looking keys
up. With ``--probe HOST ROOT`` (:mod:`.probe`) the settings found on the node
are filled in. The text is validated with :func:`config.parse` before anything
is written, so what ``init`` writes always loads. ``--add`` appends one node's
table to an existing file instead, leaving every byte already there as it was;
``--systemd DIR`` writes the service and timer files shipped in ``systemd/``
(docs/deployment.rst).
"""

from __future__ import annotations

import re
import stat
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import config as config_mod
from .._version import __version__
from ..atomic import WriteError, write_atomic
from ..text import escape_controls, toml_value
from .exits import SUCCESS, USAGE
from .probe import InitError, Probe, probe, report

#: What the example hub and node look like when nothing was probed (docs/quickstart.rst's).
EXAMPLE_HUB = "cms02"
EXAMPLE_NODE = "C"
EXAMPLE_HOST = "cms01.example.org"
EXAMPLE_ROOT = "/data/var/scm/backup/cms02"
EXAMPLE_SELECT = ("repos/env", "tracs/env")

#: Shown instead of a default that would not pass validation if simply uncommented.
_UNSET_EXAMPLES = {"port": 22}
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")


def _table_key(name: str) -> str:
    return name if _BARE_KEY.match(name) else toml_value(name)


def safe_name(text: str, fallback: str) -> str:
    """A node or hub name (``[A-Za-z0-9][A-Za-z0-9_.-]*``) made from a host or folder name."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-._")
    return name if name and config_mod.NODE_NAME_RE.match(name) else fallback


def _key_lines(key: config_mod.Key, value: object | None = None, *, why: str = "") -> list[str]:
    """Help comment plus either ``key = value`` or the commented-out default."""
    lines = [f"# {key.help} ({key.type_name}{'; required' if key.required else ''})"]
    if value is not None:
        lines.append(f"{key.name} = {toml_value(value)}" + (f"   # {why}" if why else ""))
        return lines
    default = key.default
    if key.check is not None and key.check(default) is not None and key.name in _UNSET_EXAMPLES:
        lines.append(f"#{key.name} = {toml_value(_UNSET_EXAMPLES[key.name])}   "
                     f"# unset by default")
    else:
        lines.append(f"#{key.name} = {toml_value(default)}")
    return lines


def render(result: Probe | None = None, *, hub: str | None = None, node: str | None = None,
           now: float | None = None) -> str:
    """The commented configuration text (validated by the caller with :func:`check`)."""
    stamp = time.strftime("%Y-%m-%d", time.gmtime(now))
    if result is not None:
        hub = hub or safe_name(Path(result.root).name, "hub1")
        node = node or safe_name(result.host.split(".")[0], "node1")
    hub = hub or EXAMPLE_HUB
    node = node or EXAMPLE_NODE
    probed = f"found by --probe on {result.host}" if result else ""
    out = [
        f"# scmmonitor.toml: the configuration of scm-monitor (sphinxcontrib-scmmonitor "
        f"{__version__}),",
        f"# written by `scm-monitor init` on {stamp}.",
        "#",
        "# Every key is listed with what it means, its type and its default. A line",
        "# \"#key = value\" shows the default: remove the \"#\" to change it. Keys of",
        "# [defaults] may be overridden per hub ([hubs.NAME]) or per node ([nodes.NAME]);",
        "# the most specific value wins.",
        "#",
        "# Next: check the [nodes] below, then run",
        "#   scm-monitor -c THIS_FILE collect     (0 = every node collected, 1 = some node",
        "#                                          failed, 2 = this file has a problem)",
        "#   scm-monitor -c THIS_FILE status      (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)",
        "",
    ]
    for key in config_mod.SCHEMA:
        if "top" in key.levels:
            out += [*_key_lines(key), ""]
    out += ["[defaults]", ""]
    for key in config_mod.SCHEMA:
        if key.levels != config_mod.INHERITED or key.name == "select":
            continue
        value, why = None, ""
        if result is not None and key.name == "date_layout" and key.default != result.layout:
            value, why = result.layout, probed
        if result is not None and key.name == "pattern" and key.default != result.pattern:
            value, why = result.pattern, probed
        out += [*_key_lines(key, value, why=why), ""]
    out += [f"[hubs.{_table_key(hub)}]", "# any key of [defaults] may be set here too", ""]
    select_key = config_mod.KEYS["select"]
    if result is not None and result.select:
        out += [*_key_lines(select_key, result.select, why=probed), ""]
    elif result is None:
        out += [f"# {select_key.help} ({select_key.type_name})",
                f"#select = {toml_value(list(EXAMPLE_SELECT))}", ""]
    else:
        out += [*_key_lines(select_key), ""]
    for key in config_mod.SCHEMA:
        if key.levels in (config_mod.HUB_LEVELS, ("hub",)):
            out += [*_key_lines(key), ""]
    out += [f"[nodes.{_table_key(node)}]", "# any key of [defaults] may be set here too", ""]
    values: dict[str, object] = {"hub": hub, "host": EXAMPLE_HOST, "root": EXAMPLE_ROOT}
    if result is not None:
        values["host"], values["root"] = result.host, result.root
        if result.user:
            values["user"] = result.user
        if result.port:
            values["port"] = result.port
    for key in config_mod.SCHEMA:
        if key.levels == ("node",):
            out += [*_key_lines(key, values.get(key.name)), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def check(text: str, path: Path | None = None) -> config_mod.Settings:
    """What ``init`` writes must load: parse it exactly as ``collect`` will."""
    return config_mod.parse(tomllib.loads(text), path)


def write(path: Path, text: str, *, force: bool) -> None:
    """Write ``text`` to ``path``; never over an existing file unless ``force``."""
    if path.exists() and not force:
        raise InitError(f"{path} already exists; nothing was written. Give --force to "
                        "overwrite it, or another PATH (or - to print the file)")
    if path.is_dir():
        raise InitError(f"{path} is a folder; give a file name such as {path / 'scmmonitor.toml'}")
    try:
        write_atomic(path, text)
    except WriteError as exc:
        # USAGE, not FAILED: 1 means the probe failed (docs/cli.rst)
        raise InitError(str(exc), USAGE) from None


def added_text(existing: str, result: Probe, *, hub: str | None, node: str | None,
               path: Path | None = None) -> tuple[str, str]:
    """(the tables to append to ``existing``, the node's name) for ``init --add``.

    Only what the file lacks is written: the node's table, the hub's table when the hub
    is new, and ``date_layout``/``pattern`` only where what the node would inherit from
    the file differs from what the probe found.
    """
    try:
        settings = config_mod.parse(tomllib.loads(existing), path)
    except (tomllib.TOMLDecodeError, config_mod.ConfigError) as exc:
        raise InitError(f"{path or 'the file'} does not load, so nothing was added to it: "
                        f"{exc}") from None
    if hub is None:
        hub = (next(iter(settings.hubs)) if len(settings.hubs) == 1
               else safe_name(Path(result.root).name, "hub1"))
    node = node or safe_name(result.host.split(".")[0], "node1")
    if node in settings.nodes:
        raise InitError(f"node {node!r} is already in {path or 'the file'}; nothing was "
                        "added (give another --node NAME, or edit its table there)")
    lines = [f"# added by `scm-monitor init --add` on {time.strftime('%Y-%m-%d')}: "
             f"found by --probe on {result.host}"]
    if hub not in settings.hubs:
        lines += [f"[hubs.{_table_key(hub)}]"]
        if result.select:
            lines += [f"select = {toml_value(result.select)}"]
        lines += [""]
    values: dict[str, object] = {"hub": hub, "host": result.host, "root": result.root}
    if result.user:
        values["user"] = result.user
    if result.port:
        values["port"] = result.port
    table = [f"[nodes.{_table_key(node)}]", *(f"{k} = {toml_value(v)}" for k, v in values.items())]
    inherited = config_mod.parse(tomllib.loads(existing + "\n" + "\n".join(lines + table)),
                                 path).nodes[node]
    for key, found in (("date_layout", result.layout), ("pattern", result.pattern)):
        if getattr(inherited, key) != found:
            table.append(f"{key} = {toml_value(found)}")
    return "\n".join(lines + table) + "\n", node


def add(target: Path, result: Probe, *, hub: str | None, node: str | None,
        out: TextIO) -> None:
    """Append the probed node to ``target``; everything already in the file stays as it is."""
    raw = target.read_bytes()
    existing = raw.decode("utf-8")
    tables, name = added_text(existing, result, hub=hub, node=node, path=target)
    # only appended to: the bytes already there are written back unchanged
    prefix = raw if raw.endswith(b"\n") or not raw else raw + b"\n"
    text = prefix + b"\n" + tables.encode("utf-8")
    settings = check(text.decode("utf-8"), target)
    hub_name = settings.nodes[name].hub
    try:
        # keep the file's mode: it may be readable by the service's group only
        write_atomic(target, text, mode=stat.S_IMODE(target.stat().st_mode))
    except WriteError as exc:
        raise InitError(str(exc), USAGE) from None
    print(f"added [nodes.{name}] to {target}:", file=out)
    for line in tables.splitlines()[1:]:
        print(f"  {line}", file=out)
    missing = [s for s in result.select if s not in settings.nodes[name].select]
    if missing and settings.hubs[hub_name].select:
        print(f"not in hubs.{hub_name}.select (so not checked on this node): "
              + ", ".join(escape_controls(m) for m in missing), file=out)


def check_add(target: Path | None, node: str | None) -> None:
    """Refuse ``--add`` before a probe that may take minutes."""
    if target is None:
        raise InitError("--add needs the file to add to (PATH, -c or $SCMMONITOR_CONFIG), "
                        "not -")
    if not target.is_file():
        raise InitError(f"{target} does not exist, so there is nothing to add to: run "
                        "without --add to write a new file")
    if node is not None:
        try:
            existing = config_mod.parse(tomllib.loads(target.read_text("utf-8")), target)
        except (tomllib.TOMLDecodeError, config_mod.ConfigError, UnicodeDecodeError) as exc:
            raise InitError(f"{target} does not load, so nothing was added to it: {exc}") \
                from None
        if node in existing.nodes:
            raise InitError(f"node {node!r} is already in {target}; nothing was added (give "
                            "another --node NAME, or edit its table there)")


#: the unit files shipped in the package, as docs/deployment.rst shows them
SYSTEMD_DIR = Path(__file__).parent / "systemd"
SYSTEMD_FILES = ("scm-monitor.service", "scm-monitor.timer")
#: the program the shipped unit runs: replaced by the running one's absolute path
SHIPPED_PROGRAM = "/opt/scm-monitor/bin/scm-monitor"


def this_program() -> str:
    """The absolute path of the ``scm-monitor`` of this installation (its venv's bin/)."""
    candidate = Path(sys.prefix) / "bin" / "scm-monitor"
    return str(candidate) if candidate.is_file() else SHIPPED_PROGRAM


def unit_text(name: str, program: str | None = None) -> str:
    """A shipped unit file, with ``ExecStart=`` running ``program`` (default: this one)."""
    text = (SYSTEMD_DIR / name).read_text("utf-8")
    return text.replace(SHIPPED_PROGRAM, program or this_program())


def write_systemd(folder: Path, *, force: bool, out: TextIO) -> None:
    """``init --systemd DIR``: the service and the timer, never over existing files."""
    if not folder.is_dir():
        raise InitError(f"{folder} is not a folder (give the folder for the unit files, "
                        "e.g. /etc/systemd/system)")
    texts = {folder / name: unit_text(name) for name in SYSTEMD_FILES}
    for path in texts:
        if path.exists() and not force:
            raise InitError(f"{path} already exists; nothing was written. Give --force to "
                            "overwrite it")
    for path, text in texts.items():
        try:
            write_atomic(path, text)
        except WriteError as exc:
            raise InitError(str(exc), USAGE) from None
        print(f"wrote {path}", file=out)
    print("next: systemctl daemon-reload && systemctl enable --now scm-monitor.timer "
          "(docs/deployment.rst)", file=out)


def run(path: str | None, *, force: bool = False, probe_target: Sequence[str] | None = None,
        hub: str | None = None, node: str | None = None, out: TextIO | None = None,
        err: TextIO | None = None, add_node: bool = False,
        systemd: str | None = None) -> int:
    """The whole command; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    target = Path(path) if path and path != "-" else None
    try:
        if systemd is not None:
            write_systemd(Path(systemd), force=force, out=out)
            return SUCCESS
        for name, what in ((hub, "--hub"), (node, "--node")):
            if name is not None and not config_mod.NODE_NAME_RE.match(name):
                raise InitError(f"{what} {name!r}: must match [A-Za-z0-9][A-Za-z0-9_.-]*")
        if add_node:
            if not probe_target:
                raise InitError("--add adds the node that --probe HOST ROOT lists: give both")
            check_add(target, node)
            assert target is not None
            host, root = probe_target
            print(f"probing {host}:{root} ...", file=out, flush=True)
            found = probe(host, root)
            report(found, out)
            add(target, found, hub=hub, node=node, out=out)
            return SUCCESS
        if target is not None and target.exists() and not force:
            # say so before a probe that may take minutes
            write(target, "", force=False)
        result: Probe | None = None
        if probe_target:
            host, root = probe_target
            print(f"probing {host}:{root} ...", file=out if target else err, flush=True)
            result = probe(host, root)
            report(result, out if target else err)
        text = render(result, hub=hub, node=node)
        check(text, target)
        if target is None:
            out.write(text)
            return SUCCESS
        write(target, text, force=force)
    except InitError as exc:
        print(f"scm-monitor init: {exc}", file=err)
        return exc.status
    print(f"wrote {target}; next: check its [nodes] and run "
          f"`scm-monitor -c {target} collect`", file=out)
    return SUCCESS

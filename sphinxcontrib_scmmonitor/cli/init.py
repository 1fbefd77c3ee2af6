"""``scm-monitor init``: write a commented ``scmmonitor.toml``, optionally after probing a node.

The file lists every key of :data:`config.SCHEMA` with its help and default,
commented out where optional, so the operator edits instead of looking keys
up. With ``--probe HOST ROOT`` (:mod:`.probe`) the settings found on the node
are filled in. The text is validated with :func:`config.parse` before anything
is written, so what ``init`` writes always loads.
"""

from __future__ import annotations

import re
import sys
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from .. import config as config_mod
from .._version import __version__
from ..atomic import WriteError, write_atomic
from ..text import toml_value
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


def run(path: str | None, *, force: bool = False, probe_target: Sequence[str] | None = None,
        hub: str | None = None, node: str | None = None, out: TextIO | None = None,
        err: TextIO | None = None) -> int:
    """The whole command; returns the exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    target = Path(path) if path and path != "-" else None
    try:
        for name, what in ((hub, "--hub"), (node, "--node")):
            if name is not None and not config_mod.NODE_NAME_RE.match(name):
                raise InitError(f"{what} {name!r}: must match [A-Za-z0-9][A-Za-z0-9_.-]*")
        if target is not None and target.exists() and not force:
            # say so before a probe that may take minutes
            write(target, "", force=False)
        result = None
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

"""Configuration documents for the tests, written with a tiny TOML writer of their own.

The smallest valid document (``minimal``) and writing one to a file (``write``).

Its own writer, not the package's (text.toml_value): what the loader reads back is
then checked against a second, independent spelling of TOML.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def toml_str(text: str) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return toml_str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def toml_dumps(doc: dict[str, Any], prefix: tuple[str, ...] = ()) -> str:
    lines = []
    if prefix:
        lines.append("[" + ".".join(toml_str(p) for p in prefix) + "]")
    for key, value in doc.items():
        if not isinstance(value, dict):
            lines.append(f"{toml_str(key)} = {toml_value(value)}")
    for key, value in doc.items():
        if isinstance(value, dict):
            lines.append(toml_dumps(value, (*prefix, key)))
    return "\n".join(lines) + "\n"


def write(tmp_path: Path, doc: dict[str, Any] | str, name: str = "scmmonitor.toml") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else toml_dumps(doc))
    return path


def minimal(**node: Any) -> dict[str, Any]:
    """The smallest valid document: one hub, one node; keyword arguments go into the node."""
    return {"hubs": {"cms02": {}},
            "nodes": {"C": {"hub": "cms02", "host": "cms01.example.org",
                            "root": "/data/var/scm/backup/cms02", **node}}}

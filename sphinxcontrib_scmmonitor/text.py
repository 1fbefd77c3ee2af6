"""How values are written for people and config files, one rule each.

Every module that shows a remote name, a size, an age or a time, writes a TOML
value or names a kind of configuration value uses these, so a terminal, a
mail, the docs and ``scm-monitor init`` all say the same thing the same way.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from decimal import ROUND_HALF_UP, Decimal

# --- remote names in messages ---------------------------------------------------------------------


def escape_controls(text: str) -> str:
    """``text`` with every non-printable character as ``\\xNN``, ``\\uNNNN`` or ``\\UNNNNNNNN``.

    For terminals, logs and mail: a remote name can neither drive a terminal (ESC)
    nor pass for two lines (newline, U+2028). Printable text, ``ü`` included, is kept.
    """
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"


def remote_name(raw: bytes) -> str:
    """A remote name as listed (bytes) for a message: undecodable bytes as ``\\xNN`` too."""
    return escape_controls(raw.decode("utf-8", "backslashreplace"))


# --- sizes, ages and times ------------------------------------------------------------------------


def human_age(seconds: float) -> str:
    """3 min, 5 h, 2 d: ages for people."""
    seconds = max(0.0, seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.0f} h"
    return f"{seconds / 86400:.0f} d"


def human_size(size: int | None) -> str:
    """1.5 GB (1024-based, as du -h)."""
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(value) < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError  # pragma: no cover


#: a page's empty cell and minus sign (the page script's DASH and MINUS, format.js)
DASH = "\u2014"
MINUS = "\u2212"
#: the symbol a page shows before a status word (the page script's LEVEL_SYMBOL, series.js)
LEVEL_SYMBOLS: Mapping[str, str] = {"ok": "\u2714", "warn": "\u26a0", "alarm": "\u2716",
                                    "unknown": "?"}


def percent_change(size: int | None, previous: int | None) -> str:
    """``+2.1 %``, ``\u221212 %``, ``\u00b10 %``: a page's change of size, as the page script's
    ``percentChange`` (format.js) writes it, so the build-time and the live table agree.

    One decimal below 10 %, whole percent above; rounded half away from zero on the exact
    value, as JavaScript's ``toFixed``; :data:`DASH` without a previous size.
    """
    if size is None or not previous or previous <= 0:
        return DASH
    pct = 100 * (size - previous) / previous
    places = Decimal("0.1") if abs(pct) < 10 else Decimal("1")
    text = str(Decimal(abs(pct)).quantize(places, ROUND_HALF_UP))
    if Decimal(text) == 0:
        return "\u00b10 %"
    return f"{'+' if pct > 0 else MINUS}{text} %"


def iso_utc(ts: float) -> str:
    """``2012-11-13T16:10:02Z``: an epoch time in UTC, to the second."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


# --- configuration values -------------------------------------------------------------------------

#: How each kind of configuration value is called, in TOML's own words: the loader's error
#: messages, the configuration reference and the comments ``scm-monitor init`` writes.
KIND_WORDS: Mapping[str, str] = {
    "str": "string", "int": "integer", "float": "float", "bool": "boolean",
    "path": "string (path)", "list[str]": "list of strings",
}


def with_article(word: str) -> str:
    """``an integer``, ``a float``: for "must be ..." messages."""
    return f"{'an' if word[:1] in 'aeiou' else 'a'} {word}"


def toml_value(value: object) -> str:
    """A value in TOML syntax (the subset the configuration uses): what a loader reads back."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + "".join(_toml_char(ch) for ch in value) + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
        if value.is_integer():
            return str(int(value))  # a float key accepts an integer: 36, not 36.0
        return repr(value)
    if isinstance(value, int):
        return str(value)
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _toml_char(ch: str) -> str:
    if ch in '"\\':
        return "\\" + ch
    if ch.isprintable():
        return ch
    n = ord(ch)
    return f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"

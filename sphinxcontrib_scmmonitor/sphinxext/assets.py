"""Find Highcharts (a folder, an http(s) URL, node_modules upward); copy it with our js/css.

Our page script is written as small ES modules (``static/scmmonitor/*.js``);
:func:`joined_script` joins them into the one classic script the pages load,
so no build tool is needed and ``file://`` and older browsers keep working
(docs/sphinx.rst, "The page script").
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from .._version import __version__
from ..atomic import write_atomic
from .colours import stylesheet_head

#: Highstock and the modules the page's script uses, in loading order
HIGHCHARTS_FILES = ("highstock.js", "modules/exporting.js", "modules/accessibility.js")
#: Highcharts' own stylesheet for styled mode (no inline style: a strict CSP holds)
HIGHCHARTS_CSS = "css/highcharts.css"
#: our folder below ``_static``
STATIC_DIR = "scmmonitor"
OWN_SCRIPT = "scmmonitor.js"
OWN_CSS = "scmmonitor.css"
#: the page script's modules, below the package's static/ folder, and the one that starts it
MODULES_DIR = "scmmonitor"
ENTRY_MODULE = "main.js"
_IMPORT = re.compile(r'^import\s*\{([^}]*)\}\s*from\s*"\./([\w.-]+\.js)";[ \t]*\n', re.M)
_EXPORT = re.compile(r"^export (?=(?:async )?function\b|const\b|let\b|class\b)", re.M)
_TOP_LEVEL = re.compile(r"^(?:async\s+)?(?:function\*?|const|let|var|class)\s+([A-Za-z_$][\w$]*)",
                        re.M)
_VERSION_MARK = '"@VERSION@"'


class ScriptError(Exception):
    """The page script's modules cannot be joined (a packaging mistake, not a user's)."""


@dataclass(frozen=True)
class Highcharts:
    """Where the pages load Highcharts from."""

    scripts: tuple[str, ...]  # for add_js_file: below _static, or absolute URLs
    folder: Path | None = None  # copied into _static/scmmonitor/ when set
    files: tuple[str, ...] = ()
    stylesheet: str | None = None  # for add_css_file, like scripts (None: the folder has none)

    def key(self) -> str:
        """What the pages load from here: a page that loads something else must be rewritten."""
        return repr((self.scripts, self.stylesheet))


def _fix(confdir: Path) -> str:
    return (f"install it with `cd {confdir} && npm install highcharts`, or set "
            "scmmonitor_highcharts in conf.py to a folder holding highstock.js or to an "
            "https:// URL of highstock.js")


def locate(setting: str | os.PathLike[str] | None,
           confdir: Path) -> tuple[Highcharts | None, str | None]:
    """(where Highcharts is, None) or (None, a message saying exactly how to fix it)."""
    setting = os.fspath(setting) if setting is not None else None
    if setting and setting.startswith(("http://", "https://")):
        if setting.endswith(".js"):
            highstock, base = setting, setting.rsplit("/", 1)[0]
        else:
            base = setting.rstrip("/")
            highstock = base + "/highstock.js"
        modules = tuple(f"{base}/{name}" for name in HIGHCHARTS_FILES[1:])
        return Highcharts(scripts=(highstock, *modules),
                          stylesheet=f"{base}/{HIGHCHARTS_CSS}"), None
    if setting:
        folder = (confdir / setting).resolve()
        if not (folder / "highstock.js").is_file():
            return None, (f"scmmonitor_highcharts = {setting!r}: {folder / 'highstock.js'} "
                          f"does not exist, so the charts will show a message instead of a "
                          f"chart; {_fix(confdir)}")
    else:
        for parent in (confdir.resolve(), *confdir.resolve().parents):
            if (parent / "node_modules" / "highcharts" / "highstock.js").is_file():
                folder = parent / "node_modules" / "highcharts"
                break
        else:
            return None, (f"Highcharts Stock not found (no node_modules/highcharts/highstock.js "
                          f"in {confdir.resolve()} or above), so the charts will show a message "
                          f"instead of a chart; {_fix(confdir)}")
    scripts = tuple(name for name in HIGHCHARTS_FILES if (folder / name).is_file())
    css = HIGHCHARTS_CSS if (folder / HIGHCHARTS_CSS).is_file() else None
    return Highcharts(scripts=tuple(f"{STATIC_DIR}/{name}" for name in scripts), folder=folder,
                      files=(*scripts, *((css,) if css else ())),
                      stylesheet=f"{STATIC_DIR}/{css}" if css else None), None


def _copy(src: Path, dest: Path) -> None:
    """Copy unless ``dest`` already is this file (same size and time): rebuilds stay cheap."""
    source = src.stat()
    try:
        target = dest.stat()
        if target.st_size == source.st_size and target.st_mtime_ns == source.st_mtime_ns:
            return
    except FileNotFoundError:
        dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy2(src, dest)


def joined_script(folder: Path | None = None) -> str:
    """The page script's ES modules as one classic script, in dependency order.

    Each module's ``import {...} from "./x.js";`` is dropped and its ``export``
    keywords stripped; the modules share one function scope, so two modules
    defining one top-level name is an error here, not a silent overwrite.
    """
    where: Any = (folder if folder is not None
                  else resources.files("sphinxcontrib_scmmonitor") / "static" / MODULES_DIR)
    sources: dict[str, str] = {}
    order: list[str] = []

    def visit(name: str, chain: tuple[str, ...]) -> None:
        if name in order:
            return
        if name in chain:
            raise ScriptError(f"import cycle: {' -> '.join((*chain, name))}")
        try:
            text = (where / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ScriptError(f"static/{MODULES_DIR}/{name}: {exc.strerror}") from None
        for _names, dep in _IMPORT.findall(text):
            visit(dep, (*chain, name))
        sources[name] = text
        order.append(name)

    visit(ENTRY_MODULE, ())
    exported = {name: set(_TOP_LEVEL.findall(_EXPORT.sub("", "\n".join(
        line for line in text.splitlines() if line.startswith("export "))))) for name, text in
        sources.items()}
    owner: dict[str, str] = {}
    parts = []
    for name in order:
        text = sources[name]
        for names, dep in _IMPORT.findall(text):
            for wanted in (n.strip() for n in names.split(",") if n.strip()):
                if wanted not in exported[dep]:
                    raise ScriptError(f"static/{MODULES_DIR}/{name} imports {wanted!r}, which "
                                      f"{dep} does not export")
        body = _EXPORT.sub("", _IMPORT.sub("", text))
        if re.search(r"^(?:import|export)\b", body, re.M):
            raise ScriptError(f"static/{MODULES_DIR}/{name}: an import or export the joiner "
                              'cannot read (only `import { a, b } from "./x.js";` and '
                              "`export function/const/let/class`)")
        for top in _TOP_LEVEL.findall(body):
            if top in owner:
                raise ScriptError(f"static/{MODULES_DIR}: {top!r} is defined in both "
                                  f"{owner[top]} and {name}")
            owner[top] = name
        parts.append(f"// --- {name}\n{body.strip()}\n")
    script = "\n".join(parts)
    if script.count(_VERSION_MARK) != 1:
        raise ScriptError(f"static/{MODULES_DIR}: {_VERSION_MARK} must appear once")
    script = script.replace(_VERSION_MARK, json.dumps(__version__))
    return (f"/* sphinxcontrib-scmmonitor {__version__}: the page script, joined at build "
            f"time from static/{MODULES_DIR}/*.js (docs/sphinx.rst) */\n"
            f'(() => {{\n"use strict";\n\n{script}}})();\n')


def _write_if_changed(path: Path, text: str) -> None:
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return
    except FileNotFoundError:
        pass
    write_atomic(path, data)


def stylesheet() -> str:
    """Our stylesheet: the colours (light, dark) and then static/scmmonitor.css."""
    static = resources.files("sphinxcontrib_scmmonitor") / "static"
    return stylesheet_head() + (static / OWN_CSS).read_text(encoding="utf-8")


#: what we write into _static/scmmonitor/ whatever Highcharts is
OWN_FILES = (OWN_SCRIPT, OWN_CSS)


def clashes(confdir: Path, static_paths: list[str], highcharts: Highcharts | None) -> list[Path]:
    """The site's own html_static_path files that have the names of ours (ours replace
    them in the output unless told): each is worth a warning."""
    names = [*OWN_FILES, *(highcharts.files if highcharts is not None and
                           highcharts.folder is not None else ())]
    found = []
    for entry in static_paths:
        for name in names:
            path = Path(confdir, entry, STATIC_DIR, name)
            if path.is_file():
                found.append(path)
    return found


def copy_assets(outdir: Path, highcharts: Highcharts | None, script: bool = True) -> None:
    """Highcharts (when it is a folder) and our script and stylesheet into _static/scmmonitor/.

    Done before the pages are written, so Sphinx's ``?v=`` checksums are there from
    the first build and always match the files.
    """
    dest = Path(outdir, "_static", STATIC_DIR)
    if script:
        _write_if_changed(dest / OWN_SCRIPT, joined_script())
    _write_if_changed(dest / OWN_CSS, stylesheet())
    if highcharts is not None and highcharts.folder is not None:
        for name in highcharts.files:
            _copy(highcharts.folder / name, dest / name)

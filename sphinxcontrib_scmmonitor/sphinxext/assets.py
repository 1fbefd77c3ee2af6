"""Find Highcharts (a folder, an http(s) URL, node_modules upward); copy it with our js/css."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

#: Highstock and the modules the page's script uses, in loading order
HIGHCHARTS_FILES = ("highstock.js", "modules/exporting.js", "modules/accessibility.js")
#: our folder below ``_static``
STATIC_DIR = "scmmonitor"
OWN_SCRIPT = "scmmonitor.js"
OWN_CSS = "scmmonitor.css"


@dataclass(frozen=True)
class Highcharts:
    """Where the pages load Highcharts from."""

    scripts: tuple[str, ...]  # for add_js_file: below _static, or absolute URLs
    folder: Path | None = None  # copied into _static/scmmonitor/ when set
    files: tuple[str, ...] = ()


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
        return Highcharts(scripts=(highstock, *modules)), None
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
    files = tuple(name for name in HIGHCHARTS_FILES if (folder / name).is_file())
    return Highcharts(scripts=tuple(f"{STATIC_DIR}/{name}" for name in files), folder=folder,
                      files=files), None


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


def copy_assets(outdir: Path, highcharts: Highcharts | None) -> None:
    """Highcharts (when it is a folder) and our script and stylesheet into _static/scmmonitor/."""
    dest = Path(outdir, "_static", STATIC_DIR)
    static = resources.files("sphinxcontrib_scmmonitor") / "static"
    for name in (OWN_SCRIPT, OWN_CSS):
        with resources.as_file(static / name) as src:
            _copy(src, dest / name)
    if highcharts is not None and highcharts.folder is not None:
        for name in highcharts.files:
            _copy(highcharts.folder / name, dest / name)

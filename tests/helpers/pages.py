"""A built HTML page read as a browser reads it: chart containers, status boxes, scripts."""

from __future__ import annotations

import html
import re
from pathlib import Path

_CHART_RE = re.compile(r'<div class="scmmonitor-chart"[^>]*>')
_ATTR_RE = re.compile(r"""([\w-]+)=(?:"([^"]*)"|'([^']*)')""")


def charts(page: Path) -> list[dict[str, str]]:
    """The chart containers of an HTML page, attributes unescaped as a browser reads them."""
    found = []
    for tag in _CHART_RE.findall(page.read_text(encoding="utf-8")):
        found.append({k: html.unescape(a if a else b) for k, a, b in _ATTR_RE.findall(tag)})
    return found


def status_boxes(page: Path) -> list[dict[str, str]]:
    text = page.read_text(encoding="utf-8")
    return [{k: html.unescape(a if a else b) for k, a, b in _ATTR_RE.findall(tag)}
            for tag in re.findall(r'<div class="scmmonitor-status"[^>]*>', text)]


def scripts(page: Path, query: bool = False) -> list[str]:
    """The page's deferred scripts (without Sphinx's ``?v=`` cache-busting unless asked)."""
    found = re.findall(r'<script defer="defer" src="([^"]+)"', page.read_text(encoding="utf-8"))
    return found if query else [re.sub(r"\?v=[0-9a-f]+$", "", src) for src in found]

"""One visitor per builder family: the HTML container, a PNG for LaTeX and epub, else the table."""

from __future__ import annotations

import html
import json
import os
import posixpath
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging

from ..export import DATA_DIR
from ..store import StoreError
from . import data, images
from .nodes import scmmonitor_chart, scmmonitor_status

if TYPE_CHECKING:
    from sphinx.builders import Builder
    from sphinx.util.docutils import SphinxTranslator

logger = logging.getLogger(__name__)


def is_epub(builder: Builder) -> bool:
    from sphinx.builders._epub_base import EpubBuilder

    return isinstance(builder, EpubBuilder)


def is_live_html(builder: Builder) -> bool:
    """HTML whose pages run our script (epub is zipped before build-finished, and offline)."""
    return builder.format == "html" and not is_epub(builder)


def chart_options(node: scmmonitor_chart) -> dict[str, Any]:
    return {key: node[key] for key in ("node", "title", "height", "series", "metric", "scale",
                                       "range")}


def data_base(translator: SphinxTranslator) -> str:
    """``_static/scmmonitor/data/`` relative to the page being written (html, dirhtml,
    singlehtml, at any depth); worked out once per page, which may hold many charts."""
    base: str | None = getattr(translator, "_scmmonitor_data_base", None)
    if base is None:
        builder = translator.builder
        page = Path(builder.get_outfilename(builder.current_docname))  # type: ignore[attr-defined]
        rel = os.path.relpath(Path(builder.outdir, *DATA_DIR), page.parent)
        base = translator._scmmonitor_data_base = Path(rel).as_posix() + "/"  # type: ignore[attr-defined]
    return base


def render_image(translator: SphinxTranslator, node: scmmonitor_chart) -> str | None:
    """Write the chart's PNG into the builder's image folder; its URI, or None (use the table)."""
    builder = translator.builder
    build = data.get(builder.env)
    name = node["node"]
    if (not builder.config.scmmonitor_images or build.settings is None
            or name not in build.settings.nodes or not images.available()):
        return None
    options = chart_options(node)
    fname = images.file_name(options)
    if fname not in build.rendered:
        try:
            doc = build.document(name, time.time())
            images.render(doc, options, Path(builder.outdir, builder.imagedir, fname))
        except (StoreError, OSError, ValueError) as exc:
            logger.warning("scm-backup-chart: cannot draw the picture of node %s (%s); "
                           "showing the table instead", name, exc, location=node,
                           type="scmmonitor", subtype="image")
            return None
        build.rendered.add(fname)
    return posixpath.join(builder.imgpath, fname)


def _attr(value: str) -> str:
    return html.escape(value, quote=True)


def _json_attr(value: Any) -> str:
    """JSON in a single-quoted attribute, as the page's script expects it."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace("'", "&#x27;"))


# --- HTML (html, dirhtml, singlehtml; epub gets pictures) ------------------------------------


def html_visit_chart(self: SphinxTranslator, node: scmmonitor_chart) -> None:
    if is_epub(self.builder):
        uri = render_image(self, node)
        if uri is None:
            return  # the fallback table (the node's children) is written instead
        self.body.append(f'<div class="scmmonitor-picture"><img src="{_attr(uri)}" '  # type: ignore[attr-defined]
                         f'alt="{_attr(node["title"])}" /></div>\n')
        raise nodes.SkipNode
    # ids unique per output page: a singlehtml page holds every document's charts
    index = getattr(self, "_scmmonitor_charts", 0)
    self._scmmonitor_charts = index + 1  # type: ignore[attr-defined]
    name = node["node"]
    src = data_base(self) + name + ".json"
    self.body.append(  # type: ignore[attr-defined]
        f'<div class="scmmonitor-chart" id="scmmonitor-chart-{index}"'
        f' data-scm-node="{_attr(name)}" data-scm-src="{_attr(src)}"'
        f' data-scm-title="{_attr(node["title"])}" data-scm-height="{_attr(node["height"])}"'
        f" data-scm-series='{_json_attr(node['series'])}'"
        f' data-scm-metric="{_attr(node["metric"])}" data-scm-scale="{_attr(node["scale"])}"'
        f' data-scm-range="{_attr(node["range"])}">'
        f'<p class="scmmonitor-message">Loading backup chart for node {html.escape(name)}\u2026'
        "</p></div>\n")
    raise nodes.SkipNode


def html_visit_status(self: SphinxTranslator, node: scmmonitor_status) -> None:
    if is_epub(self.builder):
        self.body.append('<div class="scmmonitor-status scmmonitor-static">')  # type: ignore[attr-defined]
        return
    self.body.append(  # type: ignore[attr-defined]
        f"<div class=\"scmmonitor-status\" data-scm-nodes='{_json_attr(node['nodes'])}'"
        f' data-scm-base="{_attr(data_base(self))}">')


def html_depart_status(self: SphinxTranslator, node: scmmonitor_status) -> None:
    self.body.append("</div>\n")  # type: ignore[attr-defined]


# --- LaTeX ----------------------------------------------------------------------------------


def latex_visit_chart(self: SphinxTranslator, node: scmmonitor_chart) -> None:
    uri = render_image(self, node)
    if uri is None:
        return
    base, ext = posixpath.splitext(uri)
    # braces around the base: node names may contain dots, which confuse graphicx
    self.body.append("\n\\begin{center}\\sphinxincludegraphics[width=\\linewidth]"  # type: ignore[attr-defined]
                     f"{{{{{base}}}{ext}}}\\end{{center}}\n")
    raise nodes.SkipNode


# --- everything else (text, man, texinfo, ...): the children, i.e. the tables ---------------


def visit_children(self: SphinxTranslator, node: nodes.Element) -> None:
    pass


def depart_nothing(self: SphinxTranslator, node: nodes.Element) -> None:
    pass

"""One visitor per builder family: the HTML container, a PNG for LaTeX and epub, else the table."""

from __future__ import annotations

import html
import itertools
import json
import os
import posixpath
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging

from .. import nights
from ..export import DATA_DIR
from ..nights import KINDS
from ..pictures import PICTURE_DIR, ChartOptions, MatplotlibMissing
from ..store import StoreError
from ..text import LEVEL_SYMBOLS
from . import data, images, tables
from .nodes import scmmonitor_calendar, scmmonitor_chart, scmmonitor_status

if TYPE_CHECKING:
    from sphinx.builders import Builder
    from sphinx.util.docutils import SphinxTranslator
    from sphinx.writers.html5 import HTML5Translator
    from sphinx.writers.latex import LaTeXTranslator

logger = logging.getLogger(__name__)

#: how many of a page's first pictures are fetched with high priority
FIRST_SCREEN_PICTURES = 2


def is_epub(builder: Builder) -> bool:
    from sphinx.builders._epub_base import EpubBuilder

    return isinstance(builder, EpubBuilder)


def is_live_html(builder: Builder) -> bool:
    """HTML whose pages run our script (epub is zipped before build-finished, and offline)."""
    return builder.format == "html" and not is_epub(builder)


def picture_options(node: scmmonitor_chart) -> ChartOptions:
    """The chart's options as its directive settled them (the picture is named by them)."""
    return ChartOptions(node=node["node"], title=node["title"], series=tuple(node["series"]),
                        metric=node["metric"], scale=node["scale"], range=node["range"],
                        height=node["picture_height"], width=node["picture_width"])


def static_base(translator: HTML5Translator) -> str:
    """``_static/scmmonitor/`` relative to the page being written (html, dirhtml,
    singlehtml, at any depth); worked out once per page, which may hold many charts."""
    base: str | None = getattr(translator, "_scmmonitor_static_base", None)
    if base is None:
        builder = translator.builder
        page = Path(builder.get_outfilename(builder.current_docname))
        rel = os.path.relpath(Path(builder.outdir, *DATA_DIR[:-1]), page.parent)
        base = translator._scmmonitor_static_base = Path(rel).as_posix() + "/"  # type: ignore[attr-defined]
    return base


def data_base(translator: HTML5Translator) -> str:
    """``_static/scmmonitor/data/`` relative to the page being written."""
    return static_base(translator) + DATA_DIR[-1] + "/"


def picture_url(translator: HTML5Translator, node: scmmonitor_chart) -> str:
    picture: str = node["picture"]
    return static_base(translator) + PICTURE_DIR[-1] + "/" + picture


def alt_text(node: scmmonitor_chart) -> str:
    """What the picture shows, in words: the chart's title and options."""
    series = ", ".join(node["series"]) if node["series"] else "every series"
    return (f"Backup chart: {node['title']} (node {node['node']}, {node['metric']}, "
            f"{node['scale']} scale, range {node['range']}; {series})")


def render_image(translator: HTML5Translator | LaTeXTranslator,
                 node: scmmonitor_chart) -> str | None:
    """Write the chart's PNG into the builder's image folder; its URI, or None (use the table)."""
    builder = translator.builder
    build = data.get(builder.env)
    name = node["node"]
    if (not builder.config.scmmonitor_images or build.settings is None
            or name not in build.settings.nodes or not images.available()):
        return None
    options = picture_options(node)
    fname = images.file_name(options)
    if fname not in build.rendered:
        try:
            now = time.time()
            images.render(build.node_data(name), build.node_status(name, now), options,
                          Path(builder.outdir, builder.imagedir, fname),
                          build.settings.node(name))
        except (StoreError, OSError, ValueError, MatplotlibMissing) as exc:
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


def html_visit_chart(self: HTML5Translator, node: scmmonitor_chart) -> None:
    if is_epub(self.builder):
        uri = render_image(self, node)
        if uri is None:
            return  # the fallback table (the node's children) is written instead
        self.body.append(f'<div class="scmmonitor-picture"><img src="{_attr(uri)}" '
                         f'alt="{_attr(alt_text(node))}" /></div>\n')
        raise nodes.SkipNode
    # ids unique per output page: a singlehtml page holds every document's charts
    index = getattr(self, "_scmmonitor_charts", 0)
    self._scmmonitor_charts = index + 1  # type: ignore[attr-defined]
    name = node["node"]
    src = data_base(self) + name + ".json"
    picture = picture_url(self, node)
    mode = self.builder.config.scmmonitor_render
    # the picture is the chart until the script draws on top (interactive), or for good
    # (static); its size is given so nothing moves when it arrives. The first ones of a
    # page are likely in the first screen: fetched at once beside the stylesheets, not
    # queued behind the page's scripts as images are by default (docs/sphinx.rst, "Pictures")
    priority = ' fetchpriority="high"' if index < FIRST_SCREEN_PICTURES else ""
    self.body.append(
        f'<div class="scmmonitor-chart" id="scmmonitor-chart-{index}"'
        f' data-scm-node="{_attr(name)}" data-scm-src="{_attr(src)}"'
        f' data-scm-title="{_attr(node["title"])}" data-scm-height="{_attr(node["height"])}"'
        f" data-scm-series='{_json_attr(node['series'])}'"
        f' data-scm-metric="{_attr(node["metric"])}" data-scm-scale="{_attr(node["scale"])}"'
        f' data-scm-range="{_attr(node["range"])}" data-scm-picture="{_attr(picture)}"'
        f' data-scm-render="{_attr(mode)}">'
        f'<img class="scmmonitor-picture" src="{_attr(picture)}"'
        f' width="{node["picture_width"]}" height="{node["picture_height"]}"'
        f' alt="{_attr(alt_text(node))}"{priority} /></div>\n')
    raise nodes.SkipNode


def html_visit_status(self: HTML5Translator, node: scmmonitor_status) -> None:
    """epub: its table (the node's children); live HTML: the table as of now, written here.

    Written as the HTML writer writes a docutils table (the themes style it so), but
    straight from the rows: a status table of 300 nodes is thousands of rows.
    """
    if is_epub(self.builder):
        self.body.append('<div class="scmmonitor-status scmmonitor-static">')
        return
    cells = tables.status_cells(data.get(self.builder.env), node["nodes"], time.time())
    self.body.append(
        f"<div class=\"scmmonitor-status\" data-scm-nodes='{_json_attr(node['nodes'])}'"
        f' data-scm-base="{_attr(data_base(self))}">\n{status_table_html(cells)}</div>\n')
    raise nodes.SkipNode


def status_table_html(cells: tables.StatusCells) -> str:
    """The status table as Sphinx's HTML writer writes :func:`tables.status_table`, with the
    page script's cells: a symbol before the status word, a break after each ``/``."""
    out = ['<table class="scmmonitor-status-table docutils align-default">\n<thead>\n'
           '<tr class="row-odd">']
    out.append("\n".join(f'<th class="head scmmonitor-col-{key}"><p>{_text(head)}</p></th>'
                          for key, head in tables.STATUS_COLUMNS))
    out.append("\n</tr>\n</thead>\n<tbody>\n")
    for i, row in enumerate(cells.rows):
        out.append(f'<tr class="row-{"odd" if i % 2 else "even"}">')
        out.append("\n".join(f'<td class="{_attr(" ".join(classes))}"><p>{_cell(key, text)}'
                              "</p></td>"
                              for (text, classes), (key, _) in zip(row, tables.STATUS_COLUMNS,
                                                                   strict=True)))
        out.append("\n</tr>\n")
    out.append("</tbody>\n</table>\n")
    # a status-note: the page script's live note replaces it
    out.append(f'<p class="scmmonitor-note scmmonitor-status-note scmmonitor-status-asof">'
               f"{_text(cells.as_of)}</p>\n")
    return "".join(out)


def _cell(key: str, text: str) -> str:
    if key == "status":
        symbol = LEVEL_SYMBOLS.get(text, "?")
        return (f'<span class="scmmonitor-symbol" aria-hidden="true">{symbol} </span>'
                f'<span class="scmmonitor-word">{_text(text)}</span>')
    return breakable(text)


#: a word longer than this may break anywhere, so that it never widens its table past
#: the column (the page script's LONG_WORD, dom.js)
LONG_WORD = 20
_SPACES = re.compile(r"(\s+)")


def breakable(text: str) -> str:
    """Escaped text that may break at spaces and after each ``/`` (series names, paths), a
    word inside only where it is longer than its cell: a word of more than
    :data:`LONG_WORD` characters is marked ``scmmonitor-long`` (it may break anywhere)."""
    if len(text) <= LONG_WORD and "/" not in text:
        return _text(text)  # most cells (sizes, ages, counts): nothing to mark, 6,000 rows
    return "/<wbr>".join(
        "".join(f'<span class="scmmonitor-long">{_text(word)}</span>' if len(word) > LONG_WORD
                else _text(word) for word in _SPACES.split(part))
        for part in text.split("/"))


def _text(value: str) -> str:
    return html.escape(value, quote=False)


def html_depart_status(self: HTML5Translator, node: scmmonitor_status) -> None:
    self.body.append("</div>\n")


def html_visit_calendar(self: HTML5Translator, node: scmmonitor_calendar) -> None:
    """The build-time cells; the page's script (calendar.js) redraws them from the JSON.

    Colours come from CSS classes only (no inline style: a ``default-src 'self'``
    policy allows it), and every cell says its meaning in words too.
    """
    if is_epub(self.builder):
        return  # the table of nights in words (the node's children)
    out = [f"<div class=\"scmmonitor-calendar\" data-scm-nodes='{_json_attr(node['nodes'])}'"
           f' data-scm-base="{_attr(data_base(self))}" data-scm-days="{int(node["days"])}">']
    if node["problem"]:
        out.append(f'<p class="scmmonitor-message">{_attr(node["problem"])}</p>')
    out.append('<table class="scmmonitor-calendar-table">')
    head: list[str] | None = None
    for row in node["rows"]:
        days = [day for day, _, _ in row["nights"]]
        if days != head:
            # a head over the rows whose nights it names (nodes observed on another day
            # get their own)
            out.append(("<thead>" if head is None else "")
                       + calendar_head(days) + ("</thead><tbody>" if head is None else ""))
            head = days
        out.append(f'<tr class="scmmonitor-calendar-row" data-scm-node="{_attr(row["node"])}"'
                   f' data-scm-series="{_attr(row["series"])}">'
                   f'<th class="scmmonitor-calendar-series">{_attr(row["node"])} '
                   f'{_attr(row["series"])}</th>')
        out.extend(f'<td class="scmmonitor-night scmmonitor-night-{_attr(kind)}"'
                   f' title="{_attr(words)}" data-scm-day="{_attr(day)}">'
                   f'<span class="scmmonitor-night-words">{_attr(words)}</span></td>'
                   for day, kind, words in row["nights"])
        out.append("</tr>")
    out.append(("<tbody>" if head is None else "")
               + '</tbody></table><ul class="scmmonitor-calendar-legend">')
    out.extend(f'<li><span class="scmmonitor-night scmmonitor-night-{kind}"></span> '
               f"{_attr(words)}</li>" for kind, words in KINDS.items())
    out.append("</ul></div>\n")
    self.body.append("".join(out))
    raise nodes.SkipNode


def calendar_head(days: list[str]) -> str:
    """The calendar's two head rows, as calendar.js's ``headRows`` draws them: the months
    (for the eye; each column's head says its whole date to a screen reader), then the day
    of month over each column."""
    cells = nights.heads(days)
    months = ['<tr class="scmmonitor-calendar-months" aria-hidden="true">'
              '<td class="scmmonitor-calendar-corner"></td>']
    starts = [i for i, h in enumerate(cells) if h.month] + [len(cells)]
    months.extend(f'<td class="scmmonitor-calendar-month" colspan="{end - start}">'
                  f"{_attr(cells[start].month)}</td>"
                  for start, end in itertools.pairwise(starts))
    months.append('</tr><tr class="scmmonitor-calendar-days">'
                  '<td class="scmmonitor-calendar-corner"></td>')
    months.extend(f'<th scope="col" class="scmmonitor-calendar-day" data-scm-day="{_attr(h.day)}">'
                  f'<span aria-hidden="true">{_attr(h.number)}</span>'
                  f'<span class="scmmonitor-night-words">{_attr(h.words)}</span></th>'
                  for h in cells)
    months.append("</tr>")
    return "".join(months)


# --- LaTeX ----------------------------------------------------------------------------------


def latex_visit_chart(self: LaTeXTranslator, node: scmmonitor_chart) -> None:
    uri = render_image(self, node)
    if uri is None:
        return
    base, ext = posixpath.splitext(uri)
    # braces around the base: node names may contain dots, which confuse graphicx
    self.body.append("\n\\begin{center}\\sphinxincludegraphics[width=\\linewidth]"
                     f"{{{{{base}}}{ext}}}\\end{{center}}\n")
    raise nodes.SkipNode


# --- everything else (text, man, texinfo, ...): the children, i.e. the tables ---------------


def visit_children(self: SphinxTranslator, node: nodes.Element) -> None:
    pass


def depart_nothing(self: SphinxTranslator, node: nodes.Element) -> None:
    pass

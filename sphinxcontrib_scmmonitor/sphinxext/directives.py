"""The ``scm-backup-chart``, ``scm-backup-status`` and ``scm-backup-calendar`` directives:
validated options -> nodes."""

from __future__ import annotations

import re
import time
from pathlib import PurePath
from typing import Any, ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective
from sphinx.util.typing import OptionSpec

from ..config import NODE_NAME_RE
from ..nights import DEFAULT_DAYS
from ..pictures import ChartOptions, css_px
from ..pictures.options import METRICS, RANGES, SCALES
from . import data, pages, tables
from .nodes import scmmonitor_calendar, scmmonitor_chart, scmmonitor_status

logger = logging.getLogger(__name__)

DEFAULTS = {"metric": "size", "scale": "linear", "range": "1y", "height": "400px"}
#: CSS lengths the page's script accepts (a bare number means pixels)
HEIGHT_RE = re.compile(r"\d+(\.\d+)?(px|em|rem|vh|pt|cm|mm|in)?\Z")


def note_picture(directive: SphinxDirective, name: str, options: ChartOptions) -> None:
    """Remember the page's charts (``name``: the picture's file name): the build's picture
    manifest lists them all."""
    env = directive.env
    charts = pages.charts(env)
    page = charts.get(env.docname)
    if page is None:
        page = charts[env.docname] = {}
    page[name] = options


def note_doc(directive: SphinxDirective, kind: str, names: list[str]) -> None:
    """Remember which documents show data, to re-read them when the data changes, and
    which nodes they show: a build exports those only (and says so to export)."""
    env = directive.env
    docname = env.docname
    shown = pages.shown(env)
    page = shown.get(docname)
    if page is None:
        page = shown[docname] = set()
    page.update(names)
    docs = pages.docs(env)[kind]
    if docname in docs:
        return  # a page with many charts: its dependency is noted already
    docs.add(docname)
    build = data.get(env)
    if build.config_path.is_file():
        env.note_dependency(build.config_path)


class _DataDirective(SphinxDirective):
    #: set once this directive warned (its result then depends on where it is)
    warned = False

    def warn(self, message: str, subtype: str) -> None:
        self.warned = True
        logger.warning(message, location=self.get_location(), type="scmmonitor",
                       subtype=subtype)

    def check_node_name(self, name: str) -> str | None:
        """The problem with a node name, or None; checked before it reaches a path or URL."""
        if not NODE_NAME_RE.match(name):
            return (f"{name!r} is not a valid node name "
                    "(node names match [A-Za-z0-9][A-Za-z0-9_.-]*)")
        settings = data.get(self.env).settings
        if settings is not None and name not in settings.nodes:
            known = ", ".join(settings.nodes) or "none"
            return f"unknown node {name!r} (configured in {self.config_name()}: {known})"
        return None

    def config_name(self) -> str:
        """scmmonitor.toml as conf.py names it: the page is public, the server's paths not."""
        setting = PurePath(self.config.scmmonitor_config)
        return setting.name if setting.is_absolute() else setting.as_posix()

    def problem_paragraph(self, text: str) -> nodes.paragraph:
        return nodes.paragraph(text=text, classes=["scmmonitor-message", "scmmonitor-error"],
                               support_smartquotes=False)

    def node_arguments(self, shown: str, in_words: str) -> tuple[list[str], nodes.Node | None]:
        """The nodes a ``[NODE ...]`` directive shows (every configured one by default).

        Bad names are warned about and left out; when none is left, the second item is
        the paragraph to show instead. ``shown`` names what the page shows ("table"),
        ``in_words`` how its message starts ("No backup <in_words>: ...").
        """
        build = data.get(self.env)
        names: list[str] = []
        for name in (self.arguments[0].split() if self.arguments else []):
            if problem := self.check_node_name(name):
                self.warn(f"{self.name}: {problem}; left out of the {shown}", "node")
            elif name not in names:
                names.append(name)
        if not self.arguments and build.settings is not None:
            names = list(build.settings.nodes)
        if names:
            return names, None
        if not self.arguments and build.settings is None:
            return [], self.problem_paragraph(f"No backup {in_words}: {build.error}.")
        return [], self.problem_paragraph(f"No backup {in_words}: no valid node given.")


class BackupChart(_DataDirective):
    """``.. scm-backup-chart:: NODE`` with :title: :height: :series: :metric: :scale: :range:."""

    required_arguments = 1
    optional_arguments = 0
    final_argument_whitespace = False
    has_content = False
    option_spec: ClassVar[OptionSpec] = {
        "title": directives.unchanged,
        "height": directives.unchanged,
        "series": directives.unchanged,
        "metric": directives.unchanged,
        "scale": directives.unchanged,
        "range": directives.unchanged,
    }

    def choice(self, option: str, allowed: tuple[str, ...]) -> str:
        """A checked option value; a bad one warns and falls back to the default."""
        raw: str | None = self.options.get(option)
        if raw is None:
            return DEFAULTS[option]
        value = raw.strip().lower()
        if value not in allowed:
            self.warn(f"scm-backup-chart: :{option}: {raw!r} is not one of "
                      f"{', '.join(allowed)}; using {DEFAULTS[option]!r}", "option")
            return DEFAULTS[option]
        return value

    def height(self) -> str:
        raw: str | None = self.options.get("height")
        if raw is None:
            return DEFAULTS["height"]
        value = raw.strip().lower()
        if not HEIGHT_RE.match(value):
            self.warn(f"scm-backup-chart: :height: {raw!r} is not a CSS length such as 500px "
                      f"or 30em; using {DEFAULTS['height']!r}", "option")
            return DEFAULTS["height"]
        return value + "px" if value[-1].isdigit() else value

    def run(self) -> list[nodes.Node]:
        name = self.arguments[0]
        build = data.get(self.env)
        # a site repeats the same few charts many times over: what their options settle
        # to (checked against the config, the picture named) is worked out once per build
        key = (name, *sorted(self.options.items()))
        settled = build.charts.get(key)
        if settled is None:
            result = self.settle(name, build)
            if isinstance(result, nodes.Node):
                return [result]
            settled = result
            if not self.warned:  # a warning names its directive's place: said each time
                build.charts[key] = settled
        attributes, picture = settled
        # the attributes are shared by the nodes of one chart: no visitor changes them
        chart = scmmonitor_chart(**attributes)
        self.set_source_info(chart)
        note_picture(self, attributes["picture"], picture)
        # childless: the fallback table is attached at write time, and only for builders
        # that show it (HTML draws from the JSON, so reading the store here would be waste)
        note_doc(self, "chart", [name])
        return [chart]

    def settle(self, name: str,
               build: data.BuildData) -> tuple[dict[str, Any], ChartOptions] | nodes.Node:
        """The chart node's attributes and its picture's options, or the paragraph that
        says why there is no chart (warned)."""
        if problem := self.check_node_name(name):
            self.warn(f"scm-backup-chart: {problem}", "node")
            return self.problem_paragraph(f"No backup chart: {problem}.")
        settings = build.settings
        node_settings = settings.nodes.get(name) if settings is not None else None
        default_title = (f"{node_settings.hub} backups on {name}" if node_settings
                         else f"Backups on {name}")
        title = (self.options.get("title") or "").strip() or default_title
        series = (self.options.get("series") or "").split()
        if not series and node_settings is not None:
            series = list(node_settings.select)
        height = self.height()
        metric, scale = self.choice("metric", METRICS), self.choice("scale", SCALES)
        range_ = self.choice("range", RANGES)
        picture = ChartOptions(node=name, title=title, series=tuple(series), metric=metric,
                               scale=scale, range=range_, height=css_px(height))
        return {"node": name, "title": title, "height": height, "series": series,
                "metric": metric, "scale": scale, "range": range_,
                "picture": picture.file_name(), "picture_width": picture.width,
                "picture_height": picture.height, "support_smartquotes": False}, picture


class BackupStatus(_DataDirective):
    """``.. scm-backup-status:: [NODE ...]``: the status table (every node by default)."""

    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True
    has_content = False
    option_spec: ClassVar[OptionSpec] = {}

    def run(self) -> list[nodes.Node]:
        names, instead = self.node_arguments("table", "status")
        if instead is not None:
            return [instead]
        # names are data: smart quotes would turn a series' x"y into x”y. Childless: the
        # table is made when the page is written (as of then), not read, so thousands of
        # rows never pass through every transform, the pickled doctree and the search index
        status = scmmonitor_status(nodes=names, support_smartquotes=False)
        self.set_source_info(status)
        note_doc(self, "status", names)
        return [status]


#: the longest calendar a page may ask for (ten years of nights)
MAX_DAYS = 3660


class BackupCalendar(_DataDirective):
    """``.. scm-backup-calendar:: [NODE ...]`` with ``:days:`` (every node, 60 nights by
    default): what each series holds on each night (docs/sphinx.rst)."""

    required_arguments = 0
    optional_arguments = 1
    final_argument_whitespace = True
    has_content = False
    option_spec: ClassVar[OptionSpec] = {"days": directives.unchanged}

    def days(self) -> int:
        raw = self.options.get("days")
        if raw is None:
            return DEFAULT_DAYS
        value = raw.strip()
        if not value.isdigit() or not 1 <= int(value) <= MAX_DAYS:
            self.warn(f"scm-backup-calendar: :days: {raw!r} is not a whole number of nights "
                      f"from 1 to {MAX_DAYS}; using {DEFAULT_DAYS}", "option")
            return DEFAULT_DAYS
        return int(value)

    def run(self) -> list[nodes.Node]:
        names, instead = self.node_arguments("calendar", "calendar")
        if instead is not None:
            return [instead]
        build = data.get(self.env)
        days = self.days()
        rows, problem = tables.calendar(build, names, days, time.time())
        cal = scmmonitor_calendar(
            nodes=names, days=days, problem=problem, support_smartquotes=False,
            rows=[{"node": r.node, "series": r.series,
                   "nights": [[n.day, n.kind, n.words] for n in r.nights]} for r in rows])
        self.set_source_info(cal)
        cal.extend(tables.calendar_table(rows, days, problem))
        # re-read with the status tables when the data changes
        note_doc(self, "status", names)
        return [cal]

"""The Sphinx extension: ``setup(app)`` registers config values, nodes, directives and events."""

from __future__ import annotations

from pathlib import PurePath
from typing import TYPE_CHECKING, Any

from .._version import __version__
from . import events
from .directives import BackupCalendar, BackupChart, BackupStatus
from .nodes import scmmonitor_calendar, scmmonitor_chart, scmmonitor_status
from .visitors import (
    depart_nothing,
    html_depart_status,
    html_visit_calendar,
    html_visit_chart,
    html_visit_status,
    latex_visit_chart,
    visit_children,
)

if TYPE_CHECKING:
    from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    # the same scmmonitor.toml as the scm-monitor command, relative to conf.py's folder
    app.add_config_value("scmmonitor_config", "scmmonitor.toml", "env",
                         frozenset({str, PurePath}))
    # None: node_modules/highcharts from conf.py's folder upward; a folder; an http(s) URL
    app.add_config_value("scmmonitor_highcharts", None, "html",
                         frozenset({str, PurePath, type(None)}))
    # False: never draw PNG pictures for LaTeX/epub, always the newest-backup table
    app.add_config_value("scmmonitor_images", True, "env", frozenset({bool}))
    # "interactive": pictures with Highcharts on top; "static": pictures only, no script
    app.add_config_value("scmmonitor_render", events.RENDER_MODES[0], "html", frozenset({str}))

    table = (visit_children, depart_nothing)
    app.add_node(scmmonitor_chart, html=(html_visit_chart, depart_nothing),
                 latex=(latex_visit_chart, depart_nothing), text=table, man=table,
                 texinfo=table)
    app.add_node(scmmonitor_status, html=(html_visit_status, html_depart_status),
                 latex=table, text=table, man=table, texinfo=table)
    app.add_node(scmmonitor_calendar, html=(html_visit_calendar, depart_nothing),
                 latex=table, text=table, man=table, texinfo=table)
    app.add_directive("scm-backup-chart", BackupChart)
    app.add_directive("scm-backup-calendar", BackupCalendar)
    app.add_directive("scm-backup-status", BackupStatus)

    app.connect("config-inited", events.config_inited)
    app.connect("builder-inited", events.builder_inited)
    app.connect("env-get-outdated", events.env_get_outdated)
    app.connect("env-before-read-docs", events.env_before_read_docs)
    app.connect("env-purge-doc", events.env_purge_doc)
    app.connect("env-merge-info", events.env_merge_info)
    app.connect("doctree-resolved", events.doctree_resolved)
    app.connect("html-page-context", events.html_page_context)
    app.connect("build-finished", events.build_finished)
    return {"version": __version__, "parallel_read_safe": True, "parallel_write_safe": True,
            "env_version": 4}

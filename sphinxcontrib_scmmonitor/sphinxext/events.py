"""Event handlers: settings at start, re-reading data pages, scripts, export at the end."""

from __future__ import annotations

import time
from collections.abc import Set
from pathlib import Path
from typing import TYPE_CHECKING, Any

from docutils import nodes
from sphinx.util import logging

from ..export import ExportError, export
from ..store import StoreError
from . import assets, data
from .nodes import scmmonitor_chart, scmmonitor_status
from .visitors import is_live_html

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: after the theme's scripts, in this order (deferred scripts run in document order)
SCRIPT_PRIORITY = 700


def _docs(env: BuildEnvironment) -> dict[str, set[str]]:
    if not hasattr(env, "scmmonitor_docs"):
        env.scmmonitor_docs = {"chart": set(), "status": set()}  # type: ignore[attr-defined]
    return env.scmmonitor_docs  # type: ignore[attr-defined,no-any-return]


def builder_inited(app: Sphinx) -> None:
    build = data.load(app)
    if is_live_html(app.builder):
        build.highcharts, problem = assets.locate(app.config.scmmonitor_highcharts,
                                                  Path(app.confdir))
        if problem:
            logger.warning("scmmonitor: %s", problem, type="scmmonitor", subtype="highcharts")


def env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    data.get(env).refresh()


def env_purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for docs in _docs(env).values():
        docs.discard(docname)


def env_merge_info(app: Sphinx, env: BuildEnvironment, docnames: Set[str],
                   other: BuildEnvironment) -> None:
    theirs = _docs(other)
    for kind, docs in _docs(env).items():
        docs.update(theirs.get(kind, set()) & set(docnames))


def env_get_outdated(app: Sphinx, env: BuildEnvironment, added: Set[str], changed: Set[str],
                     removed: Set[str]) -> list[str]:
    """Pages whose build-time content comes from the store are read again on every build.

    Status tables always (they are the page's content until the script refreshes
    them, and the only content for other builders). Chart pages only where the
    chart is a picture or table made at build time: in HTML the script fetches the
    data when the page is opened, so those pages need no rebuild for fresh data.
    """
    docs = _docs(env)
    outdated = set(docs["status"])
    if not is_live_html(app.builder):
        outdated |= docs["chart"]
    return sorted(outdated - set(removed))


def doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each chart its build-time fallback, for builders that cannot run the page's script.

    Done per written page, not in the directive: live HTML never shows the
    fallback, and a table made at read time would also pass through every
    transform, the pickled doctree and the search index.
    """
    if is_live_html(app.builder):
        return
    build = data.get(app.env)
    now = time.time()
    for chart in doctree.findall(scmmonitor_chart):
        if not chart.children:
            chart.extend(data.chart_fallback(build, chart["node"], chart["title"],
                                             chart["series"], now))


def html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                      doctree: nodes.document | None) -> None:
    """Our scripts on the pages that use a directive only (added per page, as Sphinx allows)."""
    if doctree is None or not is_live_html(app.builder):
        return
    has_chart = next(iter(doctree.findall(scmmonitor_chart)), None) is not None
    if not has_chart and next(iter(doctree.findall(scmmonitor_status)), None) is None:
        return
    priority = SCRIPT_PRIORITY
    build = data.get(app.env)
    if has_chart and build.highcharts is not None:
        for script in build.highcharts.scripts:
            app.add_js_file(script, priority=priority, loading_method="defer")
            priority += 1
    app.add_js_file(f"{assets.STATIC_DIR}/{assets.OWN_SCRIPT}", priority=priority,
                    loading_method="defer")
    app.add_css_file(f"{assets.STATIC_DIR}/{assets.OWN_CSS}")


def build_finished(app: Sphinx, exception: BaseException | None) -> None:
    """Export every node's JSON and copy the scripts (HTML builders, successful builds)."""
    build = data.get(app.env)
    try:
        if exception is not None or not is_live_html(app.builder):
            return
        assets.copy_assets(Path(app.outdir), build.highcharts)
        if build.settings is None:
            return  # the config warning was given at the start
        try:
            settings = build.settings
            build.read(lambda store: export(settings, store, app.outdir))
        except (ExportError, StoreError) as exc:
            logger.warning("scmmonitor: could not export the charts' data into %s: %s",
                           Path(app.outdir, "_static", "scmmonitor", "data"), exc,
                           type="scmmonitor", subtype="export")
    finally:
        build.close()

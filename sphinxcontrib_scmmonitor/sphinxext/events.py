"""Event handlers: settings at start, re-reading data pages, scripts, export at the end."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Set
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from docutils import nodes
from sphinx.util import logging

from .. import pictures
from ..config import NODE_NAME_RE
from ..export import ExportError, data_dir, export
from ..pictures.manifest import drop_unlisted
from ..store import StoreError
from . import assets, data, pages, tables
from .nodes import scmmonitor_calendar, scmmonitor_chart, scmmonitor_status
from .visitors import is_live_html

if TYPE_CHECKING:
    from sphinx.application import Sphinx
    from sphinx.config import Config
    from sphinx.environment import BuildEnvironment

logger = logging.getLogger(__name__)

#: after the theme's scripts, in this order (deferred scripts run in document order)
SCRIPT_PRIORITY = 700
#: ``scmmonitor_render``: pictures with Highcharts on top, or pictures only (no script)
RENDER_MODES = ("interactive", "static")

_T = TypeVar("_T")


def config_inited(app: Sphinx, config: Config) -> None:
    """A bad ``scmmonitor_render`` is one warning, and the default."""
    mode = config.scmmonitor_render
    if mode not in RENDER_MODES:
        logger.warning("scmmonitor_render = %r in conf.py is not one of %s; using %r",
                       mode, ", ".join(map(repr, RENDER_MODES)), RENDER_MODES[0],
                       type="scmmonitor", subtype="config")
        config.scmmonitor_render = RENDER_MODES[0]


def interactive(app: Sphinx) -> bool:
    """Pages that load Highcharts and our script (static mode: pictures only)."""
    return is_live_html(app.builder) and app.config.scmmonitor_render == "interactive"


def builder_inited(app: Sphinx) -> None:
    """Settings and Highcharts found; our files copied before any page is written."""
    build = data.load(app)
    build.whole_when_changed = is_live_html(app.builder)
    if interactive(app):
        build.highcharts, problem = assets.locate(app.config.scmmonitor_highcharts,
                                                  Path(app.confdir))
        if problem:
            logger.warning("scmmonitor: %s", problem, type="scmmonitor", subtype="highcharts")
    # the chart pages name what they load: when that changes (Highcharts installed,
    # removed, moved), they are written again, not only a full build's
    loads = repr((app.config.scmmonitor_render,
                  build.highcharts.key() if build.highcharts is not None else None))
    build.assets_changed = getattr(app.env, "scmmonitor_loads", None) != loads
    app.env.scmmonitor_loads = loads  # type: ignore[attr-defined]
    if not is_live_html(app.builder):
        return
    for path in assets.clashes(Path(app.confdir), list(app.config.html_static_path),
                               build.highcharts):
        logger.warning("scmmonitor: %s has the name of a file the extension writes "
                       "(_static/%s/%s), so one replaces the other in the output; keep "
                       "your own styles in another file and add it with html_css_files "
                       "(see 'Light and dark' in the extension's docs)", path,
                       assets.STATIC_DIR, path.name, type="scmmonitor", subtype="static")
    # before the pages: Sphinx's ?v= checksums need the files in place (first build too)
    assets.copy_assets(Path(app.outdir), build.highcharts, script=interactive(app))


def env_before_read_docs(app: Sphinx, env: BuildEnvironment, docnames: list[str]) -> None:
    build = data.get(env)
    build.refresh()
    if app.parallel > 1:
        # read before the readers fork: each would read it (and warn) on its own
        _ = build.settings


def env_purge_doc(app: Sphinx, env: BuildEnvironment, docname: str) -> None:
    for docs in pages.docs(env).values():
        docs.discard(docname)
    pages.charts(env).pop(docname, None)
    pages.shown(env).pop(docname, None)


def env_merge_info(app: Sphinx, env: BuildEnvironment, docnames: Set[str],
                   other: BuildEnvironment) -> None:
    theirs = pages.docs(other)
    for kind, docs in pages.docs(env).items():
        docs.update(theirs.get(kind, set()) & set(docnames))
    _take_pages(pages.charts(env), pages.charts(other), docnames)
    _take_pages(pages.shown(env), pages.shown(other), docnames)


def _take_pages(mine: dict[str, _T], theirs: dict[str, _T], docnames: Set[str]) -> None:
    """A parallel reader's entries for the pages it read become this process's."""
    for docname in docnames:
        if docname in theirs:
            mine[docname] = theirs[docname]


def env_get_outdated(app: Sphinx, env: BuildEnvironment, added: Set[str], changed: Set[str],
                     removed: Set[str]) -> list[str]:
    """Pages whose build-time content comes from the store are read again on every build.

    Status tables always (they are the page's content until the script refreshes
    them, and the only content for other builders). Chart pages only where the
    chart is a picture or table made at build time: in HTML the script fetches the
    data when the page is opened, so those pages need no rebuild for fresh data,
    unless what they load changed (Highcharts installed or removed since).
    """
    docs = pages.docs(env)
    outdated = set(docs["status"])
    build = data.get(env)
    if not is_live_html(app.builder) or build.assets_changed:
        outdated |= docs["chart"]
    build.assets_changed = False  # once: a second build by the same app loads the same
    return sorted(outdated - set(removed))


def doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    """Give each chart its build-time fallback and each status box its table, for builders
    that cannot run the page's script (live HTML writes the status table itself).

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
            chart.extend(tables.chart_fallback(build, chart["node"], chart["title"],
                                             chart["series"], now))
    for status in doctree.findall(scmmonitor_status):
        if not status.children:
            status += tables.status_table(tables.status_cells(
                build, status["nodes"], now, page=app.builder.format == "html"))


def html_page_context(app: Sphinx, pagename: str, templatename: str, context: dict[str, Any],
                      doctree: nodes.document | None) -> None:
    """Our scripts on the pages that use a directive only (added per page, as Sphinx allows).

    Static mode: the stylesheet only; the pictures and tables need no script.
    """
    if doctree is None or not is_live_html(app.builder):
        return
    has_chart = next(iter(doctree.findall(scmmonitor_chart)), None) is not None
    if not has_chart and not any(next(iter(doctree.findall(kind)), None) is not None
                                 for kind in (scmmonitor_status, scmmonitor_calendar)):
        return
    if not interactive(app):
        app.add_css_file(f"{assets.STATIC_DIR}/{assets.OWN_CSS}")
        return
    priority = SCRIPT_PRIORITY
    build = data.get(app.env)
    if has_chart and build.highcharts is not None:
        for script in build.highcharts.scripts:
            app.add_js_file(script, priority=priority, loading_method="defer")
            priority += 1
        if build.highcharts.stylesheet:
            # Highcharts' styled-mode rules first, ours (its colours) after them
            app.add_css_file(build.highcharts.stylesheet, priority=SCRIPT_PRIORITY)
    app.add_js_file(f"{assets.STATIC_DIR}/{assets.OWN_SCRIPT}", priority=priority,
                    loading_method="defer")
    app.add_css_file(f"{assets.STATIC_DIR}/{assets.OWN_CSS}", priority=SCRIPT_PRIORITY + 1)


def build_finished(app: Sphinx, exception: BaseException | None) -> None:
    """Write the picture manifest, export the JSON and pictures of the nodes the pages
    show, where they changed.

    HTML builders, successful builds. The manifest comes first: the export
    redraws what it lists, as ``scm-monitor export`` does later. A site whose
    pages show no node does not open the store. (Our scripts and stylesheet were
    copied in ``builder-inited``.)
    """
    build = data.get(app.env)
    try:
        if exception is not None or not is_live_html(app.builder):
            return
        shown = pages.used_nodes(app.env)
        try:
            # the nodes too: `scm-monitor export` writes exactly those, as this build does
            pictures.write_manifest(app.outdir, {page: charts.values() for page, charts
                                                 in pages.charts(app.env).items()},
                                    nodes=shown)
        except ExportError as exc:
            logger.warning("scmmonitor: could not write the picture manifest: %s", exc,
                           type="scmmonitor", subtype="export")
            return
        if not shown:
            # no page shows a node: the pictures of removed charts go, nothing is read
            _drop_removed_nodes(app.outdir, set())
            drop_unlisted(app.outdir)
            return
        if build.settings is None:
            # the config warning was given once already; the pictures say so too
            _placeholders(app, f"no backup data ({build.error})")
            return
        settings = build.settings
        used = sorted(shown & set(settings.nodes))
        _drop_removed_nodes(app.outdir, set(used))
        try:
            if not used:
                drop_unlisted(app.outdir)
                return
            now = time.time()
            # unchanged nodes are skipped (a rebuild over the same data writes nothing);
            # their findings are those the directives judged or the last build kept, and
            # a changed node's full read is the one its directives already made
            keys = build.data_keys()
            build.read(lambda store: export(
                settings, store, app.outdir, used, now, only_changed=True,
                read=build.node_data, judge=lambda name: build.node_status(name, now),
                keys=keys))
            build.keep_findings(used)
        except (ExportError, StoreError) as exc:
            logger.warning("scmmonitor: could not export the charts' data into %s: %s",
                           Path(app.outdir, "_static", "scmmonitor", "data"), exc,
                           type="scmmonitor", subtype="export")
            _placeholders(app, "no backup data at build time (the store could not be read)")
    finally:
        build.close()


def _drop_removed_nodes(outdir: str | os.PathLike[str], nodes: Set[str]) -> None:
    """A node no page shows (or no longer configured): its data files go (its pictures
    go with its charts)."""
    folder = data_dir(outdir)
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            stem = entry.name.removesuffix(".gz").removesuffix(".json")
            if (entry.name in (f"{stem}.json", f"{stem}.json.gz") and NODE_NAME_RE.match(stem)
                    and stem not in nodes and entry.is_file()):
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)


def _placeholders(app: Sphinx, message: str) -> None:
    try:
        pictures.placeholder(app.outdir, message)
    except ExportError as exc:
        logger.warning("scmmonitor: %s", exc, type="scmmonitor", subtype="export")

"""The docutils nodes the directives leave in the doctree for the builders' visitors."""

from __future__ import annotations

from docutils import nodes


class scmmonitor_chart(nodes.General, nodes.Element):
    """One node's backup chart.

    Attributes: ``node``, ``title``, ``height``, ``series`` (list), ``metric``,
    ``scale``, ``range``, ``picture`` (the picture's file name, a hash of the chart's
    options), ``picture_width`` and ``picture_height`` (px), and
    ``support_smartquotes=False`` (names are data). It is
    childless in the stored doctree; on ``doctree-resolved`` builders that cannot
    run the page's script get the build-time fallback (a table of the newest
    backup per series) as its children.
    """


class scmmonitor_status(nodes.General, nodes.Element):
    """A status table of some nodes.

    Attribute ``nodes`` (list of node names); childless in the stored doctree. Live
    HTML writes the table as of writing (which the page's script refreshes from the
    exported JSON); for other builders ``doctree-resolved`` gives it the table as its
    child.
    """


class scmmonitor_calendar(nodes.General, nodes.Element):
    """A backup calendar of some nodes: one row per series, one cell per night.

    Attributes ``nodes`` (list of node names), ``days`` and ``rows`` (the build-time
    cells: a list of ``{"node", "series", "nights": [[day, kind, words], ...]}``) and
    ``problem`` (why there are none, or ""). HTML writes the cells, which the page's
    script redraws from the exported JSON; its child, a table of the nights that hold
    no backup or a finding, is what other builders show.
    """

"""The docutils nodes the directives leave in the doctree for the builders' visitors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from docutils import nodes

#: an element's list attributes (ids, classes, ...) when it has none: one shared empty
#: tuple each, which the garbage collector does not track
_NO_LIST_ATTRIBUTES = dict.fromkeys(nodes.Element.list_attributes, ())


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

    tagname = "scmmonitor_chart"

    def __init__(self, rawsource: str = "", *children: nodes.Node, **attributes: Any) -> None:
        # A site may hold tens of thousands of charts, every one kept in memory from
        # reading to writing, and each pass of Python's cyclic garbage collector visits
        # every container object: an Element makes eight (its dicts, its five empty
        # attribute lists, its children), this one three. Its list attributes and
        # children are tuples until something adds to them (a tuple would say so loudly
        # if anything changed them in place).
        self.rawsource = rawsource
        self.children = ()  # type: ignore[assignment]
        self.extend(children)
        self.attributes = dict(_NO_LIST_ATTRIBUTES)
        for name, value in attributes.items():
            name = name.lower()
            # copied, as docutils does: a copy of a node has lists of its own
            self.attributes[name] = value[:] if name in self.list_attributes else value

    def is_not_default(self, key: str) -> bool:
        # an empty tuple is an empty list attribute (the XML builders leave it out)
        if key in self.list_attributes and not self[key]:
            return False
        return super().is_not_default(key)

    def _own_children(self) -> None:
        # other builders' fallback table arrives on doctree-resolved (events.py)
        children: Sequence[nodes.Node] = self.children
        if isinstance(children, tuple):
            self.children = list(children)

    def append(self, item: nodes.Node) -> None:
        self._own_children()
        super().append(item)

    def insert(self, index: Any, item: Any) -> None:
        self._own_children()
        super().insert(index, item)


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

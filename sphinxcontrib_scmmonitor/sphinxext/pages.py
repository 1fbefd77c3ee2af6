"""What the build environment remembers per page: the nodes it shows, its charts, and
which pages are read again when the data changes.

Kept on the environment (pickled with it, merged from parallel readers), one
entry per page, so a page read again replaces its own entries only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..pictures import ChartOptions

if TYPE_CHECKING:
    from sphinx.environment import BuildEnvironment

#: the kinds of page :func:`docs` tracks: chart pages, and pages with build-time tables
KINDS = ("chart", "status")


def docs(env: BuildEnvironment) -> dict[str, set[str]]:
    """Kind -> the pages with a directive of that kind."""
    try:
        return env.scmmonitor_docs  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        env.scmmonitor_docs = {kind: set() for kind in KINDS}  # type: ignore[attr-defined]
        return env.scmmonitor_docs  # type: ignore[attr-defined,no-any-return]


def shown(env: BuildEnvironment) -> dict[str, set[str]]:
    """Page -> the nodes its directives show (charts, status tables, calendars)."""
    try:
        return env.scmmonitor_nodes  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        env.scmmonitor_nodes = {}  # type: ignore[attr-defined]
        return env.scmmonitor_nodes  # type: ignore[attr-defined,no-any-return]


def charts(env: BuildEnvironment) -> dict[str, dict[str, ChartOptions]]:
    """Page -> its distinct charts (picture file name -> options): the picture manifest.

    Keyed by picture, not one entry per directive: a page of a hundred charts of a
    few nodes holds a few entries, and the pickled environment a few objects.
    """
    try:
        return env.scmmonitor_pictures  # type: ignore[attr-defined,no-any-return]
    except AttributeError:
        env.scmmonitor_pictures = {}  # type: ignore[attr-defined]
        return env.scmmonitor_pictures  # type: ignore[attr-defined,no-any-return]


def used_nodes(env: BuildEnvironment) -> set[str]:
    """The nodes some page of the site shows, pages read in earlier builds included."""
    return set().union(*shown(env).values())

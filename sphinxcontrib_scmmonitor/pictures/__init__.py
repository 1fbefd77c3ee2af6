"""Charts drawn on the server: a node's data and a chart's options -> an SVG or a PNG picture.

:func:`svg` and :func:`png` draw one chart; :func:`rewrite` redraws every picture
a built site's manifest lists, so ``scm-monitor export`` keeps them as fresh as
the JSON (docs/sphinx.rst, "Pictures").
"""

from __future__ import annotations

from ..checks import NodeStatus
from ..config import NodeSettings
from ..store import NodeData
from . import png as _png
from . import svg as _svg
from .manifest import (
    MANIFEST,
    PICTURE_DIR,
    PictureError,
    drawn_from,
    placeholder,
    read_manifest,
    rewrite,
    shown_nodes,
    write_manifest,
)
from .options import ChartOptions, css_px
from .scene import draw
from .shapes import Scene

__all__ = ["MANIFEST", "PICTURE_DIR", "ChartOptions", "MatplotlibMissing", "PictureError",
           "Scene", "css_px", "draw", "drawn_from", "placeholder", "png", "png_available",
           "read_manifest", "rewrite", "scene_of", "shown_nodes", "svg", "write_manifest"]

png_available = _png.available
MatplotlibMissing = _png.MatplotlibMissing


def scene_of(data: NodeData, status: NodeStatus, options: ChartOptions,
          node: NodeSettings | None = None) -> Scene:
    retired = frozenset(s.name for s in data.series if node is not None and node.retires(s.name))
    return draw(data, status, options, retires=retired)


def svg(data: NodeData, status: NodeStatus, options: ChartOptions,
        node: NodeSettings | None = None) -> str:
    """The chart as an SVG document (text)."""
    return _svg.write(scene_of(data, status, options, node))


def png(data: NodeData, status: NodeStatus, options: ChartOptions,
        node: NodeSettings | None = None) -> bytes:
    """The chart as PNG bytes; raises :class:`MatplotlibMissing` without matplotlib."""
    return _png.write(scene_of(data, status, options, node))

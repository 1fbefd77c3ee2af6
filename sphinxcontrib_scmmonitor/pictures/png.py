"""A scene -> PNG bytes with matplotlib (the ``images`` extra), for PDF, epub and mail.

The same shapes as the SVG, painted in pixel coordinates in the light scheme,
so every output shows the same picture.
"""

from __future__ import annotations

import importlib.util
import io

from .shapes import Line, Mark, Rect, Scene, Text
from .style import PALETTE, STYLES, Style

#: pixels per "CSS pixel": PNGs are drawn at twice the size, sharp when printed
SCALE = 2
DPI = 96


class MatplotlibMissing(RuntimeError):
    """PNG pictures need matplotlib: ``pip install 'sphinxcontrib-scmmonitor[images]'``."""


def available() -> bool:
    """Whether matplotlib is installed, without importing it (that takes a good 0.2 s)."""
    return importlib.util.find_spec("matplotlib") is not None


def _style(classes: str) -> Style:
    """Classes merge like CSS: later ones add to earlier ones."""
    merged = Style()
    for name in classes.split():
        style = STYLES.get(name)
        if style is None:
            continue
        merged = Style(stroke=style.stroke or merged.stroke, fill=style.fill or merged.fill,
                       width=style.width if style.stroke else merged.width,
                       dash=style.dash or merged.dash, size=style.size, bold=style.bold)
    return merged


def write(scene: Scene, scheme: str = "light") -> bytes:
    """The PNG of ``scene``; raises :class:`MatplotlibMissing` without matplotlib."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.lines import Line2D
        from matplotlib.patches import Polygon
        from matplotlib.patches import Rectangle as MplRect
    except ImportError:
        raise MatplotlibMissing(MatplotlibMissing.__doc__) from None

    colours = PALETTE[scheme]
    w, h = scene.width, scene.height
    fig = Figure(figsize=(w * SCALE / DPI, h * SCALE / DPI), dpi=DPI)
    FigureCanvasAgg(fig)
    # one axes over the whole figure in pixels, y downwards like SVG
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, w)
    ax.set_ylim(h, 0)
    ax.set_axis_off()
    pt = SCALE * 72 / DPI  # one CSS pixel in points

    def colour(key: str | None) -> str:
        return "none" if key is None else colours[key]

    for shape in scene.shapes:
        style = _style(shape.classes)
        if isinstance(shape, Rect):
            ax.add_patch(MplRect((shape.x, shape.y), shape.w, shape.h, linewidth=0,
                                 facecolor=colour(style.fill)))
        elif isinstance(shape, Line):
            xs = [p[0] for p in shape.points]
            ys = [p[1] for p in shape.points]
            line = Line2D(xs, ys, color=colour(style.stroke), linewidth=style.width * pt,
                          solid_joinstyle="round", solid_capstyle="round")
            if style.dash:
                line.set_dashes([d * pt / (style.width * pt) for d in style.dash])
            ax.add_line(line)
        elif isinstance(shape, Text):
            # escaping for matplotlib: "$" would start math, so it is shown as itself
            ax.text(shape.x, shape.y, shape.text.replace("$", r"\$"), ha={
                "start": "left", "middle": "center", "end": "right"}[shape.anchor],
                va="baseline", fontsize=style.size * pt, color=colour(style.fill),
                fontweight="bold" if style.bold else "normal", usetex=False)
        elif isinstance(shape, Mark):
            x, y = shape.x, shape.y
            ax.add_patch(Polygon([(x, y - 5), (x + 5, y), (x, y + 5), (x - 5, y)],
                                 closed=True, facecolor=colour(style.fill),
                                 edgecolor=colour(style.stroke), linewidth=pt))
    buffer = io.BytesIO()
    # no "Software" entry: the same scene gives byte-identical files
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()

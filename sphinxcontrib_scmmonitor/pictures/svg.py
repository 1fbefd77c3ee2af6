"""A scene -> one SVG document, written directly (string building, every text escaped).

Colours are CSS custom properties on the root element, light by default and
dark under ``prefers-color-scheme: dark``. A page that follows its own theme
forces one scheme: the class ``scm-light`` or ``scm-dark`` on the root of an
inlined SVG, or the fragment ``#scm-light`` / ``#scm-dark`` on an ``<img>``'s
URL (docs/sphinx.rst, "Pictures").
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from .shapes import Line, Mark, Rect, Scene, Text, chars_fitting, clean, fit
from .style import PALETTE, STYLES, Style

FONT = "system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif"


def _vars(scheme: str) -> str:
    return ";".join(f"--{k}:{v}" for k, v in PALETTE[scheme].items())


def _rule(name: str, style: Style) -> str:
    parts = []
    if style.stroke:
        parts.append(f"stroke:var(--{style.stroke})")
    if style.fill:
        parts.append(f"fill:var(--{style.fill})")
    if name in ("title", "note", "label", "legend", "empty"):
        parts.append(f"font-size:{style.size:g}px")
        if style.bold:
            parts.append("font-weight:600")
    elif style.stroke and not style.fill:
        parts += [f"stroke-width:{style.width:g}", "fill:none"]
    if style.dash:
        parts.append("stroke-dasharray:" + ",".join(f"{d:g}" for d in style.dash))
    return f".{name}{{{';'.join(parts)}}}"


#: the stylesheet is the same for every picture: built once
STYLESHEET = (
    f":root{{{_vars('light')}}}"
    f"@media (prefers-color-scheme:dark){{:root{{{_vars('dark')}}}}}"
    # forced by the page: a class where the SVG is inlined, a fragment where it is an
    # <img> (picture.svg#scm-dark), so a theme toggle can switch a picture without a script
    # inside it
    f":root.scm-light,:root:has(#scm-light:target){{{_vars('light')}}}"
    f":root.scm-dark,:root:has(#scm-dark:target){{{_vars('dark')}}}"
    # paper is light, whatever the screen's scheme
    f"@media print{{:root,:root.scm-dark,:root:has(#scm-dark:target){{{_vars('light')}}}}}"
    + "".join(_rule(name, style) for name, style in STYLES.items())
    + "path{stroke-linejoin:round;stroke-linecap:round}"
)


def _path(points: list[tuple[int, int]]) -> str:
    """Relative moves (h, v, l): a few characters per vertex."""
    x, y = points[0]
    out = [f"M{x} {y}"]
    for px, py in points[1:]:
        dx, dy = px - x, py - y
        if dy == 0:
            out.append(f"h{dx}")
        elif dx == 0:
            out.append(f"v{dy}")
        else:
            out.append(f"l{dx}{'' if dy < 0 else ' '}{dy}")
        x, y = px, py
    return "".join(out)


def _num(value: float) -> str:
    return f"{value:.1f}".removesuffix(".0")


def _attr(value: str) -> str:
    return quoteattr(value)


def write(scene: Scene) -> str:
    """The SVG document (UTF-8 text) of ``scene``."""
    observed = "" if scene.observed_at is None else f' data-observed-at="{int(scene.observed_at)}"'
    if scene.key:
        observed += f' data-drawn-from="{scene.key}"'
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{scene.width}" '
        f'height="{scene.height}" viewBox="0 0 {scene.width} {scene.height}" role="img" '
        f'aria-labelledby="scm-t scm-d" font-family="{FONT}"{observed}>',
        f'<title id="scm-t">{escape(scene.title)}</title>',
        f'<desc id="scm-d">{escape(scene.description)}</desc>',
        f"<style>{STYLESHEET}</style>",
        '<g id="scm-light"/><g id="scm-dark"/>',
    ]
    append = out.append
    for shape in scene.shapes:
        if isinstance(shape, Line):
            if shape.name is None:
                append(f'<path class="{shape.classes}" d="{_path(shape.points)}"/>')
                continue
            newest = ""
            if shape.newest is not None:
                newest = (f' data-newest-at="{shape.newest[0]}"'
                          f' data-newest="{shape.newest[1]:.17g}"')
            append(f'<path class="{shape.classes}" data-series={_attr(shape.name)}{newest}'
                   f' d="{_path(shape.points)}"/>')
        elif isinstance(shape, Text):
            anchor = "" if shape.anchor == "start" else f' text-anchor="{shape.anchor}"'
            append(f'<text class="{shape.classes}" x="{_num(shape.x)}" y="{_num(shape.y)}"'
                   f"{anchor}>{escape(shape.text)}</text>")
        elif isinstance(shape, Rect):
            append(f'<rect class="{shape.classes}" x="{_num(shape.x)}" y="{_num(shape.y)}" '
                   f'width="{_num(shape.w)}" height="{_num(shape.h)}"/>')
        elif isinstance(shape, Mark):
            x, y = shape.x, shape.y
            append(f'<path class="{shape.classes}" d="M{_num(x)} {_num(y - 5)}l5 5-5 5-5-5z">'
                   f"<title>{escape(shape.title)}</title></path>")
    append("</svg>\n")
    return "".join(out)


def message(width: int, height: int, title: str, text: str) -> str:
    """A picture holding only its title and a sentence (no data could be read)."""
    scene = Scene(width=width, height=height, title=clean(title), description=clean(text),
                  observed_at=None, shapes=[
                      Rect(0, 0, width, height, "bg"), Text(10, 20, clean(title), "title"),
                      Text(width / 2, height / 2, fit(clean(text), chars_fitting(width - 20, 13)),
                           "empty", "middle")])
    return write(scene)

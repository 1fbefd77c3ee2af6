"""How a picture looks: the colours of both schemes and the style of every class of shape.

One home for the SVG's stylesheet and the PNG painter (docs/sphinx.rst, "Pictures").
"""

from __future__ import annotations

from dataclasses import dataclass

#: role -> (light, dark); series colours are mid-tone so they read on white and on near-black
_COLOURS = {
    "bg": ("#ffffff", "#1b1b1d"), "fg": ("#1f1f1f", "#e6e6e6"), "muted": ("#5c5c5c", "#a8a8a8"),
    "grid": ("#e3e3e3", "#3a3a3d"), "axis": ("#808080", "#8f8f94"), "ok": ("#1b5e20", "#81c784"),
    "warn": ("#a86400", "#ffb74d"), "alarm": ("#c62828", "#ef5350"),
    "retired": ("#858585", "#8a8a8a"), "c0": ("#1f77b4", "#5fa8e8"), "c1": ("#c75702", "#ff8c42"),
    "c2": ("#268c26", "#5fd35f"), "c3": ("#9467bd", "#b99cf0"), "c4": ("#8c564b", "#c79a8b"),
    "c5": ("#d6257f", "#f57ab8"), "c6": ("#0f8290", "#4fd8e8"), "c7": ("#7f7f00", "#c9c94f"),
    "c8": ("#4e79a7", "#8fb3dd"), "c9": ("#9c6590", "#d7a6cc"),
}
#: per colour scheme: role -> colour
PALETTE = {scheme: {role: pair[i] for role, pair in _COLOURS.items()}
           for i, scheme in enumerate(("light", "dark"))}
SERIES_COLOURS = 10


@dataclass(frozen=True)
class Style:
    """How one class of shape looks; colours name a PALETTE entry."""

    stroke: str | None = None
    fill: str | None = None
    width: float = 1.0
    dash: tuple[float, ...] = ()
    size: float = 11.0
    bold: bool = False


#: every class a scene uses; the SVG's stylesheet and the PNG painter both read this
STYLES: dict[str, Style] = {
    "bg": Style(fill="bg"),
    "title": Style(fill="fg", size=14, bold=True),
    "note": Style(fill="muted", size=11),
    "label": Style(fill="muted", size=10),
    "legend": Style(fill="fg", size=11),
    "empty": Style(fill="muted", size=13),
    "grid": Style(stroke="grid", width=1),
    "axis": Style(stroke="axis", width=1),
    "flag": Style(stroke="alarm", width=1, dash=(2, 3)),
    "flagmark": Style(fill="alarm", stroke="bg", width=1),
    "warn": Style(fill="warn", stroke="bg", width=1),
    "alarm": Style(fill="alarm", stroke="bg", width=1),
    "retired": Style(stroke="retired", width=1, dash=(1, 2)),
    **{f"c{i}": Style(stroke=f"c{i}", width=1.5) for i in range(SERIES_COLOURS)},
    # not ok: dashed like the interactive chart draws it
    "dashed": Style(dash=(6, 3)),
}

"""Our colours as CSS custom properties, light and dark: the head of ``scmmonitor.css``.

The chart's colours are the pictures' palette (one palette for the picture and the
interactive chart drawn over it); the page's own (message boxes, the status table's
cells) are here. Written as ``--scm-<name>`` on ``:root`` (light) and for dark pages
(docs/sphinx.rst, "Light and dark"): where the page script has set
``html[data-scm-mode="dark"]``, and, for pages without the script (static mode),
where the theme's own ``data-theme`` attribute says dark; printed, every page is light.
"""

from __future__ import annotations

from ..pictures.style import PALETTE

#: name -> (light, dark); every *-fg is text on its *-bg and on --scm-bg at >= 4.5:1
PAGE_COLOURS: dict[str, tuple[str, str]] = {
    "surface": ("#f4f4f4", "#26262a"),  # message boxes, table heads, tooltips
    "border": ("#c4c4c4", "#55555b"),
    "accent": ("#1f5fbf", "#7fb0ff"),  # selected range button, navigator handles
    "accent-soft": ("#dbe6f7", "#22324d"),
    "ok-fg": ("#1b5e20", "#a5d6a7"), "ok-bg": ("#e8f5e9", "#16301b"),
    "warn-fg": ("#6b4100", "#ffcc80"), "warn-bg": ("#fff3e0", "#3a2a0c"),
    "alarm-fg": ("#a31515", "#ffb3b3"), "alarm-bg": ("#ffebee", "#45181a"),
    "unknown-fg": ("#3d3d3d", "#dddddd"), "unknown-bg": ("#eeeeee", "#333336"),
    "error-fg": ("#5f0f0f", "#ffd0cc"), "error-bg": ("#fdecea", "#3d1715"),
    "error-border": ("#c62828", "#ef5350"),
}
MODES = ("light", "dark")

#: dark pages: the script's mark; without the script, the theme's own attribute
#: (furo: body[data-theme], pydata-sphinx-theme and sphinx-book-theme: html[data-theme])
DARK = ('html[data-scm-mode="dark"]', 'html:not([data-scm-mode])[data-theme="dark"]',
        'html:not([data-scm-mode]) body[data-theme="dark"]')
#: "auto" follows the reader's system, for pages without the script
AUTO = ('html:not([data-scm-mode])[data-theme="auto"]',
        'html:not([data-scm-mode]) body[data-theme="auto"]')


def colours(mode: str) -> dict[str, str]:
    """Every custom property's value in ``mode`` (without the ``--scm-`` prefix)."""
    index = MODES.index(mode)
    return {**PALETTE[mode], **{name: pair[index] for name, pair in PAGE_COLOURS.items()}}


def _block(selectors: tuple[str, ...], mode: str, indent: str = "") -> str:
    body = "".join(f"{indent}  --scm-{name}: {value};\n" for name, value in colours(mode).items())
    return f"{indent}{(',' + chr(10) + indent).join(selectors)} {{\n{body}{indent}}}\n"


def stylesheet_head() -> str:
    """The custom properties, light then dark, as CSS."""
    return ("/* sphinxcontrib-scmmonitor colours (sphinxext/colours.py), light then dark; "
            "a printed page is light */\n"
            + _block((":root",), "light") + _block(DARK, "dark")
            + "@media (prefers-color-scheme: dark) {\n" + _block(AUTO, "dark", "  ") + "}\n"
            + "@media print {\n" + _block(DARK + AUTO, "light", "  ") + "}\n\n")

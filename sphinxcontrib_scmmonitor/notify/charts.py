"""The alert mail's pictures: a PNG of each node with findings, shown inline (``cid:``).

Drawn by the same renderer as the pages' pictures (docs/sphinx.rst, "Pictures"),
with matplotlib: the ``images`` extra. Without it the mail says so and goes out
without pictures; a picture that cannot be drawn never keeps the alert back.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from ..checks import OK, NodeStatus, Report
from ..config import NODE_NAME_RE, Settings

if TYPE_CHECKING:
    from ..store import Reader

log = logging.getLogger("scmmonitor.notify")

#: pictures per mail at most: a mail about 137 unreachable nodes stays a mail
MAX_PICTURES = 6
#: CSS pixels (mail clients lay out about 600 px wide); the PNG has twice as many
WIDTH, HEIGHT = 640, 300
#: the last three months: what the findings are about, and a read whose cost does not
#: grow with the history
RANGE = "3m"
NO_EXTRA = ("No pictures in this mail: they need matplotlib, the images extra "
            "(pip install 'sphinxcontrib-scmmonitor[images]').")


@dataclass(frozen=True)
class Picture:
    """One node's chart as PNG bytes, and the Content-ID the HTML part refers to it by."""

    node: str
    png: bytes
    #: ``<...>`` as in the header; random, never made of a node's or series' name
    cid: str
    alt: str
    #: CSS pixels the HTML shows it at
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def src(self) -> str:
        return "cid:" + self.cid.strip("<>")

    @property
    def filename(self) -> str:
        # node names are checked by the config; a Python caller's name is not trusted
        return f"{self.node}.png" if NODE_NAME_RE.match(self.node) else "node.png"


@dataclass(frozen=True)
class Pictures:
    """What the mail shows: the pictures, and in words what it leaves out and why."""

    items: tuple[Picture, ...] = ()
    #: nodes with findings beyond :data:`MAX_PICTURES`
    left_out: int = 0
    #: why there are no pictures at all ("" when there are, or nothing to draw)
    missing: str = ""


def content_id() -> str:
    """A fresh, globally unique Content-ID (RFC 2392) of letters and digits only."""
    return f"<chart.{secrets.token_hex(12)}@scm-monitor>"


def draw(settings: Settings, store: Reader, report: Report) -> Pictures:
    """A picture of each node with findings, in the report's order, up to MAX_PICTURES."""
    bad = [n for n in report.nodes if n.status != OK]
    if not bad:
        return Pictures()
    # lazily: a mail without pictures (or --dry-run) loads no renderer
    from .. import pictures
    from ..pictures.scene import RANGE_DAYS

    if not pictures.png_available():
        return Pictures(missing=NO_EXTRA)
    out: list[Picture] = []
    for status in bad[:MAX_PICTURES]:
        node = settings.node(status.node)
        options = pictures.ChartOptions(node=node.name, title=f"Backups of node {node.name}",
                                        range=RANGE, width=WIDTH, height=HEIGHT)
        try:
            data = store.recent_node_data(node.name, node.hub,
                                          window_s=(RANGE_DAYS[RANGE] + 1) * 86400)
            png = pictures.png(data, status, options, node)
        except pictures.MatplotlibMissing:
            return Pictures(missing=NO_EXTRA)
        except Exception:  # a picture is a nicety: the alert goes out without it
            log.warning("no picture of node %s in the mail", node.name, exc_info=True)
            continue
        out.append(Picture(node.name, png, content_id(), alt=_alt(status)))
    return Pictures(tuple(out), left_out=len(bad) - min(len(bad), MAX_PICTURES))


def _alt(status: NodeStatus) -> str:
    bad = [s.name for s in status.series if s.status != OK]
    words = f"Backup sizes of node {status.node} over the last three months"
    return words + (f"; not ok: {', '.join(bad[:5])}" + (" and more" if len(bad) > 5 else "")
                    if bad else "")


def attach(msg: EmailMessage, pictures: Sequence[Picture]) -> None:
    """Each picture inline beside the HTML part: it becomes multipart/related."""
    html = msg.get_body(("html",))
    if html is None:
        return
    for picture in pictures:
        html.add_related(picture.png, maintype="image", subtype="png", cid=picture.cid,
                         disposition="inline", filename=picture.filename)
